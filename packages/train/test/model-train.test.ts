// Real training on the tiny model and the repository's fixtures: 30 steps of configs/train/tiny.json lower the loss
// on fixed batches, and the finished folder is an adapter the Embedder embeds with exactly as training encoded.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Embedder } from "@dembed/models";
import { loadAdapter, loraLinearAdapter } from "@dembed/lora";
import {
  chunkByRole, createModelRun, layOutBatch, lossFromConfig, LoraEncoder, train, type ContrastiveExample, type ModelRun, type TrainText,
} from "../src/index.js";
import { tinyConfig } from "./tiny-config.js";

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "dembed-train-model-"));
});
afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

/** Mean loss over fixed batches, with fixed dropout seeds: the same function before and after training. */
async function fixedLoss(run: ModelRun, batches: ContrastiveExample<TrainText>[][]): Promise<number> {
  const lossFn = lossFromConfig(run.parts.config.loss);
  let total = 0;
  for (const examples of batches) {
    const batch = layOutBatch(examples, lossFn);
    const embeddings: Float32Array[] = [];
    for (const [i, group] of chunkByRole(batch.texts, 8).entries()) embeddings.push(...(await run.encoder.encodeNoGrad(run.parts.makeChunk(group), 77 + i)));
    total += batch.loss(embeddings).loss;
  }
  return total / batches.length;
}

describe("training the tiny model on the fixtures", () => {
  it("30 steps of configs/train/tiny.json lower the loss; the output folder embeds as training encoded", async () => {
    const config = await tinyConfig({ steps: 30, save_steps: 30 });
    const out = join(root, "run");
    const run = await createModelRun(config, { outputDir: out, cacheDir: join(root, "cache"), threads: 1 });
    try {
      const start = run.parts.sampler.state();
      const batches: ContrastiveExample<TrainText>[][] = [];
      for (let i = 0; i < 6; i++) batches.push(await run.parts.sampler.next(config.batch.global));
      run.parts.sampler.restore(start);
      const before = await fixedLoss(run, batches);
      const losses: number[] = [];
      const result = await train(run.parts, { onStep: (r) => void losses.push(r.loss) });
      expect(result.step).toBe(30);
      expect(losses).toHaveLength(30);
      const after = await fixedLoss(run, batches);
      expect(after).toBeLessThan(0.7 * before);

      // The output folder: PEFT files plus the settings, usable by the Embedder as is.
      const adapter = await loadAdapter(out);
      expect(adapter.settings).toMatchObject({ attention: "bidirectional", pooling: "mean", promptTemplate: "{input}" });
      expect(adapter.baseModelNameOrPath).toBe(run.baseDir);
      const embedder = await Embedder.load(adapter.baseModelNameOrPath!, { adapter: loraLinearAdapter(adapter), attention: "bidirectional", pooling: "mean", maxLength: adapter.settings!.maxLength!.document, kernel: "masked", threads: 1 });
      const evalEncoder = await LoraEncoder.create(run.model, {
        attention: "bidirectional", pooling: "mean", skipInstruction: false, modules: adapter.modules, r: adapter.config.r,
        scaling: adapter.config.alpha / adapter.config.r, dropout: 0, params: Object.fromEntries([...adapter.weights].flatMap(([path, p]) => [
          [`base_model.model.${path}.lora_A.weight`, p.a], [`base_model.model.${path}.lora_B.weight`, p.b],
        ])), threads: 1,
      });
      try {
        const docs = batches[0]!.map((e) => e.positive);
        const fromEmbedder = await embedder.encode(docs.map((d) => d.text), { normalize: false });
        const fromTraining = await evalEncoder.encodeNoGrad(run.parts.makeChunk(docs.map((text) => ({ text, role: "document" as const }))), 0);
        fromTraining.forEach((row, i) => {
          const e = fromEmbedder[i]!;
          const scale = Math.max(...row.map(Math.abs));
          expect(Math.max(...row.map((v, k) => Math.abs(v - e[k]!))) / scale).toBeLessThan(1e-5);
        });
      } finally {
        await embedder.dispose();
        await evalEncoder.release();
      }
    } finally {
      await run.release();
    }
  });
});
