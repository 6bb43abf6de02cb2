// A small deterministic PRNG (xoshiro128**) whose whole state is four uint32 numbers, so a
// position in a random stream can be written to JSON and picked up again exactly.

/** The serializable state of an {@link Rng}: four uint32 words. */
export type RngState = readonly [number, number, number, number];

const TWO_32 = 4294967296;

function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function checkKey(value: number, name: string): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`${name} must be a non-negative safe integer, got ${value}`);
  }
}

/** Hash a seed and any number of stream ids (epoch, record index, …) into one uint32. */
export function hashSeed(seed: number, ...streams: number[]): number {
  checkKey(seed, "seed");
  let h = 0x3c6ef372;
  for (const [i, part] of [seed, ...streams].entries()) {
    if (i > 0) checkKey(part, "stream id");
    // both halves of a 53-bit integer take part, so seeds 1 and 2**32 + 1 differ
    h = fmix32((h ^ fmix32(part >>> 0)) + 0x9e3779b9);
    h = fmix32((h ^ fmix32(Math.floor(part / TWO_32) + 0x7f4a7c15)) + i);
  }
  return h;
}

/**
 * xoshiro128** (Blackman & Vigna). `Rng.seeded(seed, ...streams)` gives independent streams for
 * e.g. (seed, epoch) or (seed, epoch, record), so no state has to be carried between records.
 */
export class Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  private constructor(state: RngState) {
    [this.s0, this.s1, this.s2, this.s3] = state;
  }

  static seeded(seed: number, ...streams: number[]): Rng {
    let x = hashSeed(seed, ...streams);
    const words: number[] = [];
    for (let i = 0; i < 4; i++) {
      x = (x + 0x9e3779b9) >>> 0;
      words.push(fmix32(x));
    }
    // the all-zero state is the one fixed point of xoshiro
    if (!words.some((w) => w !== 0)) words[0] = 1;
    return new Rng(words as unknown as RngState);
  }

  static fromState(state: RngState): Rng {
    if (!Array.isArray(state) || state.length !== 4 || state.some((w) => !Number.isInteger(w) || w < 0 || w >= TWO_32)) {
      throw new TypeError(`RNG state must be four uint32 numbers, got ${JSON.stringify(state)}`);
    }
    if (state.every((w) => w === 0)) throw new TypeError("RNG state must not be all zeros");
    return new Rng(state);
  }

  state(): RngState {
    return [this.s0, this.s1, this.s2, this.s3];
  }

  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    this.s0 >>>= 0;
    this.s1 >>>= 0;
    this.s2 >>>= 0;
    this.s3 >>>= 0;
    return result;
  }

  /** A float in [0, 1) with 32 random bits. */
  nextFloat(): number {
    return this.nextUint32() / TWO_32;
  }

  /** An unbiased integer in [0, n), 1 ≤ n ≤ 2^32. */
  nextInt(n: number): number {
    if (!Number.isInteger(n) || n < 1 || n > TWO_32) throw new RangeError(`nextInt bound must be in [1, 2^32], got ${n}`);
    const limit = TWO_32 - (TWO_32 % n);
    for (;;) {
      const r = this.nextUint32();
      if (r < limit) return r % n;
    }
  }

  /** Fisher–Yates shuffle in place; returns the same array. */
  shuffle<T extends { length: number; [i: number]: unknown }>(items: T): T {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.nextInt(i + 1);
      const tmp = items[i];
      items[i] = items[j];
      items[j] = tmp;
    }
    return items;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
