/**
 * safetensors dtypes: element sizes, the typed array each one reads into, and float16/bfloat16 conversion.
 * Node 20 has no Float16Array, so F16 and BF16 tensors stay as their raw bits in a Uint16Array.
 */

/** dtypes dembed reads and writes. */
export const SUPPORTED_DTYPES = ["F64", "F32", "F16", "BF16", "I64", "U64", "I32", "U32", "I16", "U16", "I8", "U8", "BOOL"] as const;
export type SafetensorsDtype = (typeof SUPPORTED_DTYPES)[number];

/** dtypes the format defines that dembed recognizes but cannot compute with; they are rejected by name. */
const KNOWN_UNSUPPORTED = new Set(["F8_E4M3", "F8_E5M2", "F8_E8M0", "E8M0", "F6_E2M3", "F6_E3M2", "F4", "C64"]);

/** The typed array each dtype reads into (keyed like onnxruntime-common's DataTypeMap). */
export interface DtypeArrayMap {
  F64: Float64Array;
  F32: Float32Array;
  F16: Uint16Array;
  BF16: Uint16Array;
  I64: BigInt64Array;
  U64: BigUint64Array;
  I32: Int32Array;
  U32: Uint32Array;
  I16: Int16Array;
  U16: Uint16Array;
  I8: Int8Array;
  U8: Uint8Array;
  BOOL: Uint8Array;
}
export type TensorArray = DtypeArrayMap[SafetensorsDtype];

interface TypedArrayClass<A> {
  new (buffer: ArrayBuffer, byteOffset?: number, length?: number): A;
  readonly BYTES_PER_ELEMENT: number;
}

const ARRAY_CLASS = {
  F64: Float64Array,
  F32: Float32Array,
  F16: Uint16Array,
  BF16: Uint16Array,
  I64: BigInt64Array,
  U64: BigUint64Array,
  I32: Int32Array,
  U32: Uint32Array,
  I16: Int16Array,
  U16: Uint16Array,
  I8: Int8Array,
  U8: Uint8Array,
  BOOL: Uint8Array,
} satisfies { [D in SafetensorsDtype]: TypedArrayClass<DtypeArrayMap[D]> };

export function isSupportedDtype(dtype: string): dtype is SafetensorsDtype {
  return Object.hasOwn(ARRAY_CLASS, dtype);
}

/** Explains why a dtype string is not usable: known-but-unsupported, or not a safetensors dtype at all. */
export function describeUnsupportedDtype(dtype: string): string {
  const supported = SUPPORTED_DTYPES.join(", ");
  return KNOWN_UNSUPPORTED.has(dtype)
    ? `dtype ${dtype} is a safetensors dtype that dembed does not support (supported: ${supported})`
    : `unknown dtype ${JSON.stringify(dtype)} (supported: ${supported})`;
}

export function dtypeSize(dtype: SafetensorsDtype): number {
  return ARRAY_CLASS[dtype].BYTES_PER_ELEMENT;
}

export function arrayClassFor<D extends SafetensorsDtype>(dtype: D): TypedArrayClass<DtypeArrayMap[D]> {
  return ARRAY_CLASS[dtype] as unknown as TypedArrayClass<DtypeArrayMap[D]>;
}

// One shared scratch word: reinterpreting float bits through it is the fast path in V8.
const scratch = new ArrayBuffer(4);
const scratchF32 = new Float32Array(scratch);
const scratchU32 = new Uint32Array(scratch);

/** bfloat16 bits → float32: bf16 is the top half of an f32, so this is exact. */
export function bf16ToFloat32(bits: Uint16Array): Float32Array {
  const out = new Float32Array(bits.length);
  const outBits = new Uint32Array(out.buffer);
  for (let i = 0; i < bits.length; i++) outBits[i] = (bits[i] as number) << 16;
  return out;
}

/** float32 → bfloat16 bits, rounding to nearest even as torch does; NaN stays NaN. */
export function float32ToBf16(values: ArrayLike<number>): Uint16Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) {
    scratchF32[0] = values[i] as number;
    const x = scratchU32[0] as number;
    if ((x & 0x7fffffff) > 0x7f800000) {
      out[i] = (x >>> 16) | 0x40; // quiet NaN, sign kept
      continue;
    }
    out[i] = (x + 0x7fff + ((x >>> 16) & 1)) >>> 16;
  }
  return out;
}

/** IEEE half bits → float32, exact (subnormals, infinities and NaN included). */
export function f16ToFloat32(bits: Uint16Array): Float32Array {
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) {
    const h = bits[i] as number;
    const sign = h & 0x8000 ? -1 : 1;
    const exponent = (h >>> 10) & 0x1f;
    const mantissa = h & 0x3ff;
    if (exponent === 0) out[i] = sign * mantissa * 2 ** -24;
    else if (exponent === 0x1f) out[i] = mantissa ? NaN : sign * Infinity;
    else out[i] = sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
  }
  return out;
}

/** float32 → IEEE half bits, round to nearest even; overflow goes to ±Infinity, tiny values to subnormals/zero. */
export function float32ToF16(values: ArrayLike<number>): Uint16Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) {
    scratchF32[0] = values[i] as number;
    const x = scratchU32[0] as number;
    const sign = (x >>> 16) & 0x8000;
    const exponent = (x >>> 23) & 0xff;
    const mantissa = x & 0x7fffff;
    if (exponent === 0xff) {
      out[i] = sign | 0x7c00 | (mantissa ? 0x200 : 0);
      continue;
    }
    const e = exponent - 127 + 15;
    if (e >= 0x1f) {
      out[i] = sign | 0x7c00;
    } else if (e <= 0) {
      if (e < -10) {
        out[i] = sign;
        continue;
      }
      // Subnormal half: shift the mantissa (with its implicit 1) into place, rounding to nearest even.
      const m = mantissa | 0x800000;
      const shift = 14 - e;
      const half = 1 << (shift - 1);
      const rest = m & ((1 << shift) - 1);
      let h = m >>> shift;
      if (rest > half || (rest === half && h & 1)) h++;
      out[i] = sign | h;
    } else {
      let h = (e << 10) | (mantissa >>> 13);
      const rest = mantissa & 0x1fff;
      // A carry out of the mantissa correctly bumps the exponent (up to Infinity).
      if (rest > 0x1000 || (rest === 0x1000 && h & 1)) h++;
      out[i] = sign | h;
    }
  }
  return out;
}

/** Any floating tensor as float32 values: F16/BF16 decoded, F32 returned as is, F64 narrowed. */
export function toFloat32(dtype: SafetensorsDtype, data: TensorArray): Float32Array {
  switch (dtype) {
    case "F32":
      return data as Float32Array;
    case "F16":
      return f16ToFloat32(data as Uint16Array);
    case "BF16":
      return bf16ToFloat32(data as Uint16Array);
    case "F64":
      return Float32Array.from(data as Float64Array);
    default:
      throw new TypeError(`toFloat32: dtype ${dtype} is not a floating-point dtype`);
  }
}
