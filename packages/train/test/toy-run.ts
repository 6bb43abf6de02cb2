import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import type { ContrastiveExample } from "../src/batch-layout.js";
import { parseTrainConfig, type TrainConfig, type TrainConfigInput } from "../src/config.js";
import { Rng } from "@dembed/data";
import type { NamedTensors } from "../src/tensors.js";
import { safetensorsStore } from "../src/store.js";
import type { ExampleSampler, TrainerParts } from "../src/trainer.js";
import { ToyEncoder, toyPairs } from "./toy-encoder.js";

/** Walks the toy pairs in a seeded order per epoch; each query's negative is another pair's document. */
export class ToySampler implements ExampleSampler<Float32Array> {
  private position = 0;
  private epoch = 0;
  private order: number[] = [];

  constructor(
    private readonly data: { queries: Float32Array[]; docs: Float32Array[] },
    private readonly seed: number,
  ) {
    this.reorder();
  }

  private reorder(): void {
    this.order = Rng.seeded(this.seed, this.epoch).shuffle(this.data.queries.map((_, i) => i));
  }

  async next(count: number): Promise<ContrastiveExample<Float32Array>[]> {
    const out: ContrastiveExample<Float32Array>[] = [];
    while (out.length < count) {
      if (this.position === this.order.length) {
        this.epoch += 1;
        this.position = 0;
        this.reorder();
      }
      const i = this.order[this.position++] as number;
      const j = (i + 3) % this.data.docs.length;
      out.push({ query: this.data.queries[i]!, positive: this.data.docs[i]!, negatives: [this.data.docs[j]!], positiveKey: `d${i}`, negativeKeys: [`d${j}`] });
    }
    return out;
  }

  state(): unknown {
    return { position: this.position, epoch: this.epoch };
  }

  restore(state: unknown): void {
    const s = state as { position: number; epoch: number };
    this.position = s.position;
    this.epoch = s.epoch;
    this.reorder();
  }
}

export function toyConfig(overrides: Partial<TrainConfigInput> = {}): TrainConfig {
  return parseTrainConfig({
    model: { base: "toy", attention: "bidirectional", pooling: "mean", skip_instruction: false },
    data: { source: "custom", path: "toy.jsonl" },
    loss: { type: "hard-negative-nll", scale: 10 },
    optim: { lr: 0.05, warmup_steps: 3 },
    batch: { global: 8, accumulation_steps: 2, chunk_size: 3 },
    max_length: { query: 8, document: 8 },
    lora: { r: 1, alpha: 2, dropout: 0.1 },
    steps: 30,
    save_steps: 10,
    seed: 7,
    ...overrides,
  });
}

/** A complete toy training setup writing to `outputDir`. */
export function toyParts(outputDir: string, config: TrainConfig, dropout = 0.1): TrainerParts<Float32Array, Float32Array[]> & { encoder: ToyEncoder } {
  const encoder = new ToyEncoder(6, 5, 11, dropout);
  return {
    config,
    params: encoder.params,
    encoder,
    makeChunk: (texts) => texts.map((t) => t.text),
    chunkTokens: (chunk) => chunk.length * 6,
    sampler: new ToySampler(toyPairs(16, 6, 5), config.seed),
    store: safetensorsStore,
    saveAdapter: async (dir: string) => {
      await mkdir(dir, { recursive: true });
      await safetensorsStore.write(join(dir, "adapter.safetensors"), encoder.params);
    },
    loadAdapter: async (dir: string): Promise<NamedTensors> => safetensorsStore.read(join(dir, "adapter.safetensors")),
    outputDir,
  };
}
