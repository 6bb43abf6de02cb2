// Plain typed tensors ({dtype, dims, data}) that cross the session boundary, plus the conversions between JS numbers
// and the storage of each dtype (fp16/bf16 are stored as their raw 16-bit patterns).
import { BYTES_PER_ELEMENT, type DataTypeMap, type DType, type TensorData } from "./graph.js";

export interface Tensor<D extends DType = DType> {
  readonly dtype: D;
  readonly dims: readonly number[];
  readonly data: DataTypeMap[D];
}

export const elementCount = (dims: readonly number[]): number => dims.reduce((a, b) => a * b, 1);

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** IEEE half from a JS number, round-to-nearest-even (so tests compare against what a real fp16 cast gives). */
export function toFloat16Bits(value: number): number {
  f32[0] = value;
  const x = u32[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    let r = mant >>> shift;
    const rest = mant & ((1 << shift) - 1);
    if (rest > half || (rest === half && (r & 1))) r++;
    return sign | r;
  }
  let r = (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (r & 1))) r++;
  return sign | r;
}

export function fromFloat16Bits(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

export function toBFloat16Bits(value: number): number {
  f32[0] = value;
  const x = u32[0]!;
  if ((x & 0x7f800000) === 0x7f800000 && x & 0x7fffff) return (x >>> 16) | 0x40;
  return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
}

export function fromBFloat16Bits(b: number): number {
  u32[0] = b << 16;
  return f32[0]!;
}

/** Typed storage for `dtype` from plain numbers (booleans as 0/1). */
export function typedArrayFrom<D extends DType>(dtype: D, values: ArrayLike<number>): DataTypeMap[D] {
  const n = values.length;
  const from = (i: number): number => values[i]!;
  let out: TensorData;
  switch (dtype) {
    case "float32": out = Float32Array.from({ length: n }, (_, i) => from(i)); break;
    case "float64": out = Float64Array.from({ length: n }, (_, i) => from(i)); break;
    case "float16": out = Uint16Array.from({ length: n }, (_, i) => toFloat16Bits(from(i))); break;
    case "bfloat16": out = Uint16Array.from({ length: n }, (_, i) => toBFloat16Bits(from(i))); break;
    case "int64": out = BigInt64Array.from({ length: n }, (_, i) => BigInt(Math.trunc(from(i)))); break;
    case "int32": out = Int32Array.from({ length: n }, (_, i) => from(i)); break;
    case "int8": out = Int8Array.from({ length: n }, (_, i) => from(i)); break;
    case "uint8": out = Uint8Array.from({ length: n }, (_, i) => from(i)); break;
    case "bool": out = Uint8Array.from({ length: n }, (_, i) => (from(i) ? 1 : 0)); break;
    default: throw new Error(`typedArrayFrom: unknown dtype '${String(dtype)}'`);
  }
  return out as DataTypeMap[D];
}

/** Element i of a tensor as a JS number (fp16/bf16 decoded, int64 narrowed). */
export function numberAt(dtype: DType, data: TensorData, i: number): number {
  const raw = data[i]!;
  if (dtype === "float16") return fromFloat16Bits(raw as number);
  if (dtype === "bfloat16") return fromBFloat16Bits(raw as number);
  return Number(raw);
}

export function toNumbers(t: Tensor): number[] {
  return Array.from({ length: t.data.length }, (_, i) => numberAt(t.dtype, t.data, i));
}

export function tensor<D extends DType>(dtype: D, dims: readonly number[], data: DataTypeMap[D] | ArrayLike<number>): Tensor<D> {
  const typed = isTypedFor(dtype, data) ? (data as DataTypeMap[D]) : typedArrayFrom(dtype, data as ArrayLike<number>);
  const count = elementCount(dims);
  if (typed.length !== count) {
    throw new Error(`tensor ${dtype}[${dims.join(",")}]: ${typed.length} elements given, expected ${count}`);
  }
  return { dtype, dims: [...dims], data: typed };
}

function isTypedFor(dtype: DType, data: unknown): boolean {
  switch (dtype) {
    case "float32": return data instanceof Float32Array;
    case "float64": return data instanceof Float64Array;
    case "float16": case "bfloat16": return data instanceof Uint16Array;
    case "int64": return data instanceof BigInt64Array;
    case "int32": return data instanceof Int32Array;
    case "int8": return data instanceof Int8Array;
    case "uint8": case "bool": return data instanceof Uint8Array;
  }
}

/** The little-endian bytes of a typed array, without copying. */
export const bytesOf = (data: TensorData): Uint8Array => new Uint8Array(data.buffer, data.byteOffset, data.byteLength);

export const byteLength = (dtype: DType, dims: readonly number[]): number => elementCount(dims) * BYTES_PER_ELEMENT[dtype];
