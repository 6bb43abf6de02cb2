import { readdir } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { writeFile, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadTrainConfig, parseTrainConfig, withSteps } from "./config.js";
import { sourceSpec } from "./model-run.js";

const configsDir = fileURLToPath(new URL("../../../configs/train/", import.meta.url));

const minimal = {
  model: { base: "org/model", attention: "bidirectional", pooling: "mean", skip_instruction: false },
  data: { source: "custom", path: "data.jsonl" },
  loss: { type: "hard-negative-nll" },
  optim: { lr: 1e-4, warmup_steps: 2 },
  batch: { global: 8, chunk_size: 4 },
  max_length: { query: 64, document: 128 },
  lora: { r: 8, alpha: 16, dropout: 0.05 },
  steps: 10,
  save_steps: 5,
  seed: 1,
};

describe("train config", () => {
  it("fills defaults", () => {
    const c = parseTrainConfig(minimal);
    expect(c.loss).toEqual({ type: "hard-negative-nll", scale: 50 });
    expect(c.optim).toMatchObject({ schedule: "linear", weight_decay: 0, max_grad_norm: 1, beta1: 0.9, beta2: 0.999, eps: 1e-8 });
    expect(c.lora.target_modules).toEqual(["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]);
    expect(c.model.prompt_template).toBe("{input}");
    expect(c.batch.accumulation_steps).toBe(1);
  });

  it("lists every problem with its field path", () => {
    const bad = {
      ...minimal,
      lora: { r: 0, alpha: 16, dropout: 1.5, extra: true },
      batch: { global: 10, accumulation_steps: 4, chunk_size: 4 },
      loss: { type: "triplet" },
    };
    let message = "";
    try {
      parseTrainConfig(bad, "my.json");
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/my\.json: lora\.r: /);
    expect(message).toMatch(/my\.json: lora\.dropout: /);
    expect(message).toMatch(/my\.json: lora: .*extra/);
    expect(message).toMatch(/my\.json: loss\.type: /);
  });

  it("passes a data revision to the source, and refuses one that is neither a commit nor a ref name", () => {
    const commit = "0123456789abcdef0123456789abcdef01234567";
    const pinned = parseTrainConfig({ ...minimal, data: { source: "msmarco-w-instructions", path: "samaya-ai/msmarco-w-instructions", revision: commit } });
    expect(sourceSpec(pinned.data, 1)).toMatchObject({ kind: "msmarco-w-instructions", revision: commit });
    expect(sourceSpec(parseTrainConfig(minimal).data, 1)).not.toHaveProperty("revision");
    expect(() => parseTrainConfig({ ...minimal, data: { ...minimal.data, revision: "main; rm -rf" } })).toThrow(/data\.revision: must be a 40-hex commit or a ref name/);
  });

  it("checks fields against each other", () => {
    expect(() => parseTrainConfig({ ...minimal, batch: { global: 10, accumulation_steps: 4, chunk_size: 4 } })).toThrow(/batch\.accumulation_steps: must divide batch\.global \(10\)/);
    expect(() => parseTrainConfig({ ...minimal, optim: { lr: 1e-4, warmup_steps: 11 } })).toThrow(/optim\.warmup_steps: must not exceed steps \(10\)/);
    expect(() => parseTrainConfig({ ...minimal, model: { ...minimal.model, prompt_template: "no slot" } })).toThrow(/model\.prompt_template: must contain \{input\} exactly once/);
  });

  it("accepts every config shipped in configs/train", async () => {
    const files = (await readdir(configsDir)).filter((f) => f.endsWith(".json"));
    expect(files.length).toBeGreaterThanOrEqual(10);
    for (const file of files) await expect(loadTrainConfig(configsDir + file)).resolves.toBeDefined();
  });
});

describe("config files and --steps", () => {
  it("reads a config that starts with a byte-order mark", async () => {
    const dir = await mkdtemp(join(tmpdir(), "dembed-config-"));
    try {
      await writeFile(join(dir, "c.json"), `\ufeff${JSON.stringify(minimal)}`);
      expect((await loadTrainConfig(join(dir, "c.json"))).steps).toBe(10);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("scales a warmup longer than a shortened run to the same fraction, and says so", () => {
    const recipe = parseTrainConfig({ ...minimal, steps: 1000, save_steps: 100, optim: { lr: 1e-4, warmup_steps: 100 } });
    const short = withSteps(recipe, 20, "recipe with --steps 20");
    expect(short.config.optim.warmup_steps).toBe(2);
    expect(short.config.save_steps).toBe(20);
    expect(short.note).toMatch(/warmup scaled to 2 \(the recipe's 10\.0 % of the run\)/);
    expect(withSteps(recipe, 500, "x").note).toBeUndefined();
  });
});
