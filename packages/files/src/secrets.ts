/**
 * Replaces the password of every URL with credentials (redis://user:password@host, https://…) in `text` by ***:
 * command lines are written into lock files, logs and result records, and a queue URL may carry a password.
 */
export function redactUrlPasswords(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/[^:/@\s]*:)[^@\s]*@/gi, "$1***@");
}

/** This process's command line (after the program) as it may be recorded: passwords in URLs redacted. */
export function recordedCommand(argv: readonly string[] = process.argv.slice(2)): string {
  return redactUrlPasswords(argv.join(" "));
}
