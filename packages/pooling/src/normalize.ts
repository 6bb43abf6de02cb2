import { readMatrix } from "./inputs.js";
import type { Embeddings, MatrixInput } from "./types.js";

/** Same floor as torch.nn.functional.normalize, so near-zero rows scale the same way as in the reference. */
export const NORM_EPSILON = 1e-12;

/** In place on `out[offset .. offset+size)`: x / max(‖x‖, ε), reading from `x` (may alias `out`). */
export function normalizeRow(x: ArrayLike<number>, out: Float32Array | Float64Array, offset: number, size: number): number {
  let sum = 0;
  for (let h = 0; h < size; h++) sum += x[offset + h]! * x[offset + h]!;
  const norm = Math.max(Math.sqrt(sum), NORM_EPSILON);
  for (let h = 0; h < size; h++) out[offset + h] = x[offset + h]! / norm;
  return norm;
}

/**
 * dLoss/dx of y = x / max(‖x‖, ε) given g = dLoss/dy: (g − y·(y·g)) / ‖x‖ above the floor, g / ε below it
 * (where the floor makes y a constant multiple of x).
 */
export function normalizeRowBackward(
  x: ArrayLike<number>,
  grad: ArrayLike<number>,
  out: Float64Array,
  offset: number,
  size: number,
): void {
  let sum = 0;
  for (let h = 0; h < size; h++) sum += x[offset + h]! * x[offset + h]!;
  const norm = Math.sqrt(sum);
  if (norm <= NORM_EPSILON) {
    for (let h = 0; h < size; h++) out[offset + h] = grad[offset + h]! / NORM_EPSILON;
    return;
  }
  let dot = 0;
  for (let h = 0; h < size; h++) dot += (x[offset + h]! / norm) * grad[offset + h]!;
  for (let h = 0; h < size; h++) out[offset + h] = (grad[offset + h]! - (x[offset + h]! / norm) * dot) / norm;
}

function isSingleVector(input: unknown): input is ArrayLike<number> {
  return ArrayBuffer.isView(input) || (Array.isArray(input) && (input.length === 0 || typeof input[0] === "number"));
}

function matrixShape(input: MatrixInput): [number, number] {
  if ("dims" in input && "data" in input) {
    const [batch, size] = input.dims;
    if (input.dims.length !== 2 || batch === undefined || size === undefined) {
      throw new RangeError(`l2Normalize: dims must be [B, H], got [${input.dims.join(", ")}]`);
    }
    return [batch, size];
  }
  const rows = input as readonly ArrayLike<number>[];
  return [rows.length, rows[0]?.length ?? 0];
}

/** L2-normalizes one vector (returns a Float32Array) or each row of a `[B, H]` matrix (returns Embeddings). */
export function l2Normalize(vector: ArrayLike<number>): Float32Array;
export function l2Normalize(matrix: MatrixInput): Embeddings;
export function l2Normalize(input: ArrayLike<number> | MatrixInput): Float32Array | Embeddings {
  if (isSingleVector(input)) {
    const out = new Float32Array(input.length);
    normalizeRow(input, out, 0, input.length);
    return out;
  }
  const [batch, size] = matrixShape(input as MatrixInput);
  const data = readMatrix("l2Normalize input", input as MatrixInput, batch, size);
  const out = new Float32Array(batch * size);
  for (let b = 0; b < batch; b++) normalizeRow(data, out, b * size, size);
  return { data: out, dims: [batch, size] };
}

/** dLoss/dx for {@link l2Normalize} applied row-wise to `x` (`[B, H]`), given dLoss/dy in the same layout. */
export function l2NormalizeBackward(x: MatrixInput, gradOutput: MatrixInput): Embeddings {
  const [batch, size] = matrixShape(x);
  const xs = readMatrix("l2NormalizeBackward x", x, batch, size);
  const grad = readMatrix("l2NormalizeBackward gradOutput", gradOutput, batch, size);
  const out = new Float64Array(batch * size);
  for (let b = 0; b < batch; b++) normalizeRowBackward(xs, grad, out, b * size, size);
  return { data: Float32Array.from(out), dims: [batch, size] };
}
