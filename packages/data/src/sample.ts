import type { ValidationReport } from "./errors.js";

/** One training example, the same shape for every source. Documents carry no instruction. */
export interface TrainingSample {
  /** Stable id: the record's own id, or "<file>:<line>" when the format has none. */
  id: string;
  /** E5 file name ("allnli", "fever", …), "msmarco-w-instructions", "reasonaug" or "custom". */
  source: string;
  /** The task a by-task batch is built from (ReasonAug's `task`); absent for sources without tasks. */
  task?: string;
  /** Instruction for the query side. */
  instruction: string;
  query: string;
  positive: string;
  /** Hard negatives, in the order the source defines (msmarco: new_negatives first). */
  negatives: string[];
}

/** What a read needs besides the record: the seed and epoch that seeded choices (msmarco negatives) depend on. */
export interface ReadContext {
  seed: number;
  epoch: number;
}

/**
 * A finite, indexed set of training records. Opening one makes a single streaming pass that validates
 * every record and keeps only where each one is (a byte span or a row number), never the texts;
 * records are then read back at random by index.
 */
export interface TrainingSource extends AsyncIterable<TrainingSample> {
  /** "e5", "msmarco-w-instructions", "reasonaug" or "custom". */
  readonly kind: string;
  readonly files: readonly string[];
  /** Records kept (after validation, skips and caps). */
  readonly size: number;
  readonly report: ValidationReport;
  /** Names of the source groups (E5: one per file) and task groups (ReasonAug tasks; empty if none). */
  readonly sourceNames: readonly string[];
  readonly taskNames: readonly string[];
  /** Identifies the kept records (file names and sizes, caps, counts), so a saved sampler position can be checked. */
  readonly fingerprint: string;
  sourceOf(index: number): number;
  /** Task group of a record, or -1 when the source has no tasks. */
  taskOf(index: number): number;
  /** Block (row group / record batch) of a record, or -1 when the record can be read on its own cheaply. */
  blockOf(index: number): number;
  /** Decoded blocks kept in memory for random reads (default 4). */
  blockCacheSize: number;
  /** Read records by index; results come back in the order asked. */
  read(indices: ArrayLike<number>, context?: Partial<ReadContext>): Promise<TrainingSample[]>;
  close(): Promise<void>;
}
