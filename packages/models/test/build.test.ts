// Graph structure checks that the numbers alone would not show.
import { Graph, add, cast, createSession, mul, shape } from "@dembed/onnx";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildDecoderGraph } from "../src/graph/build.js";
import { inSequenceChunks } from "../src/graph/chunks.js";
import type { LoadedModel } from "../src/model.js";
import { tempDir, tinyModel } from "./helpers.js";

let root: { dir: string; cleanup: () => Promise<void> };
let model: LoadedModel;
beforeAll(async () => {
  root = await tempDir("build");
  model = await tinyModel("llama", root.dir, { dtype: "BF16", config: { vocab_size: 512 } });
});
afterAll(async () => root?.cleanup());

describe("buildDecoderGraph", () => {
  it("casts each BF16 weight once, however many MLP chunks read it, and never the embedding table", () => {
    const { graph } = buildDecoderGraph(model.weights, { kernel: "flash", attention: "causal" });
    const weightCasts = graph.nodes.filter((n) => n.opType === "Cast" && n.inputs[0] && graph.initializers.has(n.inputs[0].name));
    const castNames = weightCasts.map((n) => n.inputs[0]!.name);
    expect(new Set(castNames).size).toBe(castNames.length);
    expect(castNames).not.toContain("model.embed_tokens.weight");
    expect(castNames.length).toBe(model.weights.tensors.size - 1);
  });

  it("reads weights as external data from the checkpoint and uses FusedMatMul transB, never Transpose on a weight", () => {
    const { graph } = buildDecoderGraph(model.weights, { kernel: "masked", attention: "runtime" });
    const external = [...graph.initializers.values()].filter((i) => i.external);
    expect(external).toHaveLength(model.weights.tensors.size);
    expect(new Set(external.map((i) => i.external!.location))).toEqual(new Set([`${model.dir}/model.safetensors`]));
    expect(graph.nodes.filter((n) => n.opType === "Transpose")).toHaveLength(0);
    const matmuls = graph.nodes.filter((n) => n.opType === "FusedMatMul");
    expect(matmuls.every((n) => n.attrs.transB === 1)).toBe(true);
    expect(graph.inputs.map((v) => v.name)).toEqual(["input_ids", "attention_mask", "causal"]);
  });

  it("refuses a runtime mode with the flash kernels", () => {
    expect(() => buildDecoderGraph(model.weights, { kernel: "flash", attention: "runtime" })).toThrow(/flash kernels fix the attention mode/);
  });
});

describe("inSequenceChunks", () => {
  it("cuts chunks of C tokens, or of ⌈T / maxChunks⌉ when T needs more than maxChunks of them", async () => {
    const g = new Graph("chunks");
    const x = g.input("x", "float32", [1, "t", 1]);
    // Each token becomes the length of the chunk it fell in.
    const out = inSequenceChunks(x, 2, 4, (chunk) => add(mul(chunk, 0), cast(shape(chunk, { start: 1, end: 2 }), "float32")));
    g.output(out, "y");
    const session = await createSession(g, { threads: 1 });
    const sizes = async (t: number) => Array.from((await session.run({ x: { dtype: "float32", dims: [1, t, 1], data: new Float32Array(t) } })).y!.data as Float32Array);
    try {
      expect(await sizes(5)).toEqual([2, 2, 2, 2, 1]);
      // 8 tokens fill the 4 chunks of 2; 11 need chunks of 3 (before, the last chunk took the 5 left over).
      expect(await sizes(8)).toEqual(Array(8).fill(2));
      expect(await sizes(11)).toEqual([3, 3, 3, 3, 3, 3, 3, 3, 3, 2, 2]);
    } finally {
      await session.release();
    }
  });
});
