// The linear hook (how LoRA enters the graph) sees every linear layer by module path, and graph inputs it adds are
// fed through extraFeeds on every run.
import { add, type Value } from "@dembed/onnx";
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
});
