// Matrix products. HF Linear weights are [out, in]: linear() uses FusedMatMul transB so ORT reads the weight in
// place; a Transpose of an initializer would be constant-folded into a second copy of every weight.
import { GraphBuildError, attrFloat, type Dim, type Value } from "../graph.js";
import { add, max2, mul } from "./elementwise.js";
import { constant } from "./creation.js";
import { reshape, shape } from "./shape.js";
import { OpCheck } from "./core.js";

const MATMUL_TYPES = ["float32", "float16", "bfloat16", "float64", "int32", "int64"] as const;

/** numpy matmul: [...,M,K]·[...,K,N] with batch broadcasting; 1-D operands get a dim added and removed. */
export function matmul(a: Value, b: Value): Value {
  const c = new OpCheck("MatMul", a.graph, [["a", a], ["b", b]]);
  c.dtype("a", a, MATMUL_TYPES);
  c.sameDtype([["a", a], ["b", b]]);
  if (a.rank === 0 || b.rank === 0) c.fail("operands must have rank ≥ 1");
  const shape = productShape(c, a.shape, b.shape, false, false);
  return c.emit1([a, b], {}, { dtype: a.dtype, shape });
}

function productShape(c: OpCheck, aShape: readonly Dim[], bShape: readonly Dim[], transA: boolean, transB: boolean): Dim[] {
  const a = aShape.length === 1 ? [1, aShape[0]!] : [...aShape];
  const b = bShape.length === 1 ? [bShape[0]!, 1] : [...bShape];
  const swap = (s: Dim[], t: boolean) => (t ? [...s.slice(0, -2), s[s.length - 1]!, s[s.length - 2]!] : s);
  const [x, y] = [swap(a, transA), swap(b, transB)];
  const m = x[x.length - 2]!;
  const k = x[x.length - 1]!;
  const k2 = y[y.length - 2]!;
  const n = y[y.length - 1]!;
  c.sameDim(`inner dims differ (a's K = ${k}, b's K = ${k2})`, k, k2);
  const batch = c.broadcast([["a batch dims", x.slice(0, -2)], ["b batch dims", y.slice(0, -2)]]);
  const out = [...batch, m, n];
  if (bShape.length === 1) out.pop();
  if (aShape.length === 1) out.splice(out.length - (bShape.length === 1 ? 1 : 2), 1);
  return out;
}

export interface GemmOptions {
  c?: Value;
  transA?: boolean;
  transB?: boolean;
  alpha?: number;
  beta?: number;
}

/** alpha·op(A)·op(B) + beta·C on 2-D operands. */
export function gemm(a: Value, b: Value, { c: bias, transA = false, transB = false, alpha = 1, beta = 1 }: GemmOptions = {}): Value {
  const c = new OpCheck("Gemm", a.graph, [["a", a], ["b", b], ["c", bias]]);
  c.dtype("a", a, MATMUL_TYPES);
  c.sameDtype([["a", a], ["b", b], ...(bias ? [["c", bias] as const] : [])]);
  c.rank("a", a, 2);
  c.rank("b", b, 2);
  const shape = productShape(c, a.shape, b.shape, transA, transB);
  if (bias) {
    const joined = c.broadcast([["op(A)·op(B)", shape], ["c", bias.shape]]);
    if (joined.length !== 2 || joined[0] !== shape[0] || joined[1] !== shape[1]) c.fail(`c must broadcast to [${shape.join(",")}]`);
  }
  const attrs = { transA: transA ? 1 : 0, transB: transB ? 1 : 0, alpha: attrFloat(alpha), beta: attrFloat(beta) };
  return c.emit1(bias ? [a, b, bias] : [a, b], attrs, { dtype: a.dtype, shape });
}

export interface FusedMatMulOptions {
  transA?: boolean;
  transB?: boolean;
  alpha?: number;
}

/** com.microsoft FusedMatMul: alpha·op(A)·op(B) on N-D operands (transposes swap the last two dims). */
export function fusedMatMul(a: Value, b: Value, { transA = false, transB = false, alpha = 1 }: FusedMatMulOptions = {}): Value {
  const c = new OpCheck("FusedMatMul", a.graph, [["a", a], ["b", b]]);
  c.dtype("a", a, ["float32", "float16", "bfloat16", "float64"]);
  c.sameDtype([["a", a], ["b", b]]);
  if ((transA && a.rank < 2) || (transB && b.rank < 2) || a.rank === 0 || b.rank === 0) {
    c.fail("operands must have rank ≥ 1, and rank ≥ 2 where transposed");
  }
  const shape = productShape(c, a.shape, b.shape, transA, transB);
  a.graph.useOpset("com.microsoft", 1);
  return c.emit1([a, b], { transA: transA ? 1 : 0, transB: transB ? 1 : 0, alpha: attrFloat(alpha) }, { dtype: a.dtype, shape }, "com.microsoft");
}

/** x·Wᵀ (+ bias) with W in HF layout [out, in]. */
export function linear(x: Value, weight: Value, bias?: Value): Value {
  const c = new OpCheck("FusedMatMul", x.graph, [["x", x], ["weight", weight], ["bias", bias]]);
  c.rank("weight", weight, 2);
  if (bias) {
    c.rank("bias", bias, 1);
    c.sameDim("bias length differs from weight's out dim", bias.shape[0]!, weight.shape[0]!);
  }
  const y = fusedMatMul(x, weight, { transB: true });
  return bias ? add(y, bias) : y;
}

export interface MatMulNBitsOptions {
  /** Outputs N and inputs K of the weight. */
  n: number;
  k: number;
  bits: 4 | 8;
  blockSize: number;
  /** ORT's accuracy_level: 0 = unset (fp32 compute), 4 = int8 compute (AVX-512 VNNI on x64). */
  accuracyLevel?: 0 | 1 | 2 | 3 | 4;
}

/**
 * com.microsoft MatMulNBits: x [..., K] · dequant(W)ᵀ → [..., N], W block-quantized along K as quantize.ts lays it
 * out (codes [N, K/block, block·bits/8] uint8, scales [N·K/block], zero points uint8).
 */
export function matMulNBits(x: Value, codes: Value, scales: Value, zeroPoints: Value, options: MatMulNBitsOptions): Value {
  const { n, k, bits, blockSize, accuracyLevel = 0 } = options;
  const c = new OpCheck("MatMulNBits", x.graph, [["x", x], ["codes", codes], ["scales", scales], ["zeroPoints", zeroPoints]]);
  c.dtype("x", x, ["float32", "float16"]);
  c.dtype("codes", codes, ["uint8"]);
  c.dtype("zeroPoints", zeroPoints, ["uint8"]);
  c.sameDtype([["x", x], ["scales", scales]]);
  if (x.rank < 2) c.fail("x must have rank ≥ 2");
  c.sameDim(`x's last dim differs from K = ${k}`, x.shape[x.rank - 1]!, k);
  const blocks = k / blockSize;
  const expected = [n, blocks, (blockSize * bits) / 8];
  if (codes.rank !== 3 || codes.shape.some((d, i) => d !== expected[i])) c.fail(`codes must be [${expected}], got [${codes.shape}]`);
  x.graph.useOpset("com.microsoft", 1);
  const attrs = { K: k, N: n, bits, block_size: blockSize, accuracy_level: accuracyLevel };
  return c.emit1([x, codes, scales, zeroPoints], attrs, { dtype: x.dtype, shape: [...x.shape.slice(0, -1), n] }, "com.microsoft");
}

/**
 * `value`, reshaped to its own dims through a shape that ORT can only know once `anchor` exists (its first dim, times
 * 0, joins a Max). Ops on the result therefore run at run time, when the anchor is computed: a Cast of a weight is
 * neither constant-folded into a widened copy at load nor scheduled before the layer that uses it (ORT orders nodes
 * with no inputs from the run first, so every widened weight would be alive at once). anchor's first dim must be
 * symbolic, or ORT folds the shape after all. Reshape aliases its input, so nothing is copied.
 */
export function deferUntil(value: Value, anchor: Value): Value {
  const dims = value.shape.map((d) => {
    if (typeof d !== "number") throw new GraphBuildError(`deferUntil: '${value.name}' must have static dims, got [${value.shape}]`);
    return d;
  });
  const own = constant(value.graph, dims, { dtype: "int64", dims: [dims.length] });
  const zero = mul(shape(anchor, { start: 0, end: 1 }), 0);
  return reshape(value, max2(own, zero));
}
