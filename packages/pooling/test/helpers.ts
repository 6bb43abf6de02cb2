/** Deterministic PRNG (mulberry32) so random-shape tests fail the same way every run. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randInt(next: () => number, lo: number, hi: number): number {
  return lo + Math.floor(next() * (hi - lo + 1));
}

export function randomHidden(next: () => number, dims: [number, number, number]): Float32Array {
  return Float32Array.from({ length: dims[0] * dims[1] * dims[2] }, () => next() * 4 - 2);
}

/**
 * A batch of sequences padded on one side: row b has `lengths[b]` real tokens; the embed mask marks the
 * last `textLengths[b]` of them (instruction first, then text, as llm2vec builds it).
 */
export function paddedMasks(lengths: number[], textLengths: number[], tokens: number, side: "left" | "right") {
  const attention: number[][] = [];
  const embed: number[][] = [];
  lengths.forEach((length, b) => {
    const start = side === "left" ? tokens - length : 0;
    const textStart = start + length - textLengths[b]!;
    attention.push(Array.from({ length: tokens }, (_, t) => (t >= start && t < start + length ? 1 : 0)));
    embed.push(Array.from({ length: tokens }, (_, t) => (t >= textStart && t < start + length ? 1 : 0)));
  });
  return { attention, embed, offset: (b: number) => (side === "left" ? tokens - lengths[b]! : 0) };
}
