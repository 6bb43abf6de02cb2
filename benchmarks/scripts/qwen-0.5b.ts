// The Qwen2-0.5B shape the speed scripts share (random weights, seed 1), and its one folder: written once, reused by
// forward-speed.ts, session-create.ts, train-step.ts and queue-speed.ts, so each measures a checkpoint that is
// already on disk (one written just before a run trained slower: packages/train README).
import { existsSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createTinyModel } from "@dembed/models";

export const QWEN2_05B = {
  hidden_size: 896,
  num_hidden_layers: 24,
  num_attention_heads: 14,
  num_key_value_heads: 2,
  intermediate_size: 4864,
  vocab_size: 151936,
  rope_theta: 1_000_000,
};

export const QWEN2_05B_DIR = join(tmpdir(), "dembed-bench-qwen2-0.5b");

/** `dir` holding the shape's checkpoint; written (and said) when it is absent or another shape. */
export async function ensureQwen05b(dir: string = QWEN2_05B_DIR): Promise<string> {
  if (existsSync(join(dir, "model.safetensors")) && existsSync(join(dir, "config.json"))) {
    const config = JSON.parse(readFileSync(join(dir, "config.json"), "utf8")) as Record<string, unknown>;
    if (Object.entries(QWEN2_05B).every(([k, v]) => config[k] === v)) return dir;
  }
  const start = performance.now();
  await createTinyModel("qwen2", dir, { seed: 1, config: QWEN2_05B });
  console.log(`wrote random Qwen2-0.5B-shaped weights to ${dir} in ${((performance.now() - start) / 1000).toFixed(1)} s`);
  return dir;
}
