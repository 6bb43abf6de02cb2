// Graph structure checks that the numbers alone would not show.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildDecoderGraph } from "../src/graph/build.js";
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
