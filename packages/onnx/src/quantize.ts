// Block-wise weight quantization in the layout of ORT's MatMulNBits (com.microsoft): a weight [N, K] (HF Linear
// layout, one row per output) is cut along K into blocks; each block keeps a float scale and a zero point, and its
// codes are unsigned `bits`-bit integers packed low-first into bytes. Min/max per block (asymmetric), so a block of
// one sign uses every code. The bound every element keeps: |w − (q − zp)·scale| ≤ scale/2, with
// scale = (max(0, max) − min(0, min)) / (2^bits − 1) of its block.

export type QuantBits = 4 | 8;

export interface BlockQuantized {
  readonly bits: QuantBits;
  readonly blockSize: number;
  /** Rows (outputs) and columns (inputs) of the original [N, K] weight. */
  readonly n: number;
  readonly k: number;
  /** [N, K/blockSize, blockSize·bits/8] codes. */
  readonly codes: Uint8Array;
  /** [N · K/blockSize] float32. */
  readonly scales: Float32Array;
  /** 8 bits: one byte per block; 4 bits: two blocks per byte, low nibble first, ⌈blocks/2⌉ bytes per row. */
  readonly zeroPoints: Uint8Array;
}

/** The rules MatMulNBits puts on a weight, as one line naming it; undefined when it can be quantized. */
export function quantizationProblem(name: string, n: number, k: number, bits: number, blockSize: number): string | undefined {
  if (bits !== 4 && bits !== 8) return `${name}: ${bits}-bit quantization is not supported (4 or 8)`;
  if (!Number.isInteger(Math.log2(blockSize)) || blockSize < 16) return `${name}: block size ${blockSize} must be a power of two ≥ 16`;
  if (k % blockSize !== 0) return `${name}: its input size ${k} is not a multiple of the block size ${blockSize}`;
  if (n < 1) return `${name}: has no rows`;
  return undefined;
}

/** Quantizes a row-major [n, k] weight; `rows(r)` gives row r (so a caller can widen one row at a time). */
export function quantizeBlockwise(rows: (r: number) => ArrayLike<number>, n: number, k: number, bits: QuantBits, blockSize: number, name = "weight"): BlockQuantized {
  const problem = quantizationProblem(name, n, k, bits, blockSize);
  if (problem) throw new RangeError(problem);
  const blocks = k / blockSize;
  const levels = (1 << bits) - 1;
  const blobSize = (blockSize * bits) / 8;
  const codes = new Uint8Array(n * blocks * blobSize);
  const scales = new Float32Array(n * blocks);
  const zpRow = bits === 8 ? blocks : Math.ceil(blocks / 2);
  const zeroPoints = new Uint8Array(n * zpRow);
  for (let r = 0; r < n; r++) {
    const row = rows(r);
    if (row.length !== k) throw new RangeError(`${name}: row ${r} has ${row.length} values, expected ${k}`);
    for (let b = 0; b < blocks; b++) {
      const start = b * blockSize;
      let lo = 0;
      let hi = 0;
      let sum = 0; // NaN and ±Infinity reach the sum; comparisons would skip them
      for (let i = start; i < start + blockSize; i++) {
        const w = row[i]!;
        sum += w;
        if (w < lo) lo = w;
        else if (w > hi) hi = w;
      }
      if (!Number.isFinite(sum)) {
        const bad = Array.prototype.findIndex.call(row, (w: number, i: number) => i >= start && !Number.isFinite(w));
        throw new RangeError(`${name}: element [${r}, ${bad}] is ${row[bad]}; only finite weights can be quantized`);
      }
      // The scale is stored as float32; quantizing against that rounded value keeps the bound exact.
      const scale = Math.fround(hi > lo ? (hi - lo) / levels : 1);
      const zp = Math.min(levels, Math.max(0, Math.round(-lo / scale)));
      scales[r * blocks + b] = scale;
      if (bits === 8) zeroPoints[r * zpRow + b] = zp;
      else zeroPoints[r * zpRow + (b >> 1)]! |= zp << ((b & 1) * 4);
      const out = (r * blocks + b) * blobSize;
      for (let i = 0; i < blockSize; i++) {
        let q = Math.round(row[start + i]! / scale) + zp;
        if (q < 0) q = 0;
        else if (q > levels) q = levels;
        if (bits === 8) codes[out + i] = q;
        else codes[out + (i >> 1)]! |= q << ((i & 1) * 4);
      }
    }
  }
  return { bits, blockSize, n, k, codes, scales, zeroPoints };
}

/** Row r of the dequantized weight, (q − zp)·scale: what MatMulNBits multiplies by. */
export function dequantizeRow(q: BlockQuantized, r: number): Float32Array {
  const blocks = q.k / q.blockSize;
  const blobSize = (q.blockSize * q.bits) / 8;
  const zpRow = q.bits === 8 ? blocks : Math.ceil(blocks / 2);
  const out = new Float32Array(q.k);
  for (let b = 0; b < blocks; b++) {
    const scale = q.scales[r * blocks + b]!;
    const zp = q.bits === 8 ? q.zeroPoints[r * zpRow + b]! : (q.zeroPoints[r * zpRow + (b >> 1)]! >> ((b & 1) * 4)) & 15;
    const base = (r * blocks + b) * blobSize;
    for (let i = 0; i < q.blockSize; i++) {
      const code = q.bits === 8 ? q.codes[base + i]! : (q.codes[base + (i >> 1)]! >> ((i & 1) * 4)) & 15;
      out[b * q.blockSize + i] = (code - zp) * scale;
    }
  }
  return out;
}

/**
 * Symmetric int8 with one scale per output row of W: what perTokenInt8Linear multiplies by. Codes are stored
 * transposed, [K, N], as the u8s8 GEMM takes its B. Bound per element: |w − q·scale| ≤ scale/2, scale = max|w_row|/127.
 */
export interface ChannelQuantized {
  readonly n: number;
  readonly k: number;
  /** [K, N] int8 in −127…127. */
  readonly codes: Int8Array;
  /** [N] float32. */
  readonly scales: Float32Array;
}

export function quantizePerChannel(rows: (r: number) => ArrayLike<number>, n: number, k: number, name = "weight"): ChannelQuantized {
  if (n < 1 || k < 1) throw new RangeError(`${name}: [${n}, ${k}] has no elements to quantize`);
  const codes = new Int8Array(k * n);
  const scales = new Float32Array(n);
  for (let r = 0; r < n; r++) {
    const row = rows(r);
    if (row.length !== k) throw new RangeError(`${name}: row ${r} has ${row.length} values, expected ${k}`);
    let max = 0;
    let sum = 0; // NaN and ±Infinity reach the sum; comparisons would skip them
    for (let i = 0; i < k; i++) {
      const w = row[i]!;
      sum += w;
      const a = w < 0 ? -w : w;
      if (a > max) max = a;
    }
    if (!Number.isFinite(sum)) {
      const bad = Array.prototype.findIndex.call(row, (w: number) => !Number.isFinite(w));
      throw new RangeError(`${name}: element [${r}, ${bad}] is ${row[bad]}; only finite weights can be quantized`);
    }
    const scale = Math.fround(max > 0 ? max / 127 : 1);
    scales[r] = scale;
    for (let i = 0; i < k; i++) codes[i * n + r] = Math.max(-127, Math.min(127, Math.round(row[i]! / scale)));
  }
  return { n, k, codes, scales };
}
