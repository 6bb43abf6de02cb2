// Graph structure checks that the numbers alone would not show.
import { Graph, add, allNodes, cast, createSession, mul, shape } from "@dembed/onnx";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildDecoderGraph } from "../src/graph/build.js";
import { inTokenChunks, mlpChunkLength } from "../src/graph/chunks.js";
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

  it("reads each layer weight in one node, however many MLP chunks there are (ORT pre-packs a weight per node)", () => {
    const { graph } = buildDecoderGraph(model.weights, { kernel: "flash", attention: "bidirectional" });
    const nodes = [...allNodes(graph)];
    const readers = (v: string) => nodes.filter((n) => n.inputs.some((i) => i?.name === v));
    for (const name of model.weights.tensors.keys()) {
      if (!/layers\.\d+\..*proj\.weight$/.test(name)) continue;
      const [cast] = readers(name); // BF16 weights are widened by one Cast each (checked above), which ORT folds
      expect(readers(name)).toHaveLength(1);
      expect(readers(cast!.outputs[0]!.name).map((n) => n.opType)).toEqual(["FusedMatMul"]);
    }
  });

  it("defers the weights a caller does not want pre-packed, so ORT cannot fold them into constants", () => {
    const { graph } = buildDecoderGraph(model.weights, { kernel: "masked", attention: "bidirectional", mlpChunkTokens: 0, prepacked: (m) => m.endsWith(".gate_proj") });
    const producer = new Map(graph.nodes.flatMap((n) => n.outputs.map((o) => [o.name, n] as const)));
    const matmuls = graph.nodes.filter((n) => n.opType === "FusedMatMul");
    expect(matmuls).toHaveLength(7 * model.spec.config.numLayers);
    for (const node of matmuls) {
      const b = producer.get(node.inputs[1]!.name)!;
      const weight = (b.opType === "Reshape" ? producer.get(b.inputs[0]!.name)! : b).inputs[0]!.name; // Cast of the BF16 weight
      expect(graph.initializers.has(weight), weight).toBe(true);
      expect(b.opType, weight).toBe(weight.includes(".gate_proj.") ? "Cast" : "Reshape");
    }
  });

  it("refuses a runtime mode with the flash kernels", () => {
    expect(() => buildDecoderGraph(model.weights, { kernel: "flash", attention: "runtime" })).toThrow(/flash kernels fix the attention mode/);
  });
});

describe("inTokenChunks", () => {
  it("cuts the batch's B·T rows into N = min(maxChunks, ⌈B·T / C⌉) equal chunks, and puts every row back in place", async () => {
    const g = new Graph("chunks");
    const x = g.input("x", "float32", [2, "t", 3]);
    // Each row becomes 10·row + 1 plus the rows of the chunk it fell in (the padded chunk's, as the block sees it).
    const out = inTokenChunks(x, 2, 4, (chunk) => add(add(mul(chunk, 10), 1), cast(shape(chunk, { end: 1 }), "float32")));
    g.output(out, "y");
    // The block exists once, in the body of the one Scan.
    const scans = [...allNodes(g)].filter((n) => n.opType === "Scan");
    expect(scans).toHaveLength(1);
    expect((scans[0]!.attrs.body as Graph).nodes.filter((n) => n.opType === "Mul")).toHaveLength(1);
    const session = await createSession(g, { threads: 1 });
    try {
      for (const t of [1, 2, 3, 5, 8, 9, 11, 17]) {
        const data = Float32Array.from({ length: 2 * t * 3 }, (_, i) => i * 0.5 - 3);
        const y = (await session.run({ x: { dtype: "float32", dims: [2, t, 3], data } })).y!;
        expect(y.dims).toEqual([2, t, 3]);
        const size = mlpChunkLength(2 * t, 2, 4);
        expect(Array.from(y.data as Float32Array)).toEqual(Array.from(data, (v) => 10 * v + 1 + size));
      }
      // 5 rows: 3 chunks of 2 (one padding row); 8: 4 of 2; 11 and 17 need wider chunks, of 3 and 5 rows.
      expect([5, 8, 11, 17].map((t) => mlpChunkLength(t, 2, 4))).toEqual([2, 2, 3, 5]);
    } finally {
      await session.release();
    }
  });
});
