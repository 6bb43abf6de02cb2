/** A document as every runner sees it: one id and the text to embed (title already joined in). */
export interface Doc {
  id: string;
  text: string;
}

/** A query's text without any retrieval instruction; the runner adds the instruction where the recipe says so. */
export interface Query {
  id: string;
  text: string;
}

/** Judgements `{ qid: { docid: relevance } }`; relevance ≥ 1 counts as relevant. */
export type Qrels = Record<string, Record<string, number>>;

/** One scored unit: MTEB's split (e.g. "test", "validation", "test_4096" for one LongEmbed context length). */
export interface RetrievalSplit {
  split: string;
  /** LongEmbed passkey and needle: the context length in tokens this split was built for. */
  contextLength?: number;
  corpus: Doc[];
  queries: Query[];
  qrels: Qrels;
  /** BRIGHT: ids removed from a query's ranking. */
  excluded?: Record<string, string[]>;
}

/** Where a task's data came from, for the reproducibility record and the report. */
export interface DatasetSource {
  kind: "local" | "hf-cache" | "generated";
  /** HF dataset id, or the generator's name. */
  dataset: string;
  /** The folder read, when read from disk. */
  path?: string;
  /** The revision actually read: the HF snapshot commit, or a local copy's REVISION file; null when unknown. */
  revision: string | null;
  /** The commit tasks.json pins for this dataset (null: none is known). Absent for generated data. */
  pinnedRevision?: string | null;
  /**
   * How `revision` was accepted: "pinned" (it is the pin), "any" (--revision any: whatever was on disk),
   * "unverified" (a local folder without a REVISION file), "unpinned" (tasks.json has no pin). Absent for generated data.
   */
  revisionPolicy?: "pinned" | "any" | "unverified" | "unpinned";
  /** The generator's seed, for generated data. */
  seed?: number;
  /** The generator's sizes, for generated data. */
  generator?: { contextLengths: number[]; docsPerLength: number; queriesPerLength: number; wordsPerToken: number };
}

export interface RetrievalTaskData {
  benchmark: "longembed" | "bright";
  taskId: string;
  splits: RetrievalSplit[];
  source: DatasetSource;
  /** Problems found while loading that do not stop the run (e.g. qrels docs missing from the corpus). */
  warnings: string[];
}

export interface InstructionQuery extends Query {
  instructionOg: string;
  instructionChanged: string;
}

/** FollowIR: a reranking task judged twice, under the original and the changed instruction. */
export interface FollowIrTaskData {
  benchmark: "followir";
  taskId: string;
  split: string;
  corpus: Doc[];
  queries: InstructionQuery[];
  qrelsOg: Qrels;
  qrelsChanged: Qrels;
  /** Each query's candidate list (top_ranked), in file order. */
  topRanked: Record<string, string[]>;
  source: DatasetSource;
  warnings: string[];
}

export type TaskData = RetrievalTaskData | FollowIrTaskData;
