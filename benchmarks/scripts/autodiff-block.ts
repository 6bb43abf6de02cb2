// Prints what our reverse-mode autodiff costs on one Qwen2.5-0.5B-shaped attention block (hidden 896, 14 q heads,
// 2 kv heads, head dim 64): vjp build time, node counts, and ORT run time of the forward alone vs forward + backward
// (gradients w.r.t. LoRA-like extra inputs on q and v, seeded with an upstream gradient as GradCache does).
//   npx tsx benchmarks/scripts/autodiff-block.ts [--batch 2] [--seq 256] [--threads N] [--runs 5]
import { availableParallelism } from "node:os";
import { parseArgs } from "node:util";
// Relative imports: the block is the autodiff's end-to-end test fixture (onnx knows no model).
import { Graph, createSession, vjp, type Tensor } from "@dembed/onnx";
import { seeded } from "@dembed/onnx/testing";
import { attentionBlock, blockWeights, type BlockConfig } from "../../packages/onnx/test/autodiff/attention-block.js";

const { values } = parseArgs({
  options: {
    batch: { type: "string", default: "2" },
    seq: { type: "string", default: "256" },
    threads: { type: "string", default: String(availableParallelism()) },
    runs: { type: "string", default: "5" },
  },
});
const [B, T, threads, runs] = [values.batch, values.seq, values.threads, values.runs].map(Number) as [number, number, number, number];
const base = { hidden: 896, heads: 14, kvHeads: 2, headDim: 64, ropeTheta: 1e6, maxPositions: Math.max(T, 16) };
const random = seeded(1);
const weights = blockWeights({ ...base, causal: true, attention: "op" }, random);
const f32 = (dims: number[]): Tensor => ({
  dtype: "float32", dims, data: Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => 2 * random() - 1),
});
const feeds: Record<string, Tensor> = {
  x: f32([B, T, base.hidden]),
  mask: { dtype: "int64", dims: [B, T], data: BigInt64Array.from({ length: B * T }, (_, i) => (i % T < T / 8 && i >= T ? 0n : 1n)) },
  qExtra: f32([B, T, base.heads * base.headDim]),
  vExtra: f32([B, T, base.kvHeads * base.headDim]),
  seed: f32([B, T, base.hidden]),
};

function build(cfg: BlockConfig, backward: boolean): { graph: Graph; vjpMs: number } {
  const g = new Graph("block");
  const x = g.input("x", "float32", ["batch", "seq", base.hidden]);
  const mask = g.input("mask", "int64", ["batch", "seq"]);
  const qExtra = g.input("qExtra", "float32", ["batch", "seq", base.heads * base.headDim]);
  const vExtra = g.input("vExtra", "float32", ["batch", "seq", base.kvHeads * base.headDim]);
  const y = attentionBlock(g, { x, mask, qExtra, vExtra }, weights, cfg);
  if (!backward) {
    g.output(y, "y");
    return { graph: g, vjpMs: 0 };
  }
  const seed = g.input("seed", "float32", y.shape);
  const start = performance.now();
  const [dq, dv] = vjp(g, [y], [qExtra, vExtra], { seeds: [seed] });
  const vjpMs = performance.now() - start;
  g.output(y, "y");
  g.output(dq!, "dq");
  g.output(dv!, "dv");
  return { graph: g, vjpMs };
}

async function medianRunMs(graph: Graph): Promise<number> {
  const session = await createSession(graph, { threads });
  try {
    const names = new Set(session.inputs.map((i) => i.name));
    const mine = Object.fromEntries(Object.entries(feeds).filter(([n]) => names.has(n)));
    await session.run(mine); // warm-up
    const times: number[] = [];
    for (let i = 0; i < runs; i++) {
      const start = performance.now();
      await session.run(mine);
      times.push(performance.now() - start);
    }
    return times.sort((a, b) => a - b)[Math.floor(times.length / 2)]!;
  } finally {
    await session.release();
  }
}

console.log(`attention block, hidden ${base.hidden}, ${base.heads}/${base.kvHeads} heads, B=${B} T=${T}, ${threads} threads, median of ${runs}`);
for (const attention of ["op", "primitives"] as const) {
  const cfg: BlockConfig = { ...base, causal: true, attention };
  const fwd = build(cfg, false);
  const both = build(cfg, true);
  const [fMs, bMs] = [await medianRunMs(fwd.graph), await medianRunMs(both.graph)];
  console.log(
    `${attention.padEnd(10)} forward ${fMs.toFixed(1)} ms (${fwd.graph.nodes.length} nodes) | forward+backward ${bMs.toFixed(1)} ms ` +
      `(${both.graph.nodes.length} nodes, vjp built in ${both.vjpMs.toFixed(1)} ms) | ratio ${(bMs / fMs).toFixed(2)}`,
  );
}
