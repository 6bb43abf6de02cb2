import { z } from "zod";
import { Rng } from "./rng.js";
import type { TrainingSample, TrainingSource } from "./sample.js";

/**
 * - "by-source": every batch holds records of one source group (E5: one file), as llm2vec batches E5;
 * - "by-task": every batch holds one task (ReasonAug's `task`; sources without tasks fall back to by-source);
 * - "shuffled": plain shuffled batches.
 */
export type Batching = "by-source" | "by-task" | "shuffled";

export interface SamplerOptions {
  batchSize: number;
  seed: number;
  /** Default "shuffled". */
  batching?: Batching;
  /** Drop the last, short batch of each group (default true: the losses expect full batches). */
  dropLast?: boolean;
  /** Epochs to run (default 1; Infinity runs until the consumer stops). */
  epochs?: number;
  /**
   * Parquet/Arrow records are shuffled within windows of this many row groups / record batches (taken
   * in random order), so each block is decoded once per epoch and memory stays bounded (default 4).
   */
  shuffleWindowBlocks?: number;
}

const SamplerStateSchema = z.object({
  format: z.literal("dembed.sampler/1"),
  seed: z.number().int().nonnegative(),
  batchSize: z.number().int().positive(),
  batching: z.enum(["by-source", "by-task", "shuffled"]),
  dropLast: z.boolean(),
  shuffleWindowBlocks: z.number().int().positive(),
  /** Epochs the run was set up for; null for unbounded. */
  epochs: z.number().int().positive().nullable(),
  epoch: z.number().int().nonnegative(),
  batch: z.number().int().nonnegative(),
  fingerprint: z.string(),
});

/** A sampler position, JSON-serializable: where the next batch comes from, and what data and settings it assumes. */
export type SamplerState = z.output<typeof SamplerStateSchema>;

interface EpochPlan {
  /** Global record indices in batch order. */
  order: Uint32Array;
  /** Batch b is order[starts[b] .. starts[b + 1]). */
  starts: Uint32Array;
}

/**
 * Deterministic batches over one or more sources. The order of an epoch is a pure function of
 * (seed, epoch, the sources' indexes), so a saved {@link SamplerState} resumes mid-epoch with exactly
 * the batches an uninterrupted run would have seen.
 *
 * ```ts
 * const sampler = new BatchSampler(source, { batchSize: 16, seed: 42, batching: "by-task" });
 * for await (const batch of sampler) { train(batch); save(sampler.state()); }
 * const resumed = BatchSampler.resume(source, saved);
 * ```
 */
export class BatchSampler implements AsyncIterable<TrainingSample[]> {
  readonly batchSize: number;
  readonly seed: number;
  readonly batching: Batching;
  readonly dropLast: boolean;
  readonly epochs: number;
  readonly shuffleWindowBlocks: number;
  /** Batches in every epoch (the same for each epoch). */
  readonly batchesPerEpoch: number;
  /** Samples in every epoch (records in dropped short batches excluded). */
  readonly samplesPerEpoch: number;
  private readonly sources: readonly TrainingSource[];
  private readonly offsets: number[] = [];
  private readonly total: number;
  private epoch = 0;
  private batch = 0;
  private plan: { epoch: number; plan: EpochPlan } | undefined;

  constructor(sources: TrainingSource | readonly TrainingSource[], options: SamplerOptions) {
    this.sources = Array.isArray(sources) ? [...(sources as readonly TrainingSource[])] : [sources as TrainingSource];
    if (this.sources.length === 0) throw new Error("BatchSampler needs at least one source");
    if (!Number.isInteger(options.batchSize) || options.batchSize < 1) throw new RangeError(`batchSize must be a positive integer, got ${options.batchSize}`);
    if (!Number.isSafeInteger(options.seed) || options.seed < 0) throw new RangeError(`seed must be a non-negative integer, got ${options.seed}`);
    this.batchSize = options.batchSize;
    this.seed = options.seed;
    this.batching = options.batching ?? "shuffled";
    this.dropLast = options.dropLast ?? true;
    this.epochs = options.epochs ?? 1;
    if (!(this.epochs === Infinity || (Number.isInteger(this.epochs) && this.epochs > 0))) throw new RangeError(`epochs must be a positive integer or Infinity, got ${this.epochs}`);
    this.shuffleWindowBlocks = options.shuffleWindowBlocks ?? 4;
    if (!Number.isInteger(this.shuffleWindowBlocks) || this.shuffleWindowBlocks < 1) throw new RangeError("shuffleWindowBlocks must be a positive integer");
    let total = 0;
    for (const source of this.sources) {
      this.offsets.push(total);
      total += source.size;
      source.blockCacheSize = Math.max(source.blockCacheSize, this.shuffleWindowBlocks + 1);
    }
    this.total = total;
    let batches = 0;
    let samples = 0;
    for (const size of this.groupSizes()) {
      const full = Math.floor(size / this.batchSize);
      const partial = !this.dropLast && size % this.batchSize > 0 ? 1 : 0;
      batches += full + partial;
      samples += full * this.batchSize + (partial ? size % this.batchSize : 0);
    }
    if (batches === 0) {
      const largest = Math.max(0, ...this.groupSizes());
      throw new Error(`no full batch of ${this.batchSize}: ${total} records${this.batching === "shuffled" ? "" : `, largest ${this.batching} group ${largest}`}`);
    }
    this.batchesPerEpoch = batches;
    this.samplesPerEpoch = samples;
  }

  /** A sampler that continues from a saved state (same settings and epochs unless overridden); the sources must index the same data. */
  static resume(sources: TrainingSource | readonly TrainingSource[], state: unknown, options: { epochs?: number } = {}): BatchSampler {
    const parsed = SamplerStateSchema.safeParse(state);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new Error(`not a sampler state: field "${issue?.path.join(".")}": ${issue?.message}`);
    }
    const saved = parsed.data;
    const sampler = new BatchSampler(sources, { ...saved, epochs: options.epochs ?? saved.epochs ?? Infinity });
    if (sampler.fingerprint() !== saved.fingerprint) {
      throw new Error(`the sources differ from those the sampler state was saved with (fingerprint ${sampler.fingerprint()}, saved ${saved.fingerprint}): files, caps or lenient skips changed`);
    }
    if (saved.batch > sampler.batchesPerEpoch) throw new Error(`saved batch ${saved.batch} is past the ${sampler.batchesPerEpoch} batches of an epoch`);
    sampler.epoch = saved.epoch;
    sampler.batch = saved.batch;
    return sampler;
  }

  private fingerprint(): string {
    return this.sources.map((s) => s.fingerprint).join("+");
  }

  /** The position of the next batch, to store with a checkpoint. */
  state(): SamplerState {
    const rollover = this.batch >= this.batchesPerEpoch;
    return {
      format: "dembed.sampler/1",
      seed: this.seed,
      batchSize: this.batchSize,
      batching: this.batching,
      dropLast: this.dropLast,
      shuffleWindowBlocks: this.shuffleWindowBlocks,
      epochs: Number.isFinite(this.epochs) ? this.epochs : null,
      epoch: rollover ? this.epoch + 1 : this.epoch,
      batch: rollover ? 0 : this.batch,
      fingerprint: this.fingerprint(),
    };
  }

  private locate(global: number): [TrainingSource, number, number] {
    let s = this.sources.length - 1;
    while (this.offsets[s]! > global) s--;
    return [this.sources[s]!, s, global - this.offsets[s]!];
  }

  /** Group id of every record: one group when shuffled, else per source group or task group. */
  private groupKeys(): { keys: Uint32Array; count: number } {
    const keys = new Uint32Array(this.total);
    if (this.batching === "shuffled") return { keys, count: this.total > 0 ? 1 : 0 };
    let base = 0;
    for (const [s, source] of this.sources.entries()) {
      const byTask = this.batching === "by-task" && source.taskNames.length > 0;
      const groups = byTask ? source.taskNames.length : source.sourceNames.length;
      for (let i = 0; i < source.size; i++) keys[this.offsets[s]! + i] = base + (byTask ? source.taskOf(i) : source.sourceOf(i));
      base += groups;
    }
    return { keys, count: base };
  }

  private groupSizes(): number[] {
    const { keys, count } = this.groupKeys();
    const sizes = new Array<number>(count).fill(0);
    for (const key of keys) sizes[key]!++;
    return sizes;
  }

  /** Shuffle one group's records; block-structured records are shuffled within windows of blocks. */
  private orderGroup(members: Uint32Array, rng: Rng): void {
    const blocks = Array.from(members, (g) => {
      const [source, s, local] = this.locate(g);
      const block = source.blockOf(local);
      return block < 0 ? -1 : s * 2 ** 32 + block;
    });
    if (blocks.every((b) => b < 0)) {
      rng.shuffle(members);
      return;
    }
    // runs of one block are contiguous because members ascend and a block's rows are indexed in order
    const runs: [number, number][] = [];
    for (let i = 0; i < members.length; i++) {
      const last = runs[runs.length - 1];
      if (last !== undefined && blocks[i]! >= 0 && blocks[i] === blocks[last[0]]) last[1] = i + 1;
      else runs.push([i, i + 1]);
    }
    rng.shuffle(runs);
    const source = Uint32Array.from(members);
    let out = 0;
    for (let r = 0; r < runs.length; ) {
      const windowStart = out;
      for (let blocksInWindow = 0; r < runs.length && blocksInWindow < this.shuffleWindowBlocks; r++) {
        const [from, to] = runs[r]!;
        if (blocks[from]! >= 0) blocksInWindow++;
        members.set(source.subarray(from, to), out);
        out += to - from;
      }
      rng.shuffle(members.subarray(windowStart, out));
    }
  }

  private planEpoch(epoch: number): EpochPlan {
    const rng = Rng.seeded(this.seed, epoch);
    const { keys, count } = this.groupKeys();
    const starts = new Array<number>(count + 1).fill(0);
    for (const key of keys) starts[key + 1]!++;
    for (let g = 0; g < count; g++) starts[g + 1]! += starts[g]!;
    const byGroup = new Uint32Array(this.total);
    const fill = starts.slice(0, count);
    for (let i = 0; i < this.total; i++) byGroup[fill[keys[i]!]!++] = i;
    const batches: [number, number][] = [];
    for (let g = 0; g < count; g++) {
      const members = byGroup.subarray(starts[g]!, starts[g + 1]!);
      this.orderGroup(members, rng);
      for (let at = 0; at < members.length; at += this.batchSize) {
        const length = Math.min(this.batchSize, members.length - at);
        if (length === this.batchSize || !this.dropLast) batches.push([starts[g]! + at, length]);
      }
    }
    // shuffled batches are already in random order; grouped ones are interleaved across groups
    if (this.batching !== "shuffled") rng.shuffle(batches);
    const order = new Uint32Array(this.samplesPerEpoch);
    const batchStarts = new Uint32Array(batches.length + 1);
    let out = 0;
    for (const [b, [from, length]] of batches.entries()) {
      batchStarts[b] = out;
      order.set(byGroup.subarray(from, from + length), out);
      out += length;
    }
    batchStarts[batches.length] = out;
    return { order, starts: batchStarts };
  }

  private planFor(epoch: number): EpochPlan {
    if (this.plan?.epoch !== epoch) this.plan = { epoch, plan: this.planEpoch(epoch) };
    return this.plan.plan;
  }

  /** The record indices (over the concatenated sources) of batch `batch` of `epoch`, without reading them. */
  batchIndices(epoch: number, batch: number): Uint32Array {
    if (batch < 0 || batch >= this.batchesPerEpoch) throw new RangeError(`batch ${batch} out of range [0, ${this.batchesPerEpoch})`);
    const plan = this.planFor(epoch);
    return plan.order.subarray(plan.starts[batch]!, plan.starts[batch + 1]!);
  }

  private async readBatch(indices: Uint32Array, epoch: number): Promise<TrainingSample[]> {
    const perSource = new Map<number, { at: number[]; local: number[] }>();
    indices.forEach((g, at) => {
      const [, s, local] = this.locate(g);
      const entry = perSource.get(s) ?? { at: [], local: [] };
      entry.at.push(at);
      entry.local.push(local);
      perSource.set(s, entry);
    });
    const batch = new Array<TrainingSample>(indices.length);
    await Promise.all(
      [...perSource].map(async ([s, { at, local }]) => {
        const samples = await this.sources[s]!.read(local, { seed: this.seed, epoch });
        at.forEach((position, i) => (batch[position] = samples[i]!));
      }),
    );
    return batch;
  }

  async *[Symbol.asyncIterator](): AsyncIterator<TrainingSample[]> {
    while (this.epoch < this.epochs) {
      while (this.batch < this.batchesPerEpoch) {
        const samples = await this.readBatch(this.batchIndices(this.epoch, this.batch), this.epoch);
        // advanced before yielding: state() inside the consumer's loop already points past this batch
        this.batch++;
        yield samples;
      }
      this.epoch++;
      this.batch = 0;
      this.plan = undefined;
    }
  }
}
