import type { ShardRunner } from "./embed.js";
import type { Bm25Options, DenseSearchOptions, HnswOptions, IvfOptions, IvfSearchOptions, Similarity, VectorStorage } from "@dembed/retrieval";
import type { TextEncoder } from "./encoder.js";

/** A retrieval system under test: the BM25 baseline, or dense retrieval with an encoder. */
export type System =
  | { kind: "bm25"; name: string; options?: Bm25Options }
  | {
      kind: "dense";
      name: string;
      encoder: TextEncoder;
      similarity?: Similarity;
      /** Embeds what the cache lacks on workers (the job queue) instead of in this process; needs a cacheDir. */
      sharded?: ShardRunner;
    };

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
  /** A kernel for exact dense search's products (the CLI passes ORT's, createDotScorer); the scalar loop when absent. */
  scorer?: DenseSearchOptions["scorer"];
  /** IVF search's kernel for list documents × probing queries (the CLI passes ORT's, createPairScorer). */
  pairScorer?: IvfSearchOptions["pairScorer"];
  /**
   * How dense search finds each query's top k: "exact" (default), an HNSW graph or IVF lists (both approximate; `hnsw`
   * and `ivf` tune them; IVF's build uses `scorer` too).
   */
  index?: "exact" | "hnsw" | "ivf";
  hnsw?: HnswOptions;
  ivf?: IvfOptions;
  /**
   * The width document vectors are kept at, in the embedding cache and in search (default f32); see
   * @dembed/retrieval's storageErrorBound for what f16 and int8 cost per score.
   */
  corpusStorage?: VectorStorage;
  /** Documents kept per query (default 1000, enough for MAP@1000). */
  topK?: number;
  /** Documents embedded and scored per step, bounding memory (default 1024). */
  docChunk?: number;
  /** Replaces the benchmark's query instruction ("" for none). */
  instruction?: string;
  progress?: ProgressReporter;
  log?: (line: string) => void;
  /** How FollowIR's secondary measures pair runs and judgements (default "paired"); see FOLLOWIR_SCORINGS. */
  followirScoring?: "paired" | "mteb-1.14";
  /** How BRIGHT's excluded ids are treated (default "bright"); see BRIGHT_PROTOCOLS. */
  brightProtocol?: BrightProtocol;
}

/**
 * BRIGHT's excluded ids under the three protocols that published numbers were produced with:
 * - "bright": removed from the ranking (BRIGHT's own evaluation code);
 * - "mteb-1.14": ignored, so they stay ranked (MTEB 1.14.12);
 * - "paper": their scores set to 0 and the run re-sorted (the paper's modified MTEB). With cosine scores 0 is not
 *   the bottom: a document scoring below 0 still ranks under an excluded one. The paper paired queries with their
 *   exclusion lists by position (results order zipped with the examples); dembed pairs them by query id.
 */
export const BRIGHT_PROTOCOLS = ["bright", "mteb-1.14", "paper"] as const;
export type BrightProtocol = (typeof BRIGHT_PROTOCOLS)[number];

/** A file-name-safe form of a system name. */
export function slug(name: string): string {
  return name.replace(/[^A-Za-z0-9._-]+/g, "_").replace(/^_+|_+$/g, "") || "system";
}
