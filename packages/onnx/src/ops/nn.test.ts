import { describe, expect, it } from "vitest";
import { checkForward, randomInput, seeded, type TestInput } from "../testing.js";
import { Nd, attentionRef, build, mergeHeads, splitHeads } from "../../test/naive.js";
import * as op from "./index.js";

const random = seeded(31);
const f32 = (dims: number[], lo = -1, hi = 1): TestInput => randomInput(random, "float32", dims, lo, hi);

describe("Attention (opset 23)", () => {
  const [B, Hq, Hkv, S, D] = [2, 4, 2, 5, 8];
  const qkv = () => ({ q: f32([B, Hq, S, D]), k: f32([B, Hkv, S, D]), v: f32([B, Hkv, S, D]) });

  it("4-D GQA, bidirectional, with a bool padding mask", async () => {
    const keep = [5, 3]; // valid keys per batch row
    const mask: TestInput = { dtype: "bool", dims: [B, 1, S, S], data: Uint8Array.from({ length: B * S * S }, (_, n) => Number(n % S < keep[Math.floor(n / (S * S))]!)) };
    await checkForward((_, x) => op.attention(x.q, x.k, x.v, { attnMask: x.mask }), { ...qkv(), mask }, (t) =>
      attentionRef(Nd.of(t.q), Nd.of(t.k), Nd.of(t.v), { bias: (b, _h, _i, j) => (j < keep[b]! ? 0 : -Infinity) }).tensor(),
    );
  });

  it("4-D GQA, causal, with an additive float mask and a custom scale", async () => {
    const mask = f32([B, 1, S, S], -2, 0);
    await checkForward((_, x) => op.attention(x.q, x.k, x.v, { attnMask: x.mask, isCausal: true, scale: 0.3 }), { ...qkv(), mask }, (t) => {
      const m = Nd.of(t.mask);
      return attentionRef(Nd.of(t.q), Nd.of(t.k), Nd.of(t.v), { causal: true, scale: 0.3, bias: (b, _h, i, j) => m.at([b, 0, i, j]) }).tensor();
    });
  });

  it("3-D inputs with heads folded into the last dim", async () => {
    const { graphOutputs } = await checkForward(
      (_, x) => op.attention(x.q, x.k, x.v, { qNumHeads: Hq, kvNumHeads: Hkv, isCausal: true }),
      { q: { ...f32([B, S, Hq * D]), shape: ["batch", "seq", Hq * D] }, k: { ...f32([B, S, Hkv * D]), shape: ["batch", "seq", Hkv * D] }, v: { ...f32([B, S, Hkv * D]), shape: ["batch", "seq", Hkv * D] } },
      (t) => mergeHeads(attentionRef(splitHeads(Nd.of(t.q), Hq), splitHeads(Nd.of(t.k), Hkv), splitHeads(Nd.of(t.v), Hkv), { causal: true })).tensor(),
    );
    expect(graphOutputs[0]!.shape).toEqual(["batch", "seq", Hq * D]);
  });
});

describe("RMSNormalization and RotaryEmbedding", () => {
  it("rmsNormalization over the last axis and over the last two", async () => {
    await checkForward(
      (_, x) => [op.rmsNormalization(x.x, x.w, { epsilon: 1e-6 }), op.rmsNormalization(x.x, x.w, { axis: -2, epsilon: 0.1 })],
      { x: f32([2, 3, 4], -2, 2), w: f32([4]) },
      (t) => {
        const [x, w] = [Nd.of(t.x), Nd.of(t.w)];
        const rms = (b: number, rows: number[], eps: number) => {
          const vals = rows.flatMap((r) => [0, 1, 2, 3].map((j) => x.at([b, r, j])));
          return Math.sqrt(vals.reduce((s, v) => s + v * v, 0) / vals.length + eps);
        };
        return [
          build([2, 3, 4], ([b, i, j]) => (x.at([b!, i!, j!]) / rms(b!, [i!], 1e-6)) * w.at([j!])).tensor(),
          build([2, 3, 4], ([b, i, j]) => (x.at([b!, i!, j!]) / rms(b!, [0, 1, 2], 0.1)) * w.at([j!])).tensor(),
        ];
      },
    );
  });

  const [B, H, S, D] = [2, 3, 4, 8];
  /** RoPE of one head vector at cache row `c` (rotate-half or interleaved), first `rd` dims rotated. */
  const rope = (x: (d: number) => number, cos: (i: number) => number, sin: (i: number) => number, d: number, rd: number, interleaved: boolean): number => {
    if (d >= rd) return x(d);
    const half = rd / 2;
    if (interleaved) {
      const i = Math.floor(d / 2);
      return d % 2 === 0 ? x(2 * i) * cos(i) - x(2 * i + 1) * sin(i) : x(2 * i) * sin(i) + x(2 * i + 1) * cos(i);
    }
    return d < half ? x(d) * cos(d) - x(d + half) * sin(d) : x(d - half) * sin(d - half) + x(d) * cos(d - half);
  };

  it("rotate-half RoPE on [B,H,S,D] with position ids into [maxPos, D/2] caches", async () => {
    const pos: TestInput = { dtype: "int64", dims: [B, S], data: BigInt64Array.from([0n, 1n, 2n, 3n, 5n, 4n, 0n, 9n]) };
    await checkForward(
      (_, x) => op.rotaryEmbedding(x.x, x.cos, x.sin, { positionIds: x.pos }),
      { x: f32([B, H, S, D]), cos: f32([10, D / 2]), sin: f32([10, D / 2]), pos },
      (t) => {
        const [x, c, s, p] = [Nd.of(t.x), Nd.of(t.cos), Nd.of(t.sin), Nd.of(t.pos)];
        return build([B, H, S, D], ([b, h, i, d]) => {
          const row = p.at([b!, i!]);
          return rope((e) => x.at([b!, h!, i!, e]), (k) => c.at([row, k]), (k) => s.at([row, k]), d!, D, false);
        }).tensor();
      },
    );
  });

  it("interleaved, partial-dim RoPE on 3-D [B,S,H·D] with [B,S,rd/2] caches", async () => {
    const rd = 4;
    await checkForward(
      (_, x) => op.rotaryEmbedding(x.x, x.cos, x.sin, { numHeads: H, interleaved: true, rotaryEmbeddingDim: rd }),
      { x: f32([B, S, H * D]), cos: f32([B, S, rd / 2]), sin: f32([B, S, rd / 2]) },
      (t) => {
        const [x, c, s] = [Nd.of(t.x), Nd.of(t.cos), Nd.of(t.sin)];
        return build([B, S, H * D], ([b, i, hd]) => {
          const [h, d] = [Math.floor(hd! / D), hd! % D];
          return rope((e) => x.at([b!, i!, h * D + e]), (k) => c.at([b!, i!, k]), (k) => s.at([b!, i!, k]), d, rd, true);
        }).tensor();
      },
    );
  });
});
