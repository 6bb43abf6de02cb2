// Evaluation embeds exactly as training did: an adapter made by the trainer's own model run (non-zero B, settings
// that differ from every default) gives the same vectors through the training encoder, the Embedder loaded with the
// adapter's dembed_adapter.json, the benchmark encoder and `dembed embed`; `dembed eval --adapter` records it all.
import { mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { mtebResultFolder } from "@dembed/benchmarks";
import { effectiveEmbedSettings, embedderSettingOptions, loadAdapterForEmbedder, saveAdapter, SETTINGS_FILE } from "@dembed/lora";
import { Embedder, createTinyModel } from "@dembed/models";
import { createModelRun, parseTrainConfig, type ModelRun, type TrainText } from "@dembed/train";
import { Command } from "commander";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { makeEncoder, register as bench } from "../src/commands/bench.js";
import { register as embed } from "../src/commands/embed.js";
import { register as evaluate } from "../src/commands/eval.js";

const INSTRUCTION = "Retrieve text based on user query:";
const QUERIES = ["what is the pass key", "who reads both ways"];
// The first document is longer than the trained document limit, so truncation must match too.
const DOCS = [
  "The pass key is 42. Remember it. ".repeat(12),
  "Diffusion language models attend to the whole passage at once.",
];
// Every setting differs from the defaults: Llama is causal by default, pools text only, has no template, 512 tokens.
const TRAINED = { attention: "bidirectional", pooling: "weighted_mean", skip_instruction: false, prompt_template: "Input: {input} End." } as const;

let root: string;
let modelDir: string;
let adapterDir: string;
let run: ModelRun;

function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

/** The encoder's lines about its settings; the session's loading lines come while it opens, at no fixed point. */
const settingLines = (into: string[]) => (line: string) => /: (loading \d+ layers into ONNX Runtime|session ready in)/.test(line) || into.push(line);
const maxAbsDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i]!)), 0);
const unit = (v: Float32Array) => {
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
};

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "dembed-adapter-eval-"));
  modelDir = await createTinyModel("llama", join(root, "tiny-llama"), { seed: 5 });
  const config = parseTrainConfig({
    model: { base: modelDir, ...TRAINED },
    data: { source: "custom", path: join(root, "unused.jsonl") },
    loss: { type: "hard-negative-nll", scale: 20 },
    optim: { lr: 1e-3, warmup_steps: 0 },
    batch: { global: 2, chunk_size: 2 },
    max_length: { query: 20, document: 24 },
    lora: { r: 4, alpha: 8, dropout: 0 },
    steps: 1, save_steps: 1, seed: 3,
  });
  const sampler = { next: async () => [], state: () => 0, restore: () => undefined };
  run = await createModelRun(config, { outputDir: join(root, "run"), threads: 1, sampler });
  // A trained adapter, in effect: B is random instead of zero, so the adapter changes every output.
  const u = seeded(9);
  for (const pair of run.adapter.weights.values()) pair.b.forEach((_, i) => (pair.b[i] = (u() * 2 - 1) * 0.3));
  adapterDir = join(root, "adapter");
  await run.parts.saveAdapter(adapterDir);
}, 60_000);
afterAll(async () => {
  await run?.release();
  if (root) await rm(root, { recursive: true, force: true });
});

/** The training encoder's pooled (un-normalized) vectors for texts of one role. */
async function trainingVectors(texts: readonly string[], role: "query" | "document"): Promise<Float32Array[]> {
  const items = texts.map((text) => ({ text: { text, instruction: role === "query" ? INSTRUCTION : "" } satisfies TrainText, role }));
  return run.encoder.encodeNoGrad(run.parts.makeChunk(items), 0);
}

describe("an adapter embeds through the Embedder as it did in training", () => {
  it("saves the run's settings beside the PEFT files", async () => {
    const sidecar = JSON.parse(await readFile(join(adapterDir, SETTINGS_FILE), "utf8")) as Record<string, unknown>;
    expect(sidecar).toMatchObject({ ...TRAINED, max_length: { query: 20, document: 24 } });
  });

  it("gives the training encoder's vectors when the settings come from dembed_adapter.json, and not without them", async () => {
    const loaded = await loadAdapterForEmbedder(adapterDir);
    const settings = effectiveEmbedSettings(loaded.settings, {}, { pooling: "mean", maxLength: 512 });
    expect(settings.fromAdapter).toEqual(["attention", "pooling", "skip_instruction", "prompt_template", "max_length"]);
    const withAdapter = await Embedder.load(modelDir, { ...embedderSettingOptions(settings), adapter: loaded.linear, threads: 1 });
    const plain = await Embedder.load(modelDir, { ...embedderSettingOptions(settings), threads: 1, tokenizer: withAdapter.tokenizer });
    const defaults = await Embedder.load(modelDir, { adapter: loaded.linear, threads: 1, tokenizer: withAdapter.tokenizer });
    try {
      expect(withAdapter.attention).toBe("bidirectional");
      for (const role of ["query", "document"] as const) {
        const texts = role === "query" ? QUERIES : DOCS;
        const options = { normalize: false, maxLength: settings.maxLength[role], ...(role === "query" ? { instruction: INSTRUCTION } : {}) };
        const trained = await trainingVectors(texts, role);
        const evaluated = await withAdapter.encodeDetailed(texts, options);
        expect(evaluated.truncated).toBe(role === "document" ? 1 : 0);
        const without = await plain.encode(texts, options);
        const untouched = await defaults.encode(texts, role === "query" ? { normalize: false, instruction: INSTRUCTION } : { normalize: false });
        texts.forEach((_, i) => {
          const scale = Math.max(...trained[i]!.map(Math.abs));
          expect(maxAbsDiff(evaluated.embeddings[i]!, trained[i]!) / scale).toBeLessThan(1e-4);
          // The adapter changes the vectors, and so do the settings: both must be applied to match training.
          expect(maxAbsDiff(without[i]!, trained[i]!) / scale).toBeGreaterThan(1e-2);
          expect(maxAbsDiff(untouched[i]!, trained[i]!) / scale).toBeGreaterThan(1e-2);
        });
      }
    } finally {
      await Promise.all([withAdapter.dispose(), plain.dispose(), defaults.dispose()]);
    }
  }, 60_000);

  it("the benchmark encoder uses the adapter's per-role lengths; flags override the adapter and are reported", async () => {
    const lines: string[] = [];
    const encoder = await makeEncoder({ model: modelDir, adapter: adapterDir, device: "cpu", batchSize: 4 }, settingLines(lines));
    try {
      expect(lines).toEqual([expect.stringMatching(/from dembed_adapter\.json: attention bidirectional, pooling weighted_mean, skip_instruction false, prompt_template "Input: \{input\} End\.", max_length query 20 \/ document 24$/), expect.stringMatching(/: --weights auto: fp32, /)]);
      const queries = await encoder.encode(QUERIES, { role: "query", instruction: INSTRUCTION });
      const docs = await encoder.encode(DOCS, { role: "document" });
      expect(docs.truncatedFlags).toEqual([true, false]);
      const trainedQ = await trainingVectors(QUERIES, "query");
      const trainedD = await trainingVectors(DOCS, "document");
      queries.embeddings.forEach((v, i) => expect(maxAbsDiff(v, unit(trainedQ[i]!))).toBeLessThan(1e-4));
      docs.embeddings.forEach((v, i) => expect(maxAbsDiff(v, unit(trainedD[i]!))).toBeLessThan(1e-4));
      expect(encoder.cacheKey).toMatchObject({ adapter: adapterDir, skipInstruction: "false", promptTemplate: TRAINED.prompt_template, maxLength: "query 20 / document 24" });
      expect(String(encoder.cacheKey.adapterFingerprint)).toMatch(/^sha256:[0-9a-f]{64}$/);
    } finally {
      await encoder.dispose?.();
    }
    lines.length = 0;
    const overridden = await makeEncoder({ model: modelDir, adapter: adapterDir, device: "cpu", batchSize: 4, pooling: "mean", maxLength: 64 }, settingLines(lines));
    try {
      expect(lines[0]).toMatch(/attention bidirectional, skip_instruction false, prompt_template .*; flags replaced pooling mean, max_length 64$/);
      expect(overridden.describe()).toMatchObject({ pooling: "mean", maxLength: 64, settingsFromAdapter: ["attention", "skip_instruction", "prompt_template"] });
    } finally {
      await overridden.dispose?.();
    }
  }, 60_000);

  it("a PEFT folder without dembed_adapter.json loads with flags and defaults; a changed adapter changes the cache key", async () => {
    const bare = join(root, "bare-adapter");
    await saveAdapter(bare, { ...run.adapter, settings: undefined } as typeof run.adapter);
    expect(await readdir(bare)).not.toContain(SETTINGS_FILE);
    const lines: string[] = [];
    const encoder = await makeEncoder({ model: modelDir, adapter: bare, device: "cpu", batchSize: 4, maxLength: 32 }, settingLines(lines));
    try {
      expect(lines).toEqual([`adapter ${bare}: no ${SETTINGS_FILE}; settings come from flags and defaults`, expect.stringMatching(/: --weights auto: fp32, /)]);
      expect(encoder.describe()).toMatchObject({ attention: "causal", pooling: "mean", skipInstruction: true, promptTemplate: null, maxLength: 32, settingsFromAdapter: [] });
    } finally {
      await encoder.dispose?.();
    }
    const first = (await loadAdapterForEmbedder(bare)).fingerprint;
    const pair = run.adapter.weights.values().next().value!;
    pair.b[0] = pair.b[0]! + 1;
    await saveAdapter(bare, { ...run.adapter, settings: undefined } as typeof run.adapter);
    pair.b[0] = pair.b[0]! - 1;
    expect((await loadAdapterForEmbedder(bare)).fingerprint).not.toBe(first);
  }, 60_000);
});

describe("the CLI with --adapter", () => {
  async function dembed(...args: string[]): Promise<string> {
    const program = new Command("dembed").exitOverride().configureOutput({ writeErr: () => undefined });
    for (const register of [bench, evaluate, embed]) register(program);
    let err = "";
    const spies = [
      vi.spyOn(process.stdout, "write").mockImplementation(() => true),
      vi.spyOn(process.stderr, "write").mockImplementation((chunk: string | Uint8Array) => ((err += String(chunk)), true)),
    ];
    try {
      await program.parseAsync(["node", "dembed", ...args]);
    } finally {
      spies.forEach((s) => s.mockRestore());
    }
    return err;
  }

  it("dembed eval records the adapter and the settings it applied", async () => {
    const out = join(root, "results");
    const args = ["--model", modelDir, "--adapter", adapterDir, "--out", out, "--cache", join(root, "cache"), "--synthetic", "always"];
    const sizes = ["--lengths", "48", "--queries-per-length", "2", "--docs-per-length", "3", "--batch-size", "4"];
    const err = await dembed("eval", "longembed:passkey", ...args, ...sizes);
    expect(err).toMatch(/adapter .*adapter: from dembed_adapter\.json: attention bidirectional/);
    // An adapted model is its own MTEB model: "<base>+<adapter>", revision = the adapter's content hash.
    const fingerprint = (await loadAdapterForEmbedder(adapterDir)).fingerprint;
    const folder = join(out, "longembed", mtebResultFolder({ name: `${basename(modelDir)}+${basename(adapterDir)}`, revision: fingerprint.slice(0, 16) }));
    expect(JSON.parse(await readFile(join(folder, "model_meta.json"), "utf8"))).toMatchObject({ adapted_from: basename(modelDir) });
    const recordFile = join(folder, "reproducibility.dembed");
    const record = JSON.parse(await readFile(recordFile, "utf8")) as Record<string, { encoder: Record<string, unknown>; max_length: unknown }>;
    const task = Object.values(record)[0]!;
    expect(task.encoder).toMatchObject({
      adapter: adapterDir,
      adapterFingerprint: fingerprint,
      settingsFromAdapter: ["attention", "pooling", "skip_instruction", "prompt_template", "max_length"],
      attention: "bidirectional",
      pooling: "weighted_mean",
      skipInstruction: false,
      promptTemplate: TRAINED.prompt_template,
    });
    expect(task.max_length).toBe("query 20 / document 24");
    const report = await readFile(join(out, "longembed", "report.md"), "utf8");
    expect(report).toContain("instruction + text, template");
  }, 60_000);

  it("dembed embed --adapter writes the Embedder's vectors under the adapter's settings", async () => {
    const input = join(root, "texts.jsonl");
    await writeFile(input, DOCS.map((d) => JSON.stringify(d)).join("\n"));
    const err = await dembed("embed", "--model", modelDir, "--adapter", adapterDir, "--input", input, "--out", join(root, "emb.jsonl"), "--no-progress", "--threads", "1");
    expect(err).toMatch(/from dembed_adapter\.json: .*max_length query 20 \/ document 24/);
    expect(err).toMatch(/1 of 2 inputs were truncated to 24 tokens/);
    const written = (await readFile(join(root, "emb.jsonl"), "utf8")).trim().split("\n").map((l) => Float32Array.from((JSON.parse(l) as { embedding: number[] }).embedding));
    const trained = await trainingVectors(DOCS, "document");
    written.forEach((v, i) => expect(maxAbsDiff(v, unit(trained[i]!))).toBeLessThan(1e-4));
  }, 60_000);
});
