import type { HiddenStates, MaskInput, MaskValue, MatrixInput } from "./types.js";

/** Hidden states after validation: plain numbers, with named sizes. */
export interface CheckedHidden {
  readonly data: ArrayLike<number>;
  readonly batch: number;
  readonly tokens: number;
  readonly hidden: number;
}

const FLOAT_TYPES = new Set(["float32", "float64"]);

function isSize(n: unknown): n is number {
  return typeof n === "number" && Number.isInteger(n) && n >= 0;
}

function floatData(data: HiddenStates["data"]): ArrayLike<number> {
  if (data instanceof Float32Array || data instanceof Float64Array) return data;
  // ORT and transformers.js hand fp16 tensors over as raw Uint16Array bits, which would read as garbage numbers.
  if (data instanceof Uint16Array) {
    throw new TypeError("hidden states: data is a Uint16Array (raw float16 bits?); convert to float32 first");
  }
  if (Array.isArray(data)) {
    const bad = data.findIndex((v) => typeof v !== "number");
    if (bad >= 0) throw new TypeError(`hidden states: data[${bad}] is ${typeof data[bad]}, expected a number`);
    return data as number[];
  }
  throw new TypeError(`hidden states: expected Float32Array, Float64Array or number[] data, got ${data.constructor?.name ?? typeof data}`);
}

export function checkHidden(hidden: HiddenStates): CheckedHidden {
  if (hidden === null || typeof hidden !== "object" || !("data" in hidden) || !("dims" in hidden)) {
    throw new TypeError("hidden states: expected a { data, dims: [B, T, H] } object (a tensor)");
  }
  const { dims, type } = hidden;
  if (type !== undefined && !FLOAT_TYPES.has(type)) {
    throw new TypeError(`hidden states: dtype "${type}" is not supported; convert to float32 first`);
  }
  const data = floatData(hidden.data);
  if (dims.length !== 3 || !dims.every(isSize)) {
    throw new RangeError(`hidden states: dims must be [B, T, H] of non-negative integers, got [${dims.join(", ")}]`);
  }
  const [batch, tokens, size] = dims as [number, number, number];
  if (data.length !== batch * tokens * size) {
    throw new RangeError(
      `hidden states: data has ${data.length} values but dims [${batch}, ${tokens}, ${size}] need ${batch * tokens * size}`,
    );
  }
  return { data, batch, tokens, hidden: size };
}

function maskBit(name: string, value: MaskValue | string | undefined, row: number, position: number): 0 | 1 {
  if (value === 1 || value === true || value === 1n) return 1;
  if (value === 0 || value === false || value === 0n) return 0;
  const shown = typeof value === "string" ? JSON.stringify(value) : String(value);
  throw new RangeError(
    `${name}: value ${shown} at [row ${row}, position ${position}] is not 0 or 1 (was input_ids passed as a mask?)`,
  );
}

function isArrayLike(value: unknown): value is ArrayLike<unknown> {
  return typeof value === "object" && value !== null && typeof (value as { length?: unknown }).length === "number";
}

/** Reads any {@link MaskInput} form into a flat `[B, T]` byte mask, checking shape and 0/1 values. */
export function readMask(name: string, mask: MaskInput, batch: number, tokens: number): Uint8Array {
  if (mask === null || typeof mask !== "object") throw new TypeError(`${name}: expected a [B, T] mask, got ${String(mask)}`);
  const out = new Uint8Array(batch * tokens);
  if ("dims" in mask && "data" in mask) {
    const dims = mask.dims;
    if (dims.length !== 2 || dims[0] !== batch || dims[1] !== tokens) {
      throw new RangeError(`${name}: dims [${dims.join(", ")}] do not match the hidden states' [B, T] = [${batch}, ${tokens}]`);
    }
    if (mask.data.length !== batch * tokens) {
      throw new RangeError(`${name}: data has ${mask.data.length} values, dims [${batch}, ${tokens}] need ${batch * tokens}`);
    }
    for (let i = 0; i < out.length; i++) out[i] = maskBit(name, mask.data[i], Math.floor(i / tokens), i % tokens);
    return out;
  }
  if (!isArrayLike(mask)) throw new TypeError(`${name}: expected a [B, T] mask (tensor, nested rows or flat array)`);
  if (mask.length > 0 && isArrayLike(mask[0])) {
    const rows = mask as ArrayLike<ArrayLike<MaskValue>>;
    if (rows.length !== batch) throw new RangeError(`${name}: has ${rows.length} rows, the hidden states have B = ${batch}`);
    for (let b = 0; b < batch; b++) {
      const row = rows[b];
      if (!isArrayLike(row) || row.length !== tokens) {
        throw new RangeError(`${name}: row ${b} has ${isArrayLike(row) ? row.length : "no"} values, expected T = ${tokens}`);
      }
      for (let t = 0; t < tokens; t++) out[b * tokens + t] = maskBit(name, row[t], b, t);
    }
    return out;
  }
  const flat = mask as ArrayLike<MaskValue>;
  if (flat.length !== batch * tokens) {
    throw new RangeError(`${name}: flat mask has ${flat.length} values, expected B·T = ${batch}·${tokens} = ${batch * tokens}`);
  }
  for (let i = 0; i < out.length; i++) out[i] = maskBit(name, flat[i], Math.floor(i / tokens), i % tokens);
  return out;
}

/**
 * Positions to pool for each row (attention ∧ embed mask), in position order. An empty row throws: averaging
 * padding instead (the reference's fallback) would give an embedding that depends on the batch it sits in.
 */
export function pooledPositions(attention: Uint8Array, embed: Uint8Array | undefined, batch: number, tokens: number): Int32Array[] {
  const rows: Int32Array[] = [];
  for (let b = 0; b < batch; b++) {
    let count = 0;
    for (let t = 0; t < tokens; t++) {
      const i = b * tokens + t;
      if (attention[i] && (!embed || embed[i])) count++;
    }
    if (count === 0) {
      const why = embed ? "attention mask AND embed mask select no token" : "attention mask selects no token";
      throw new RangeError(`pool: row ${b} has nothing to pool (${why})`);
    }
    const positions = new Int32Array(count);
    let k = 0;
    for (let t = 0; t < tokens; t++) {
      const i = b * tokens + t;
      if (attention[i] && (!embed || embed[i])) positions[k++] = t;
    }
    rows.push(positions);
  }
  return rows;
}

/** Reads a `[B, H]` matrix given as a tensor-like record or as one array per row. */
export function readMatrix(name: string, input: MatrixInput, batch: number, size: number): ArrayLike<number> {
  if (input !== null && typeof input === "object" && "dims" in input && "data" in input) {
    const { dims, data } = input;
    if (dims.length !== 2 || dims[0] !== batch || dims[1] !== size) {
      throw new RangeError(`${name}: dims [${dims.join(", ")}] do not match the expected [B, H] = [${batch}, ${size}]`);
    }
    if (data.length !== batch * size) {
      throw new RangeError(`${name}: data has ${data.length} values, dims [${batch}, ${size}] need ${batch * size}`);
    }
    return data;
  }
  if (!Array.isArray(input)) throw new TypeError(`${name}: expected { data, dims: [B, H] } or an array of rows`);
  const rows = input as readonly ArrayLike<number>[];
  if (rows.length !== batch) throw new RangeError(`${name}: has ${rows.length} rows, expected B = ${batch}`);
  const out = new Float64Array(batch * size);
  rows.forEach((row, b) => {
    if (!isArrayLike(row) || row.length !== size) {
      throw new RangeError(`${name}: row ${b} has ${isArrayLike(row) ? row.length : "no"} values, expected H = ${size}`);
    }
    for (let h = 0; h < size; h++) out[b * size + h] = row[h]!;
  });
  return out;
}
