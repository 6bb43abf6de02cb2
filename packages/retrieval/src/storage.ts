/**
 * How corpus vectors are kept on disk: fp32 as computed, fp16 (half the bytes) or int8 with one fp32 scale per row
 * (a quarter). Scores are still computed in fp32 from the widened values; what narrower storage costs is the rounding
 * of each stored value, bounded below per vector.
 */
export type VectorStorage = "f32" | "f16" | "int8";
export const VECTOR_STORAGES: readonly VectorStorage[] = ["f32", "f16", "int8"];

/** The largest finite fp16 value; anything that rounds beyond it would be stored as Infinity. */
export const F16_MAX = 65504;

const word = new Float32Array(1);
const wordBits = new Uint32Array(word.buffer);

/** IEEE binary16 bits of `x`, rounded to nearest, ties to even (as a hardware conversion does). */
export function toF16Bits(x: number): number {
  word[0] = x;
  return f16FromF32Bits(wordBits[0] as number);
}

/** toF16Bits from the float32's bits: encodeRows reads rows through an integer view, with no float round trip. */
function f16FromF32Bits(bits: number): number {
  const sign = (bits >>> 16) & 0x8000;
  const exponent = (bits >>> 23) & 0xff;
  const mantissa = bits & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa ? 0x200 : 0);
  const e = exponent - 112; // rebias 127 → 15
  if (e >= 0x1f) return sign | 0x7c00;
  // Normal halves drop 13 mantissa bits; subnormal ones (e ≤ 0) shift the implicit 1 in and drop more.
  const full = e > 0 ? mantissa : mantissa | 0x800000;
  const shift = e > 0 ? 13 : 14 - e;
  if (shift > 24) return sign;
  const kept = e > 0 ? (e << 10) | (full >>> shift) : full >>> shift;
  const rest = full & ((1 << shift) - 1);
  const half = 1 << (shift - 1);
  // A carry out of the mantissa lands in the exponent, which is the correctly rounded result (up to Infinity).
  return sign | (kept + (rest > half || (rest === half && (kept & 1) === 1) ? 1 : 0));
}

let f16Table: Float32Array | undefined;

/** The value of binary16 bits (a 65,536-entry table, built on first use). */
export function fromF16Bits(bits: number): number {
  return (f16Table ??= buildF16Table())[bits & 0xffff] as number;
}

function buildF16Table(): Float32Array {
  const table = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const e = (h >>> 10) & 0x1f;
    const m = h & 0x3ff;
    table[h] = e === 0 ? sign * m * 2 ** -24 : e === 0x1f ? (m ? NaN : sign * Infinity) : sign * (1 + m / 1024) * 2 ** (e - 15);
  }
  return table;
}

/** Rows encoded for storage: `values` holds rows × dim codes; int8 adds one scale per row (value = code × scale). */
export type EncodedRows =
  | { storage: "f32"; values: Float32Array }
  | { storage: "f16"; values: Uint16Array }
  | { storage: "int8"; values: Int8Array; scales: Float32Array };

/**
 * Encodes rows of one width. fp32 keeps whatever it is given. For f16 and int8, a non-finite value, or one beyond
 * fp16's range, is an error naming the row (by `names`, when given) and the index: int8 cannot hold it, and an
 * Infinity would make every score of the document ±Infinity or NaN.
 */
export function encodeRows(rows: readonly Float32Array[], storage: VectorStorage, names?: readonly string[]): EncodedRows {
  const dim = rows[0]?.length ?? 0;
  const what = (r: number) => (names?.[r] !== undefined ? `vector ${names[r]}` : `row ${r}`);
  rows.forEach((row, r) => {
    if (row.length !== dim) throw new Error(`vector storage: ${what(r)} has ${row.length} dims, the first has ${dim}`);
    const bad = storage === "f32" ? -1 : firstUnstorable(row, storage === "f16" ? F16_MAX + 16 : Infinity);
    if (bad >= 0) {
      const limit = storage === "f16" ? ` (f16 holds at most ±${F16_MAX}; store these vectors as f32 or int8)` : "";
      throw new Error(`vector storage: ${what(r)} has ${row[bad]} at index ${bad}${limit}`);
    }
  });
  if (storage === "f32") {
    const values = new Float32Array(rows.length * dim);
    rows.forEach((row, r) => values.set(row, r * dim));
    return { storage, values };
  }
  if (storage === "f16") {
    const values = new Uint16Array(rows.length * dim);
    rows.forEach((row, r) => {
      const bits = new Uint32Array(row.buffer, row.byteOffset, dim);
      for (let d = 0; d < dim; d++) values[r * dim + d] = f16FromF32Bits(bits[d] as number);
    });
    return { storage, values };
  }
  if (storage !== "int8") throw new Error(`vector storage: expected one of ${VECTOR_STORAGES.join(", ")}, got ${JSON.stringify(storage)}`);
  const values = new Int8Array(rows.length * dim);
  const scales = new Float32Array(rows.length);
  rows.forEach((row, r) => {
    let max = 0;
    for (let d = 0; d < dim; d++) max = Math.max(max, Math.abs(row[d] as number));
    // Symmetric, per row: the largest magnitude maps to ±127, so every value is within scale/2 of its code's.
    const scale = Math.fround(max / 127);
    scales[r] = scale;
    if (scale === 0) return;
    for (let d = 0; d < dim; d++) values[r * dim + d] = Math.max(-127, Math.min(127, Math.round((row[d] as number) / scale)));
  });
  return { storage, values, scales };
}

/** The index of the first value that is NaN or of magnitude ≥ `limit` (≤ Infinity); −1 when there is none. */
function firstUnstorable(row: Float32Array, limit: number): number {
  for (let d = 0; d < row.length; d++) {
    if (!(Math.abs(row[d] as number) < limit)) return d; // NaN fails the comparison too
  }
  return -1;
}

/** Row `row` widened to fp32 into `out` (dim long). */
export function decodeRow(encoded: EncodedRows, row: number, out: Float32Array): Float32Array {
  const dim = out.length;
  const off = row * dim;
  if (encoded.storage === "f32") {
    out.set(encoded.values.subarray(off, off + dim));
  } else if (encoded.storage === "f16") {
    const table = (f16Table ??= buildF16Table());
    for (let d = 0; d < dim; d++) out[d] = table[encoded.values[off + d] as number] as number;
  } else {
    const scale = encoded.scales[row] as number;
    for (let d = 0; d < dim; d++) out[d] = (encoded.values[off + d] as number) * scale;
  }
  return out;
}

/** What `vector` reads back as once stored: itself for f32, the widened rounding otherwise. `name` goes into errors. */
export function storedVector(vector: Float32Array, storage: VectorStorage, name?: string): Float32Array {
  if (storage === "f32") return vector;
  return decodeRow(encodeRows([vector], storage, name === undefined ? undefined : [name]), 0, new Float32Array(vector.length));
}

/**
 * A bound on ‖stored − v‖ / ‖v‖ for one vector. The cosine of any query with the stored vector is then within twice
 * this of its cosine with `v`; a raw dot product is within this times ‖q‖·‖v‖.
 * - f16: every normal value is within 2⁻¹¹ of itself, relatively; values below 2⁻¹⁴ (subnormal) within 2⁻²⁵ absolutely.
 * - int8: every value within scale/2 = max|v|/254, so the bound is √dim · max|v| / (254 · ‖v‖): about 4/254 for a
 *   vector whose largest entry is 4 standard deviations out, and larger for a vector with one dominant entry.
 */
export function storageErrorBound(vector: Float32Array, storage: VectorStorage): number {
  if (storage === "f32") return 0;
  let norm = 0;
  let max = 0;
  for (const x of vector) {
    norm += x * x;
    max = Math.max(max, Math.abs(x));
  }
  norm = Math.sqrt(norm);
  if (norm === 0) return 0;
  const dim = vector.length;
  if (storage === "f16") return 2 ** -11 + (Math.sqrt(dim) * 2 ** -25) / norm;
  // The scale and each code × scale product are rounded to fp32 too: a relative 2⁻²⁴ each, covered with room.
  return ((Math.sqrt(dim) * max) / (254 * norm)) * (1 + 2 ** -20) + 2 ** -22;
}
