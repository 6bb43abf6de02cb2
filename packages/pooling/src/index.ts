export type {
  Embeddings,
  HiddenGradient,
  HiddenStates,
  MaskInput,
  MaskValue,
  MatrixInput,
  PoolingMode,
  PoolOptions,
  TensorLike,
} from "./types.js";
export { pool, poolBackward, rows, POOLING_MODES } from "./pool.js";
export { l2Normalize, l2NormalizeBackward, NORM_EPSILON } from "./normalize.js";
