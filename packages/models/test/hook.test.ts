// The linear hook (how LoRA enters the graph) sees every linear layer by module path, and graph inputs it adds are
// fed through extraFeeds on every run.
import { add, linear, type Value } from "@dembed/onnx";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LoadedModel } from "../src/model.js";
import { referenceForward } from "../src/reference.js";
import { batchFromRows } from "../src/session/batch.js";
import { DecoderSession } from "../src/session/decoder.js";
import { paddedRows, referenceWeights, relativeError, tempDir, tinyModel } from "./helpers.js";

let root: { dir: string; cleanup: () => Promise<void> };
let model: LoadedModel;
beforeAll(async () => {
  root = await tempDir("hook");
  model = await tinyModel("qwen2", root.dir, { config: { vocab_size: 8192 } });
});
afterAll(async () => root?.cleanup());

describe("linearHook", () => {
  it("is called for every linear layer, and its graph inputs are fed on each run", async () => {
    const seen: string[] = [];
    const target = "model.layers.1.self_attn.q_proj";
    const delta = Float32Array.from({ length: 64 }, (_, i) => Math.sin(i) * 0.5);
    const session = new DecoderSession(model, {
      threads: 1,
      kernel: "masked",
      linearHook: (path: string, x: Value, y: Value) => {
        seen.push(path);
        // Adds a run-time input to one layer's output: the reference gets the same change through its bias.
        return path === target ? add(y, x.graph.input("extra_q_bias", "float32", [64])) : y;
      },
      extraFeeds: () => ({ extra_q_bias: { dtype: "float32", dims: [64], data: delta } }),
    });
    try {
      const rows = paddedRows([[11, 22, 33, 44], [55, 66]], 4, "left");
      const out = await session.run(batchFromRows(rows.inputIds, rows.attentionMask), { attention: "bidirectional" });
      const modules = ["q_proj", "k_proj", "v_proj", "o_proj"].map((m) => `self_attn.${m}`).concat(["mlp.gate_proj", "mlp.up_proj", "mlp.down_proj"]);
      expect([...seen].sort()).toEqual([0, 1].flatMap((l) => modules.map((m) => `model.layers.${l}.${m}`)).sort());

      const base = await referenceWeights(model);
      const shifted = (name: string) => (name === `${target}.bias` ? base(name).map((b, i) => b + delta[i]!) : base(name));
      expect(relativeError(out.data, referenceForward(model.spec, shifted, rows, "bidirectional"))).toBeLessThan(1e-4);
      expect(relativeError(out.data, referenceForward(model.spec, base, rows, "bidirectional"))).toBeGreaterThan(1e-3);
    } finally {
      await session.release();
    }
  });

  it("is called once per module even when the MLP runs in sequence chunks, and applies to every chunk", async () => {
    const calls: string[] = [];
    const target = "model.layers.0.mlp.down_proj";
    const shift = Float32Array.from({ length: 64 * 128 }, (_, i) => Math.cos(i) * 0.05); // [out 64, in 128]
    const session = new DecoderSession(model, {
      threads: 1,
      kernel: "masked",
      mlpChunkTokens: 2, // 5 tokens → chunks of 2, 2, 1 and empty ones
      linearHook: (path, x, y) => {
        calls.push(path);
        // A LoRA-like, x-dependent change: y + x·Sᵀ, i.e. the weight W + S.
        return path === target ? add(y, linear(x, x.graph.input("shift", "float32", [64, 128]))) : y;
      },
      extraFeeds: () => ({ shift: { dtype: "float32", dims: [64, 128], data: shift } }),
    });
    try {
      const rows = paddedRows([[11, 22, 33, 44, 55], [66, 77, 88]], 5, "right");
      const out = await session.run(batchFromRows(rows.inputIds, rows.attentionMask), { attention: "causal" });
      expect(calls.filter((c) => c === target)).toHaveLength(1);
      const base = await referenceWeights(model);
      const shifted = (name: string) => (name === `${target}.weight` ? base(name).map((w, i) => w + shift[i]!) : base(name));
      expect(relativeError(out.data, referenceForward(model.spec, shifted, rows, "causal"))).toBeLessThan(1e-4);
    } finally {
      await session.release();
    }
  });
});
