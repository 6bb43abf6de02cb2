import { readdir, rm } from "node:fs/promises";
import { join } from "node:path";

/** True while a process with this pid exists on this host (EPERM means it exists but is another user's). */
export function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

// Every temp-name shape the packages write: `x.tmp-<pid>`, `x.tmp-<pid>-<hex>`, `x.<pid>.tmp`, `.x.<pid>.<hex>.tmp`,
// and the aside copies `x.old-<pid>` / `x.damaged-<pid>` are left alone (the second are evidence, kept on purpose).
const TEMP_NAME = [/\.tmp-(\d+)(?:-[0-9a-f]+)?$/, /\.(\d+)(?:\.[0-9a-f]+)?\.tmp$/, /\.old-(\d+)$/];

/** The pid a temp file or folder name carries, or undefined when the name is not one of our temp names. */
export function tempOwnerPid(name: string): number | undefined {
  for (const pattern of TEMP_NAME) {
    const match = pattern.exec(name);
    if (match !== null) return Number(match[1]);
  }
  return undefined;
}

/**
 * Removes the temp files and folders in `dir` that a dead process left behind (a killed run's half-written output).
 * Temps of live processes, this one included, are kept. Returns the names removed.
 */
export async function removeDeadTemps(dir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const pid = tempOwnerPid(name);
    if (pid === undefined || pid === process.pid || pidAlive(pid)) continue;
    await rm(join(dir, name), { recursive: true, force: true });
    removed.push(name);
  }
  return removed;
}
