#!/usr/bin/env node
import { Command } from "commander";
import { commands, type CommandEntry } from "./commands/index.js";
import { versionText } from "./version.js";

// The app only wires: each command file maps flags onto the typed options of one package call.
const program = new Command("dembed")
  .description("Language models as text embedders: export, embed, train and evaluate from Node.")
  // A bad value gets its error and one pointer, not 60 lines of help.
  .showHelpAfterError("(run with --help for usage)")
  .option("-V, --version", "print the dembed version, git commit and onnxruntime version")
  .on("option:version", () => {
    process.stdout.write(versionText());
    process.exit(0);
  });

/**
 * The command this run needs in full: `dembed <name> …` or `dembed help <name>`. The program's own options (-h, -V)
 * take no value, so the command, when there is one, is the first argument.
 */
function invokedCommand(args: string[]): CommandEntry | undefined {
  const name = args[0] === "help" ? args[1] : args[0];
  return commands.find((entry) => entry.name === name);
}

async function main(args: string[]): Promise<void> {
  const invoked = invokedCommand(args.slice(2));
  for (const entry of commands) {
    if (entry === invoked) (await entry.load()).register(program);
    // The others only need to appear in `dembed --help` and in "unknown command … did you mean" hints.
    else program.command(`${entry.name} ${entry.args}`.trim()).summary(entry.summary);
  }
  await program.parseAsync(args);
}

main(process.argv).catch((err: unknown) => {
  // Expected failures (bad input, missing files) are printed as one clear line, never a stack dump.
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`dembed: ${message}\n`);
  if (process.env.DEMBED_DEBUG && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
  process.exitCode = 1;
});
