// Drop positions and rebuilt masks: the same masks as the element-wise geometric skipping they replace (so a run
// resumed across versions sees the same dropout), and buffer reuse that leaves nothing stale.
import { describe, expect, it } from "vitest";
import { mulberry32, streamSeed } from "./dropout.js";
import { applyDrops, drawDropouts, dropoutMasks, dropPositions, fillKeepMask, keepMasks } from "./index.js";

function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

/** The masks as first written: ones, then a zero after each Geometric(p) gap. */
function referenceMask(length: number, p: number, uniform: () => number): Uint8Array {
  const mask = new Uint8Array(length).fill(1);
  const logKeep = Math.log1p(-p);
  for (let i = Math.floor(Math.log(1 - uniform()) / logKeep); i < length; i += 1 + Math.floor(Math.log(1 - uniform()) / logKeep)) mask[i] = 0;
  return mask;
}

/** Where two arrays first differ (−1: nowhere); far faster than a deep toEqual on a million elements. */
function firstDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) if (a[i] !== b[i]) return i;
  return -1;
}

const layers = [
  { path: "model.layers.0.self_attn.q_proj", inFeatures: 8 },
  { path: "model.layers.0.mlp.down_proj", inFeatures: 24 },
];

describe("drop positions", () => {
  it("mark exactly the elements the element-wise skipping drops, ascending, about p of them", () => {
    for (const p of [0.05, 0.3]) {
      const positions = dropPositions(20_000, p, seeded(9));
      const mask = new Uint8Array(20_000);
      applyDrops(mask, positions);
      expect(mask).toEqual(referenceMask(20_000, p, seeded(9)));
      expect(positions.every((v, i) => i === 0 || v > positions[i - 1]!)).toBe(true);
      expect(Math.abs(positions.length / 20_000 - p)).toBeLessThan(0.015);
      const filled = new Uint8Array(20_000);
      fillKeepMask(filled, p, seeded(9));
      expect(filled).toEqual(mask);
    }
    expect(dropPositions(100, 0, seeded(1))).toHaveLength(0);
  });

  it("give the formula's gap at both ends of every bucket of U the gap table covers, for small and large p", () => {
    const bits = new DataView(new ArrayBuffer(8));
    const justBelow = (x: number) => (bits.setFloat64(0, x), bits.setBigUint64(0, bits.getBigUint64(0) - 1n), bits.getFloat64(0));
    const edges: number[] = [];
    for (let b = 0; b < 65536; b++) edges.push(b / 65536, justBelow((b + 1) / 65536));
    const replay = () => {
      let next = 0;
      return () => (next < edges.length ? edges[next++]! : 1); // U = 1 ends the draws (an infinite gap)
    };
    for (const p of [1e-6, 0.05, 0.1, 0.3, 0.9]) {
      const positions = dropPositions(2 ** 32, p, replay());
      const logKeep = Math.log1p(-p);
      let i = -1;
      const expected = edges.map((u) => (i += 1 + Math.floor(Math.log(1 - u) / logKeep)));
      expect(positions.length).toBe(expected.filter((v) => v < 2 ** 32).length);
      expect(firstDifference(positions, expected.slice(0, positions.length))).toBe(-1);
    }
  });

  it("of drawDropouts are each layer's own mulberry32 stream, through the same formula", () => {
    const shape = [{ path: "a", inFeatures: 4864 }, { path: "b", inFeatures: 896 }];
    const draws = drawDropouts(shape, [2, 64], 0.05, 1234);
    shape.forEach((l, index) => {
      const mask = new Uint8Array(2 * 64 * l.inFeatures);
      applyDrops(mask, draws.positions[index]!);
      expect(firstDifference(mask, referenceMask(mask.length, 0.05, mulberry32(streamSeed(1234, index))))).toBe(-1);
    });
  });

  it("grow past their first estimate (every element dropped)", () => {
    const positions = dropPositions(1000, 0.01, () => 0);
    expect(positions).toHaveLength(1000);
    expect(positions[999]).toBe(999);
    // p beyond 1 makes every gap NaN: no drops, in the inlined loop as in the formula's (the config refuses p ≥ 1).
    expect(dropPositions(1000, 1.5, seeded(1))).toHaveLength(0);
    expect(drawDropouts(layers, [2, 3], 1.5, 4).positions.map((q) => q.length)).toEqual([0, 0]);
  });

  it("rebuild dropoutMasks' tensors, also into reused buffers holding an earlier chunk's masks", () => {
    const fresh = dropoutMasks(layers, [3, 5], 0.2, 11);
    const draws = drawDropouts(layers, [3, 5], 0.2, 11);
    const stale = layers.map((l) => new Uint8Array(15 * l.inFeatures)); // zeros: every element looks dropped
    const reused = keepMasks(layers, draws, stale);
    for (const [i, l] of layers.entries()) {
      const name = `${l.path}.lora_dropout.keep`;
      expect(reused[name]!.data).toBe(stale[i]);
      expect(reused[name]!.data).toEqual(fresh[name]!.data);
      expect(reused[name]!.dims).toEqual([3, 5, l.inFeatures]);
    }
    // A buffer of the wrong length is not written into.
    const other = keepMasks(layers, draws, [new Uint8Array(3), undefined]);
    expect(other[`${layers[0]!.path}.lora_dropout.keep`]!.data).toHaveLength(15 * 8);
    expect(() => keepMasks(layers.slice(0, 1), draws)).toThrow(/draws for 2 layers, 1 layers given/);
  });
});
