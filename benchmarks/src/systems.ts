import type { Bm25Options, Similarity } from "@dembed/retrieval";
import type { TextEncoder } from "./encoder.js";

/** A retrieval system under test: the BM25 baseline, or dense retrieval with an encoder. */
export type System =
  | { kind: "bm25"; name: string; options?: Bm25Options }
  | { kind: "dense"; name: string; encoder: TextEncoder; similarity?: Similarity };

export function bm25System(options: Bm25Options = {}): System {
  return { kind: "bm25", name: "BM25", options };
}

/** One progress line (a bar in the CLI); `total` may grow as a job learns its size. */
export interface ProgressTask {
  update(done: number, total?: number): void;
  stop(): void;
}

export interface ProgressReporter {
  start(label: string, total: number): ProgressTask;
}

export const silentProgress: ProgressReporter = { start: () => ({ update() {}, stop() {} }) };

export interface RunSettings {
  /** Texts per encoder call (default 8). */
  batchSize?: number;
  /** Embedding cache folder; none when absent. */
  cacheDir?: string;
  /** Documents kept per query (default 1000, enough for MAP@1000). */
  topK?: number;
  /** Documents embedded and scored per step, bounding memory (default 1024). */
  docChunk?: number;
  /** Replaces the benchmark's query instruction ("" for none). */
  instruction?: string;
  progress?: ProgressReporter;
  log?: (line: string) => void;
}

/** A file-name-safe form of a system name. */
export function slug(name: string): string {
  return name.replace(/[^A-Za-z0-9._-]+/g, "_").replace(/^_+|_+$/g, "") || "system";
}
