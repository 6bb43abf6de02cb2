import { open, readFile, rename, writeFile } from "node:fs/promises";

/** One line of the training log. `step` is required so a resumed run can cut the log back to its checkpoint. */
export interface LogRecord {
  readonly step: number;
  readonly [key: string]: unknown;
}

/**
 * Appends one JSON object per line. Opening with `resumeFromStep` first rewrites the file (atomically) without
 * the records after that step, so a run killed after its last checkpoint and resumed leaves the log a run
 * without the kill would have written.
 */
export class JsonlLog {
  private constructor(readonly path: string) {}

  static async open(path: string, options: { readonly resumeFromStep?: number } = {}): Promise<JsonlLog> {
    const log = new JsonlLog(path);
    if (options.resumeFromStep === undefined) {
      await writeFile(path, "");
      return log;
    }
    const text = await readFile(path, "utf8").catch((error: NodeJS.ErrnoException) => {
      if (error.code === "ENOENT") return "";
      throw error;
    });
    const kept: string[] = [];
    const lines = text.split("\n");
    lines.forEach((line, i) => {
      if (line.trim() === "") return;
      let record: unknown;
      try {
        record = JSON.parse(line);
      } catch {
        // The last line may be cut short by the kill: drop it. Anything else malformed is a real problem.
        if (i === lines.length - 1) return;
        throw new Error(`${path}:${i + 1}: not a JSON object`);
      }
      const step = (record as { step?: unknown }).step;
      if (typeof step !== "number") throw new Error(`${path}:${i + 1}: record has no numeric "step"`);
      if (step <= (options.resumeFromStep as number)) kept.push(line);
    });
    const temp = `${path}.tmp-${process.pid}`;
    const handle = await open(temp, "w");
    try {
      await handle.writeFile(kept.map((l) => l + "\n").join(""));
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
    return log;
  }

  /** Appends and fsyncs: a checkpoint written after this call may rely on the line being on disk. */
  async write(record: LogRecord): Promise<void> {
    const handle = await open(this.path, "a");
    try {
      await handle.appendFile(JSON.stringify(record) + "\n");
      await handle.sync();
    } finally {
      await handle.close();
    }
  }
}
