import { describe, expect, it } from "vitest";
import { checkForward, randomInput, seeded, type TestInput } from "../testing.js";
import { Nd, attentionRef, mergeHeads, splitHeads, zip } from "../../test/naive.js";
import * as op from "./index.js";

const random = seeded(41);
const f32 = (dims: number[]): TestInput => randomInput(random, "float32", dims);
const [B, H, KV, S, D] = [2, 4, 2, 6, 8];

describe("com.microsoft attention (forward only)", () => {
  it("multiHeadAttention without a mask (ORT's flash path) and with a key padding mask", async () => {
    const keep = [6, 4];
    const mask: TestInput = { dtype: "int32", dims: [B, S], data: Int32Array.from({ length: B * S }, (_, n) => Number(n % S < keep[Math.floor(n / S)]!)) };
    const { graph } = await checkForward(
      (_, x) => [op.multiHeadAttention(x.q, x.k, x.v, { numHeads: H }), op.multiHeadAttention(x.q, x.k, x.v, { numHeads: H, keyPaddingMask: x.mask, scale: 0.25 })],
      { q: f32([B, S, H * D]), k: f32([B, S, H * D]), v: f32([B, S, H * D]), mask },
      (t) => {
        const [q, k, v] = [splitHeads(Nd.of(t.q), H), splitHeads(Nd.of(t.k), H), splitHeads(Nd.of(t.v), H)];
        // ORT fills masked scores with mask_filter_value (-10000), not -inf; exp(-10000) underflows to 0 all the same.
        return [
          mergeHeads(attentionRef(q, k, v)).tensor(),
          mergeHeads(attentionRef(q, k, v, { scale: 0.25, bias: (b, _h, _i, j) => (j < keep[b]! ? 0 : -10000) })).tensor(),
        ];
      },
    );
    expect(graph.opsets.get("com.microsoft")).toBe(1);
  });

  it("groupQueryAttention is causal and masks padding through seqlensK", async () => {
    const valid = [6, 4];
    const seqlensK: TestInput = { dtype: "int32", dims: [B], data: Int32Array.from(valid, (n) => n - 1) };
    const total: TestInput = { dtype: "int32", dims: [], data: Int32Array.of(S) };
    // Rows past a sequence's end are padding whose output ORT leaves unspecified: zero them on both sides.
    const rows: TestInput = { dtype: "float32", dims: [B, S, 1], data: Float32Array.from({ length: B * S }, (_, n) => Number(n % S < valid[Math.floor(n / S)]!)) };
    const { graphOutputs } = await checkForward(
      (_, x) => {
        const { output, presentKey } = op.groupQueryAttention(x.q, x.k, x.v, { seqlensK: x.seqlensK, totalSequenceLength: x.total, numHeads: H, kvNumHeads: KV });
        expect(presentKey.shape).toEqual([B, KV, S, D]);
        return op.mul(output, x.rows);
      },
      { q: f32([B, S, H * D]), k: f32([B, S, KV * D]), v: f32([B, S, KV * D]), seqlensK, total, rows },
      (t) => {
        const out = attentionRef(splitHeads(Nd.of(t.q), H), splitHeads(Nd.of(t.k), KV), splitHeads(Nd.of(t.v), KV), {
          causal: true,
          bias: (b, _h, _i, j) => (j < valid[b]! ? 0 : -Infinity),
        });
        return zip((y, r) => y * r, mergeHeads(out), Nd.of(t.rows)).tensor();
      },
    );
    expect(graphOutputs[0]!.shape).toEqual([B, S, H * D]);
  });
});
