import { BatchSampler, defaultBatching, type TrainingSample, type TrainingSource } from "@dembed/data";
import type { ContrastiveExample } from "./batch-layout.js";
import type { ExampleSampler } from "./trainer.js";

/** A text to embed: queries carry their instruction, documents an empty one. */
export interface TrainText {
  readonly text: string;
  readonly instruction: string;
}

/**
 * @dembed/data's BatchSampler as the trainer's example sampler: batches of one micro-batch each, endless
 * epochs, resumable from state(). Document keys are the texts themselves, so the losses' duplicate guard
 * catches a passage that appears as another row's positive or negative.
 */
export class DataExampleSampler implements ExampleSampler<TrainText> {
  private sampler: BatchSampler;
  private iterator: AsyncIterator<TrainingSample[]>;

  constructor(
    private readonly sources: TrainingSource | readonly TrainingSource[],
    options: { readonly batchSize: number; readonly seed: number },
  ) {
    const kind = (Array.isArray(sources) ? (sources as readonly TrainingSource[])[0] : (sources as TrainingSource))?.kind ?? "custom";
    this.sampler = new BatchSampler(sources, { batchSize: options.batchSize, seed: options.seed, batching: defaultBatching(kind), epochs: Infinity });
    this.iterator = this.sampler[Symbol.asyncIterator]();
  }

  async next(count: number): Promise<ContrastiveExample<TrainText>[]> {
    if (count !== this.sampler.batchSize) throw new Error(`DataExampleSampler: asked for ${count} examples, but batches hold ${this.sampler.batchSize}`);
    const { value, done } = await this.iterator.next();
    if (done === true || value === undefined) throw new Error("DataExampleSampler: the data ran out (no full batch left)");
    return value.map(toExample);
  }

  state(): unknown {
    return this.sampler.state();
  }

  restore(state: unknown): void {
    this.sampler = BatchSampler.resume(this.sources, state, { epochs: Infinity });
    this.iterator = this.sampler[Symbol.asyncIterator]();
  }
}

export function toExample(sample: TrainingSample): ContrastiveExample<TrainText> {
  return {
    query: { text: sample.query, instruction: sample.instruction },
    positive: { text: sample.positive, instruction: "" },
    negatives: sample.negatives.map((text) => ({ text, instruction: "" })),
    positiveKey: sample.positive,
    negativeKeys: sample.negatives,
  };
}
