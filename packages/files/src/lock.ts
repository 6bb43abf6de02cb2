import { recordedCommand } from "./secrets.js";
import { link, mkdir, open, readFile, rename, rm } from "node:fs/promises";
import { unlinkSync, readFileSync } from "node:fs";
import { hostname } from "node:os";
import { basename, dirname } from "node:path";
import { pidAlive } from "./pids.js";

/** What a lock file holds: enough for a second run to name the holder, and to tell whether it is still alive. */
export interface LockHolder {
  readonly pid: number;
  readonly host: string;
  readonly started: string;
  readonly command: string;
}

export class OutputLockedError extends Error {
  override readonly name = "OutputLockedError";
  constructor(
    readonly output: string,
    readonly holder: LockHolder,
    readonly lockFile: string,
  ) {
    const where = holder.host === hostname() ? `pid ${holder.pid}` : `pid ${holder.pid} on host ${holder.host}`;
    const gone = holder.host === hostname() ? "" : ` If that run is gone, delete ${lockFile}.`;
    super(`${output} is being written by another run (${where}, started ${holder.started}: ${holder.command}); wait for it to finish or choose another output.${gone}`);
  }
}

export interface OutputLock {
  readonly lockFile: string;
  /** Set when a lock left by a dead process was taken over. */
  readonly tookOverFrom?: LockHolder;
  release(): Promise<void>;
}

export interface LockOptions {
  /** What is writing, for the message a second run prints (default: this process's argv). */
  readonly command?: string;
  /** Told when a dead process's lock is taken over. */
  readonly onTakeover?: (message: string) => void;
}

/** The lock of an output file or folder is a sibling `<name>.lock`, so it survives the output's rename-into-place. */
export const lockFileFor = (output: string): string => `${output.replace(/[/\\]+$/, "")}.lock`;

function parseHolder(text: string): LockHolder | undefined {
  try {
    const value = JSON.parse(text) as Partial<LockHolder>;
    if (typeof value.pid !== "number" || typeof value.host !== "string") return undefined;
    return { pid: value.pid, host: value.host, started: String(value.started ?? "?"), command: String(value.command ?? "?") };
  } catch {
    return undefined;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Takes the one-writer lock of `output` (a file or folder path): created with O_EXCL, so of two runs exactly one
 * wins; the other gets an OutputLockedError naming the holder. A lock whose process is gone (same host, pid not
 * running) is taken over, and the takeover is reported. Released by `release()` or, failing that, at process exit.
 */
export async function lockOutput(output: string, options: LockOptions = {}): Promise<OutputLock> {
  const lockFile = lockFileFor(output);
  await mkdir(dirname(lockFile), { recursive: true }).catch((error: NodeJS.ErrnoException) => {
    throw new Error(`cannot write ${output}: ${explain(error)}`);
  });
  const me: LockHolder = {
    pid: process.pid,
    host: hostname(),
    started: new Date().toISOString(),
    command: (options.command ?? recordedCommand()).slice(0, 200),
  };
  const body = JSON.stringify(me) + "\n";
  let tookOverFrom: LockHolder | undefined;
  for (let attempt = 0; attempt < 20; attempt++) {
    // Written in full to a private name, then hard-linked into place: link fails if the lock exists, and a reader
    // never sees a half-written lock.
    const temp = `${lockFile}.${process.pid}.${attempt}.tmp`;
    const handle = await open(temp, "w").catch((error: NodeJS.ErrnoException) => {
      throw new Error(`cannot write ${output}: ${explain(error)}`);
    });
    await handle.writeFile(body);
    await handle.sync();
    await handle.close();
    try {
      await link(temp, lockFile);
      await rm(temp, { force: true });
      const release = releaser(lockFile, body);
      process.once("exit", release.sync);
      return {
        lockFile,
        ...(tookOverFrom === undefined ? {} : { tookOverFrom }),
        release: async () => {
          process.off("exit", release.sync);
          release.sync();
        },
      };
    } catch (error) {
      await rm(temp, { force: true });
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw new Error(`cannot create the lock ${lockFile} for ${output}: ${(error as Error).message}`);
    }
    const text = await readFile(lockFile, "utf8").catch(() => undefined);
    if (text === undefined) continue; // released meanwhile: try again
    const holder = parseHolder(text) ?? { pid: -1, host: hostname(), started: "?", command: `unreadable lock ${basename(lockFile)}` };
    if (holder.host !== hostname() || pidAlive(holder.pid)) throw new OutputLockedError(output, holder, lockFile);
    // Dead holder: move its lock aside under our own name; only one taker's rename finds it.
    const aside = `${lockFile}.dead-${process.pid}`;
    try {
      await rename(lockFile, aside);
    } catch {
      await sleep(10);
      continue;
    }
    const moved = parseHolder(await readFile(aside, "utf8").catch(() => ""));
    if (moved !== undefined && moved.host === hostname() && pidAlive(moved.pid)) {
      // We raced a live run that had just taken the lock: give it back.
      await link(aside, lockFile).catch(() => undefined);
      await rm(aside, { force: true });
      throw new OutputLockedError(output, moved, lockFile);
    }
    await rm(aside, { force: true });
    tookOverFrom = holder;
    options.onTakeover?.(`${output}: took over the lock of a run that is gone (pid ${holder.pid}, started ${holder.started})`);
  }
  throw new Error(`cannot take the lock ${lockFile} for ${output}: it keeps changing hands`);
}

/** A file-system error in words, without the temp names a user never chose. */
function explain(error: NodeJS.ErrnoException): string {
  switch (error.code) {
    case "EACCES":
    case "EPERM":
      return "permission denied";
    case "EROFS":
      return "the file system is read-only";
    case "ENOTDIR":
      return "a part of the path is a file, not a folder";
    case "ENOSPC":
      return "the disk is full";
    default:
      return error.code ?? error.message;
  }
}

/** Removes the lock only while it is still ours (a takeover by another run must not be undone). */
function releaser(lockFile: string, body: string): { sync: () => void } {
  let done = false;
  return {
    sync: () => {
      if (done) return;
      done = true;
      try {
        if (readFileSync(lockFile, "utf8") === body) unlinkSync(lockFile);
      } catch {
        // already gone
      }
    },
  };
}
