// int8 activations × int8 weights: the u8s8 GEMM MLAS runs on AVX-512 VNNI, with one activation scale per row
// (token) computed at run time and one weight scale per output column.
import type { Value } from "../graph.js";
import { add, cast, div, max2, mul, neg } from "./elementwise.js";
import { reduceMax, reduceMin } from "./reduce.js";
import { OpCheck, scalar } from "./core.js";

/**
 * ONNX QuantizeLinear: saturate(round_half_even(x / scale) + zeroPoint). Per tensor (scalar scale and zeroPoint), or
 * blocked (opset 21): scale and zeroPoint have x's shape with dim `axis` divided by `blockSize`, one pair per block.
 */
export function quantizeLinear(x: Value, scale: Value, zeroPoint: Value, blocked?: { axis: number; blockSize: number }): Value {
  const c = new OpCheck("QuantizeLinear", x.graph, [["x", x], ["scale", scale], ["zeroPoint", zeroPoint]]);
  c.dtype("x", x, ["float32", "float16"]);
  c.sameDtype([["x", x], ["scale", scale]]);
  c.dtype("zeroPoint", zeroPoint, ["uint8", "int8"]);
  if (!blocked) {
    c.rank("scale", scale, 0);
    c.rank("zeroPoint", zeroPoint, 0);
    return c.emit1([x, scale, zeroPoint], {}, { dtype: zeroPoint.dtype, shape: x.shape });
  }
  const at = c.axis(blocked.axis, x.rank);
  c.rank("scale", scale, x.rank);
  c.rank("zeroPoint", zeroPoint, x.rank);
  const size = x.shape[at];
  if (typeof size === "number" && size % blocked.blockSize !== 0) c.fail(`x's dim ${at} (${size}) is not a multiple of the block size ${blocked.blockSize}`);
  if (typeof size === "number" && scale.shape[at] !== size / blocked.blockSize) c.fail(`scale's dim ${at} must be ${size / blocked.blockSize}, got ${scale.shape[at]}`);
  return c.emit1([x, scale, zeroPoint], { axis: at, block_size: blocked.blockSize }, { dtype: zeroPoint.dtype, shape: x.shape });
}

/**
 * com.microsoft MatMulIntegerToFloat: (a − aZeroPoint)·b, scaled by aScale · bScale (broadcast against the [..., N]
 * product, so aScale [..., M, 1] is one scale per row), in float32. a [..., M, K] uint8, b [K, N] int8, bScale [N].
 */
export function matMulIntegerToFloat(a: Value, b: Value, aScale: Value, bScale: Value, aZeroPoint: Value): Value {
  const c = new OpCheck("MatMulIntegerToFloat", a.graph, [["a", a], ["b", b], ["aScale", aScale], ["bScale", bScale], ["aZeroPoint", aZeroPoint]]);
  c.dtype("a", a, ["uint8"]);
  c.dtype("b", b, ["int8"]);
  c.dtype("aZeroPoint", aZeroPoint, ["uint8"]);
  c.dtype("aScale", aScale, ["float32"]);
  c.sameDtype([["aScale", aScale], ["bScale", bScale]]);
  c.rank("b", b, 2);
  c.rank("bScale", bScale, 1);
  if (a.rank < 2) c.fail("a must have rank ≥ 2");
  if (aScale.rank !== a.rank || aScale.shape[a.rank - 1] !== 1) c.fail(`aScale must be a's shape with a last dim of 1, got [${aScale.shape}]`);
  c.sameDim("a's last dim differs from b's rows", a.shape[a.rank - 1]!, b.shape[0]!);
  c.sameDim("bScale's length differs from b's columns", bScale.shape[0]!, b.shape[1]!);
  a.graph.useOpset("com.microsoft", 1);
  return c.emit1([a, b, aScale, bScale, aZeroPoint], {}, { dtype: "float32", shape: [...a.shape.slice(0, -1), b.shape[1]!] }, "com.microsoft");
}

/**
 * x [..., K] · W with W as `quantizePerChannel` lays it out (codes [K, N] int8, scales [N]): each row of x is
 * quantized to uint8 around 128 with its own scale max|x_row| / 127, so one large token does not coarsen the others.
 * Channel outliers (a few columns of x far larger in every row) do coarsen their rows: use this where the input comes
 * from a product rather than a norm (see @dembed/models' README, "int8 kernels").
 */
export function perTokenInt8Linear(x: Value, codes: Value, scales: Value): Value {
  const c = new OpCheck("perTokenInt8Linear", x.graph, [["x", x], ["codes", codes], ["scales", scales]]);
  c.dtype("x", x, ["float32"]);
  c.rank("codes", codes, 2);
  const k = codes.shape[0] as number;
  const last = x.rank - 1;
  // max|x| per row from two reductions, so no [rows, K] temporary is written (Abs would write one: 0.3 GB for 4096
  // tokens of a 7B MLP); the floor keeps an all-zero row (padding) finite: its codes are all 128, its products 0.
  const rowMax = max2(reduceMax(x, [last]), neg(reduceMin(x, [last])));
  const rowScale = div(max2(rowMax, 1e-30), 127);
  // One block per row: QuantizeLinear divides by the row's scale as it rounds, with no scaled copy of x. Blocked
  // quantization wants a zero point of the scale's shape; 0·scale + 128 is that without shape ops.
  const zeroPoints = cast(add(mul(rowScale, 0), 128), "uint8");
  const codesOfX = quantizeLinear(x, rowScale, zeroPoints, { axis: last, blockSize: k });
  return matMulIntegerToFloat(codesOfX, codes, rowScale, scales, scalar(x.graph, 128, "uint8"));
}
