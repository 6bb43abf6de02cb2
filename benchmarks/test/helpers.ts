import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const FIXTURES = fileURLToPath(new URL("../fixtures", import.meta.url));

const made: string[] = [];

export function tempDir(prefix = "dembed-bench-"): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
}

/** A writable copy of the fixtures, for tests that break a file. */
export function fixtureCopy(): string {
  const dir = tempDir();
  cpSync(FIXTURES, dir, { recursive: true });
  return dir;
}

export function cleanTempDirs(): void {
  made.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true }));
}
