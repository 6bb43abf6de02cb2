// End-to-end gradients: a classifier's cross-entropy against the analytic formula, and one attention block
// (RMSNorm, GQA projections, RoPE from mask positions, padded attention, o_proj, residual) against finite differences.
import { describe, expect, it } from "vitest";
import { Graph } from "../../src/graph.js";
import * as op from "../../src/ops/index.js";
import { createSession } from "../../src/session.js";
import { checkGradient, seeded, type GradCheckInput } from "../../src/testing.js";
import { vjp } from "../../src/autodiff/index.js";
import { attentionBlock, blockWeights, type BlockConfig } from "./attention-block.js";

const random = seeded(2505);
const f32 = (dims: number[], scale = 1): GradCheckInput => ({
  dtype: "float32", dims, data: Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => scale * (2 * random() - 1)),
});

describe("linear → log-softmax → cross-entropy", () => {
  it("gives dW = (softmax − onehot)ᵀ·x / N and db = mean(softmax − onehot)", async () => {
    const [N, K, C] = [6, 5, 4];
    const labels = [0, 3, 1, 1, 2, 3];
    const x = f32([N, K]);
    const w = f32([C, K]);
    const b = f32([C]);
    const g = new Graph();
    const [xv, wv, bv] = [g.input("x", "float32", ["n", K]), g.input("w", "float32", [C, K]), g.input("b", "float32", [C])];
    const lv = g.input("labels", "int64", ["n", 1]);
    const logProbs = op.logSoftmax(op.linear(xv, wv, bv), -1); // [n, C]
    const loss = op.neg(op.reduceMean(op.gatherElements(logProbs, lv, 1), [], { keepdims: false })); // []
    const [dw, db] = vjp(g, [loss], [wv, bv]);
    g.output(dw!, "dw");
    g.output(db!, "db");
    const session = await createSession(g, { threads: 1 });
    const out = await session.run({ x, w, b, labels: { dtype: "int64", dims: [N, 1], data: BigInt64Array.from(labels.map(BigInt)) } })
      .finally(() => session.release());

    const at = (t: GradCheckInput, i: number) => (t.data as Float32Array)[i]!;
    const wantW = new Float64Array(C * K);
    const wantB = new Float64Array(C);
    for (let n = 0; n < N; n++) {
      const logits = Array.from({ length: C }, (_, c) => at(b, c) + Array.from({ length: K }, (_, k) => at(w, c * K + k) * at(x, n * K + k)).reduce((s, v) => s + v, 0));
      const max = Math.max(...logits);
      const z = logits.reduce((s, l) => s + Math.exp(l - max), 0);
      for (let c = 0; c < C; c++) {
        const delta = (Math.exp(logits[c]! - max) / z - (labels[n] === c ? 1 : 0)) / N;
        wantB[c]! += delta;
        for (let k = 0; k < K; k++) wantW[c * K + k]! += delta * at(x, n * K + k);
      }
    }
    expect(out.dw!.dims).toEqual([C, K]);
    Array.from(out.dw!.data as Float32Array).forEach((v, i) => expect(v).toBeCloseTo(wantW[i]!, 6));
    Array.from(out.db!.data as Float32Array).forEach((v, i) => expect(v).toBeCloseTo(wantB[i]!, 6));
  });
});

describe("attention block: gradient w.r.t. extra inputs on q and v (as LoRA adds them)", () => {
  const cfg = { hidden: 16, heads: 4, kvHeads: 2, headDim: 4, ropeTheta: 10000, maxPositions: 16 };
  const [B, T] = [2, 5];
  const weights = blockWeights({ ...cfg, causal: false, attention: "op" }, seeded(7));
  // Row 0 has no padding, row 1 is left-padded by two.
  const mask: GradCheckInput = { dtype: "int64", dims: [B, T], data: BigInt64Array.from([1, 1, 1, 1, 1, 0, 0, 1, 1, 1].map(BigInt)), shape: ["batch", "seq"] };
  const inputs = {
    x: { ...f32([B, T, cfg.hidden]), shape: ["batch", "seq", cfg.hidden] },
    mask,
    qExtra: { ...f32([B, T, cfg.heads * cfg.headDim], 0.3), shape: ["batch", "seq", cfg.heads * cfg.headDim] },
    vExtra: { ...f32([B, T, cfg.kvHeads * cfg.headDim], 0.3), shape: ["batch", "seq", cfg.kvHeads * cfg.headDim] },
  };

  for (const attention of ["op", "primitives"] as const) {
    for (const causal of [true, false]) {
      it(`${causal ? "causal" : "bidirectional"}, attention as ${attention === "op" ? "the ONNX Attention op" : "MatMul/Softmax primitives"}`, async () => {
        const block: BlockConfig = { ...cfg, causal, attention };
        const r = await checkGradient((g, v) => attentionBlock(g, v, weights, block), inputs, { wrt: ["qExtra", "vExtra", "x"], samples: 40 });
        if (process.env.GRAD_VERBOSE) console.log(r.summary);
        expect(r.failures, r.summary).toEqual([]);
        expect(r.checked).toBe(120);
      });
    }
  }
});
