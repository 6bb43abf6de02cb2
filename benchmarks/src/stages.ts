// Where a benchmark run's time goes. The runners time each stage of each split (tokenizing, the model, pooling, the
// embedding cache, search, BM25, scoring) and the run adds its own (data read or generated, result files, report);
// the log prints a line per split and the totals, and the report and the result JSON keep every record.
import type { EncodeOptions, EncodeResult, TextEncoder } from "./encoder.js";

/**
 * In the order a run meets them. "encode" is the time of an encoder that does not say how it splits (tokenize,
 * model, pooling); "embedding cache" is the rest of embedding: text hashes, duplicate removal, cache reads and writes.
 * "tokenize ahead" ran while the model did (the next batch tokenized during this one), so it is not wall time of its
 * own: stage sums that include it exceed the elapsed time.
 */
export const STAGES = ["data", "tokenize", "tokenize ahead", "model", "pooling", "encode", "embedding cache", "search", "BM25", "scoring", "files", "report"] as const;
export type Stage = (typeof STAGES)[number];

export interface StageTime {
  stage: Stage;
  seconds: number;
  task?: string;
  /** The split (LongEmbed: one per context length, `test_<L>`). */
  split?: string;
  system?: string;
}

export type StageTotal = { stage: Stage; seconds: number };

export class StageClock {
  private readonly list: StageTime[] = [];

  add(entry: StageTime): void {
    if (!STAGES.includes(entry.stage)) throw new Error(`stage clock: unknown stage ${JSON.stringify(entry.stage)}`);
    if (!Number.isFinite(entry.seconds) || entry.seconds < 0) throw new Error(`stage clock: ${entry.stage} took ${entry.seconds} s; expected a finite time ≥ 0`);
    this.list.push({ ...entry });
  }

  addAll(entries: readonly StageTime[]): void {
    entries.forEach((e) => this.add(e));
  }

  /** Runs `work` and records its wall time under `entry` (also when it throws: the time was spent). */
  async time<T>(entry: Omit<StageTime, "seconds">, work: () => T | Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      return await work();
    } finally {
      this.add({ ...entry, seconds: (performance.now() - started) / 1000 });
    }
  }

  timeSync<T>(entry: Omit<StageTime, "seconds">, work: () => T): T {
    const started = performance.now();
    try {
      return work();
    } finally {
      this.add({ ...entry, seconds: (performance.now() - started) / 1000 });
    }
  }

  get entries(): readonly StageTime[] {
    return this.list;
  }
}

/** Stages that ran while another did, so they add no wall time of their own. */
export const OVERLAPPED: readonly Stage[] = ["tokenize ahead"];

/** The wall time the entries account for: their sum, less the overlapped stages. */
export const wallSeconds = (entries: readonly { stage: Stage; seconds: number }[]): number =>
  entries.reduce((t, e) => t + (OVERLAPPED.includes(e.stage) ? 0 : e.seconds), 0);

/** Seconds per stage in STAGES order; stages that took no recorded time are left out. */
export function stageTotals(entries: readonly StageTime[]): StageTotal[] {
  const sums = new Map<Stage, number>();
  for (const e of entries) sums.set(e.stage, (sums.get(e.stage) ?? 0) + e.seconds);
  return STAGES.filter((s) => sums.has(s)).map((stage) => ({ stage, seconds: sums.get(stage)! }));
}

export const formatSeconds = (s: number): string => `${s < 10 ? s.toFixed(2) : s.toFixed(1)} s`;

/** "tokenize 5.02 s, model 80.2 s, pooling 0.01 s" */
export function formatTotals(totals: readonly StageTotal[]): string {
  return totals.map((t) => `${t.stage} ${formatSeconds(t.seconds)}`).join(", ");
}

/**
 * An encoder whose calls are timed. Encoders that report their own split (EncodeResult.seconds) are counted as
 * tokenize / model / pooling, with whatever the call took beyond the three counted as model (the call's overhead,
 * e.g. an adapter's copying, is small and belongs to running the model), and tokenizing ahead on its own since it
 * overlapped the model; the others as one "encode" figure.
 */
export class EncoderMeter {
  readonly encoder: TextEncoder;
  readonly seconds = { tokenize: 0, tokenizeAhead: 0, model: 0, pooling: 0, encode: 0 };
  /** Wall time of every encode() call. */
  wall = 0;

  constructor(inner: TextEncoder) {
    const encode = async (texts: string[], options: EncodeOptions): Promise<EncodeResult> => {
      const started = performance.now();
      const result = await inner.encode(texts, options);
      const wall = (performance.now() - started) / 1000;
      this.wall += wall;
      const own = result.seconds;
      if (own) {
        this.seconds.tokenize += own.tokenize;
        this.seconds.tokenizeAhead += own.tokenizeAhead ?? 0;
        this.seconds.pooling += own.pooling;
        this.seconds.model += Math.max(own.model, wall - own.tokenize - own.pooling);
      } else {
        this.seconds.encode += wall;
      }
      return result;
    };
    this.encoder = {
      cacheKey: inner.cacheKey,
      encode,
      describe: () => inner.describe(),
      ...(inner.plan ? { plan: (texts, options) => inner.plan!(texts, options) } : {}),
      ...(inner.dispose ? { dispose: () => inner.dispose!() } : {}),
    };
  }

  /** The metered time as stage records (stages with no time left out), labelled with `where`. */
  stages(where: Omit<StageTime, "stage" | "seconds">): StageTime[] {
    const stages: Array<[Stage, number]> = [
      ["tokenize", this.seconds.tokenize],
      ["tokenize ahead", this.seconds.tokenizeAhead],
      ["model", this.seconds.model],
      ["pooling", this.seconds.pooling],
      ["encode", this.seconds.encode],
    ];
    return stages.filter(([, s]) => s > 0).map(([stage, seconds]) => ({ ...where, stage, seconds }));
  }
}
