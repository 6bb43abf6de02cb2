import { describe, expect, it } from "vitest";
import { Rng, hashSeed } from "./rng.js";

describe("Rng (xoshiro128**)", () => {
  it("matches the reference algorithm from state [1, 2, 3, 4]", () => {
    // worked by hand from Blackman & Vigna's xoshiro128** step
    const rng = Rng.fromState([1, 2, 3, 4]);
    expect([rng.nextUint32(), rng.nextUint32(), rng.nextUint32()]).toEqual([11520, 0, 5927040]);
  });

  it("is deterministic per seed and stream, and streams differ", () => {
    const draw = (rng: Rng) => Array.from({ length: 8 }, () => rng.nextUint32());
    expect(draw(Rng.seeded(42))).toEqual(draw(Rng.seeded(42)));
    expect(draw(Rng.seeded(42))).not.toEqual(draw(Rng.seeded(43)));
    expect(draw(Rng.seeded(42, 0))).not.toEqual(draw(Rng.seeded(42, 1)));
    expect(hashSeed(1)).not.toBe(hashSeed(2 ** 32 + 1));
  });

  it("resumes exactly from a JSON round trip of its state", () => {
    const rng = Rng.seeded(7);
    for (let i = 0; i < 5; i++) rng.nextUint32();
    const resumed = Rng.fromState(JSON.parse(JSON.stringify(rng.state())));
    expect(Array.from({ length: 10 }, () => resumed.nextUint32())).toEqual(Array.from({ length: 10 }, () => rng.nextUint32()));
  });

  it("draws integers in range, roughly uniformly", () => {
    const rng = Rng.seeded(1);
    const counts = new Array(6).fill(0);
    for (let i = 0; i < 60_000; i++) counts[rng.nextInt(6)]++;
    for (const c of counts) expect(Math.abs(c - 10_000)).toBeLessThan(500);
    const f = rng.nextFloat();
    expect(f).toBeGreaterThanOrEqual(0);
    expect(f).toBeLessThan(1);
  });

  it("shuffles into a permutation, typed arrays included", () => {
    const items = Uint32Array.from({ length: 100 }, (_, i) => i);
    Rng.seeded(3).shuffle(items);
    expect([...items].sort((a, b) => a - b)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect([...items]).not.toEqual(Array.from({ length: 100 }, (_, i) => i));
  });

  it("rejects bad seeds and states", () => {
    expect(() => Rng.seeded(-1)).toThrow(/seed/);
    expect(() => Rng.seeded(1.5)).toThrow(/seed/);
    expect(() => Rng.fromState([0, 0, 0, 0])).toThrow(/zeros/);
    expect(() => Rng.fromState([1, 2, 3] as never)).toThrow(/four uint32/);
    expect(() => Rng.seeded(1).nextInt(0)).toThrow(/bound/);
  });
});
