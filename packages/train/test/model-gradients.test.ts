// The trainer's full gradient path on a tiny model: tokenize → decoder with LoRA (dropout on) → mean pooling over the
// embed mask → HardNegativeNLL, through GradCache's two passes, against central finite differences of the same loss;
// and GradCache against one un-chunked pass.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTinyModel, loadModel, loadTokenizer, type LoadedModel, type Tokenizer } from "@dembed/models";
import { adapterTensors, createAdapter, loraConfig, loraScaling, type LoraAdapter } from "@dembed/lora";
import { HardNegativeNLL } from "@dembed/losses";
import { chunkByRole, gradCacheStep, layOutBatch, LoraEncoder, tokenChunker, type ContrastiveExample, type NamedTensors, type PrepackChoice, type TrainText } from "../src/index.js";

const Q = "Given a question, retrieve passages that answer it";
const EXAMPLES: ContrastiveExample<TrainText>[] = [
  ["what colour is the grass", "The grass is green in spring.", "The sky is blue today."],
  ["who reads in both directions", "Diffusion language models attend to the whole passage.", "Autoregressive models read left to right only, token by token."],
  ["name a small model", "A tiny model has two layers.", "Large models have many layers."],
].map(([q, p, n]) => ({ query: { text: q!, instruction: Q }, positive: { text: p!, instruction: "" }, negatives: [{ text: n!, instruction: "" }] }));

let root: string;
let model: LoadedModel;
let tokenizer: Tokenizer;

function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

function adapterWithB(seed: number): LoraAdapter {
  const c = model.spec.config;
  const shape = { numHiddenLayers: c.numLayers, hiddenSize: c.hiddenSize, intermediateSize: c.intermediateSize, numAttentionHeads: c.numHeads, numKeyValueHeads: c.numKvHeads };
  const adapter = createAdapter(shape, loraConfig({ r: 4, alpha: 8, dropout: 0.1 }), seeded(seed));
  const u = seeded(seed + 1);
  for (const pair of adapter.weights.values()) pair.b.forEach((_, i) => (pair.b[i] = (u() * 2 - 1) * 0.2));
  return adapter;
}

const paramsOf = (adapter: LoraAdapter): NamedTensors => Object.fromEntries(Object.entries(adapterTensors(adapter)).map(([k, t]) => [k, t.data]));

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "dembed-train-grad-"));
  const dir = await createTinyModel("Dream", join(root, "dream"), { seed: 2 });
  model = await loadModel(dir);
  tokenizer = await loadTokenizer(dir);
});
afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

async function setup(attention: "causal" | "bidirectional", dropout: number, chunkSize: number, worker = false, prepack?: PrepackChoice) {
  const adapter = adapterWithB(11);
  const params = paramsOf(adapter);
  const encoder = await LoraEncoder.create(model, {
    attention, pooling: "mean", skipInstruction: true, modules: adapter.modules, r: adapter.config.r,
    scaling: loraScaling(adapter.config), dropout, params, threads: 1, worker, ...(prepack === undefined ? {} : { prepack }),
  });
  const makeChunk = tokenChunker(tokenizer, { profile: model.spec.tokenizer.profile, promptTemplate: "{input}", pooling: "mean", maxLength: { query: 32, document: 32 } });
  const batch = layOutBatch(EXAMPLES, new HardNegativeNLL({ scale: 20 }));
  const groups = chunkByRole(batch.texts, chunkSize);
  const chunks = groups.map(makeChunk);
  const seeds = chunks.map((_, i) => 1000 + i);
  const step = () => gradCacheStep({ chunks, chunkSizes: groups.map((g) => g.length), encoder, loss: batch.loss, seeds });
  const lossOnly = async () => {
    const embeddings: Float32Array[] = [];
    for (let c = 0; c < chunks.length; c++) embeddings.push(...(await encoder.encodeNoGrad(chunks[c]!, seeds[c]!)));
    return batch.loss(embeddings).loss;
  };
  return { adapter, params, encoder, step, lossOnly };
}

describe("LoRA gradients through the model", () => {
  for (const attention of ["bidirectional", "causal"] as const) {
    it(`match finite differences for sampled A and B entries (${attention}, dropout 0.1)`, async () => {
      const { params, encoder, step, lossOnly } = await setup(attention, 0.1, 2);
      try {
        const { grads, loss } = await step();
        expect(Number.isFinite(loss)).toBe(true);
        const pick = seeded(attention === "causal" ? 3 : 4);
        const names = Object.keys(params).sort();
        // Sample across layers and projections; keep entries whose gradient is not tiny, so the check has teeth.
        const candidates: { name: string; index: number; g: number }[] = [];
        for (let k = 0; k < 400; k++) {
          const name = names[Math.floor(pick() * names.length)]!;
          const index = Math.floor(pick() * params[name]!.length);
          candidates.push({ name, index, g: grads[name]![index]! });
        }
        const scale = Math.max(...candidates.map((c) => Math.abs(c.g)));
        const chosen = candidates.filter((c) => Math.abs(c.g) > 0.2 * scale).slice(0, 8);
        expect(chosen.length).toBeGreaterThanOrEqual(4);
        expect(new Set(chosen.map((c) => c.name.endsWith("lora_A.weight"))).size).toBe(2); // both A and B entries
        const eps = 1e-2;
        for (const { name, index, g } of chosen) {
          const t = params[name]!;
          const orig = t[index]!;
          t[index] = orig + eps;
          const up = await lossOnly();
          t[index] = orig - eps;
          const down = await lossOnly();
          t[index] = orig;
          const fd = (up - down) / (2 * eps);
          expect(Math.abs(fd - g), `${name}[${index}]: analytic ${g}, finite difference ${fd}`).toBeLessThan(0.03 * Math.abs(g) + 2e-3 * scale);
        }
      } finally {
        await encoder.release();
      }
    });
  }

  it("GradCache in chunks of 1 gives the gradient of one un-chunked pass", async () => {
    const chunked = await setup("bidirectional", 0, 1);
    const whole = await setup("bidirectional", 0, 100);
    try {
      const a = await chunked.step();
      const b = await whole.step();
      expect(a.loss).toBeCloseTo(b.loss, 5);
      let diff = 0;
      let scale = 0;
      for (const name of Object.keys(b.grads)) {
        b.grads[name]!.forEach((v, i) => {
          diff = Math.max(diff, Math.abs(v - a.grads[name]![i]!));
          scale = Math.max(scale, Math.abs(v));
        });
      }
      expect(scale).toBeGreaterThan(0);
      expect(diff / scale).toBeLessThan(1e-4);
    } finally {
      await chunked.encoder.release();
      await whole.encoder.release();
    }
  });

  it("a worker session (fresh dropout masks, moved feeds) gives the in-thread session's loss and gradients", async () => {
    // In-thread runs rebuild the masks in reused buffers from pass 1's kept draws; the worker path allocates them.
    const local = await setup("bidirectional", 0.1, 2);
    const worker = await setup("bidirectional", 0.1, 2, true);
    try {
      const a = await local.step();
      const b = await worker.step();
      expect(b.loss).toBe(a.loss);
      for (const name of Object.keys(a.grads)) expect(Array.from(b.grads[name]!), name).toEqual(Array.from(a.grads[name]!));
      const again = await local.step(); // a second step reuses the mask buffers written by the first
      expect(again.loss).toBe(a.loss);
    } finally {
      await local.encoder.release();
      await worker.encoder.release();
    }
  });

  it("pre-packing all, some or none of the weights gives the same loss and gradients", async () => {
    // Which weights ORT pre-packs is a speed/memory choice (deferred weights are packed per call); the numbers stay.
    const runs = [];
    for (const prepack of ["none", "all", ["gate_proj", "up_proj"]] as const) {
      const run = await setup("bidirectional", 0.1, 2, false, prepack);
      try {
        runs.push(await run.step());
      } finally {
        await run.encoder.release();
      }
    }
    const [none, ...others] = runs;
    for (const other of others) {
      expect(other!.loss).toBeCloseTo(none!.loss, 6);
      for (const name of Object.keys(none!.grads)) {
        const scale = Math.max(...Array.from(none!.grads[name]!, Math.abs));
        const diff = Math.max(...Array.from(other!.grads[name]!, (v, i) => Math.abs(v - none!.grads[name]![i]!)));
        expect(diff, name).toBeLessThanOrEqual(1e-5 * scale);
      }
    }
    await expect(setup("bidirectional", 0.1, 2, false, ["gate_proj", "mlp"])).rejects.toThrow('prepack: "mlp" is not a projection; expected "all", "none" or names from q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj');
  });
});
