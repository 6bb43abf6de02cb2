// The op set. Every function checks dtypes/shapes at build time (errors name the op, the node and the operands) and
// appends one node (silu and linear compose others). Deviations from the shared contract, all supersets:
// - reshape/expand take dims that may be symbolic names ("batch"), read at run time from a value that carries them.
// - slice's axes may also be a Value; gather's indices may be JS integers.
// - groupQueryAttention returns {output, presentKey, presentValue}; ORT's flash path needs the presents connected.
// - binary ops, where, clip, pow and range take JS numbers as scalar constants of the other operand's dtype.
// - constant's dtype/dims are optional; shapeOf(graph, dims) builds an int64 shape tensor; SLICE_END = "to the end".
export * from "./elementwise.js";
export * from "./matmul.js";
export * from "./reduce.js";
export * from "./shape.js";
export * from "./indexing.js";
export * from "./creation.js";
export * from "./nn.js";
export * from "./contrib.js";
export * from "./int8.js";
export * from "./control.js";
export type { Operand } from "./core.js";
export { isUnknown } from "./dims.js";
export { known as knownContents } from "./known.js";

/** Every node type the op functions emit (Graph.output adds Identity): the autodiff keys its rule table on it. */
export const OP_TYPES = [
  "Add", "Sub", "Mul", "Div", "Pow", "Neg", "Abs", "Exp", "Log", "Sqrt", "Reciprocal", "Tanh", "Sigmoid", "Relu", "Erf",
  "Not", "Cast", "Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual", "And", "Or", "Where", "Max", "Min", "Clip",
  "MatMul", "Gemm", "FusedMatMul",
  "ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "Softmax", "LogSoftmax",
  "Reshape", "Transpose", "Squeeze", "Unsqueeze", "Slice", "Concat", "Split", "Expand", "Pad", "Shape", "Size", "Identity",
  "Gather", "GatherElements", "ScatterND", "ScatterElements", "CumSum", "Trilu",
  "Constant", "Range", "ConstantOfShape",
  "Attention", "RMSNormalization", "RotaryEmbedding",
  "MultiHeadAttention", "GroupQueryAttention", "MatMulNBits", "QuantizeLinear", "MatMulIntegerToFloat", "Scan",
] as const;
export type OpType = (typeof OP_TYPES)[number];
