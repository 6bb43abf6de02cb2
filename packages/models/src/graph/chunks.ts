// Long inputs: the MLP's [B·T, intermediate] activations are the largest tensors of a layer (3 × 637 MB at 32k
// tokens for a 0.5B model), so the MLP runs over chunks of the batch's tokens, one after another, and only one
// chunk's activations are alive at a time (probed: 2.2 GB → 0.46 GB).
// The chunks are the iterations of one ONNX Scan, not copies of the MLP unrolled into the graph: ORT pre-packs a
// weight once per node that reads it, so 8 unrolled chunks packed every MLP weight 8 times (the Qwen2-0.5B shape's
// fp32 session took 5.4–5.9 s to be ready instead of 2.4–3.3 s; packages/onnx/README.md).
import { add, concat, constant, div, max2, min2, mul, pad, reshape, scan, shape, slice, sub, type Value } from "@dembed/onnx";

/**
 * At most this many chunks per MLP, of at most MLP_CHUNK_TOKENS rows each until B·T needs more chunks (a batch of 32k
 * tokens runs in 8 chunks of 4096 rows). 1024 rather than 4096: on the 7B shape at 1 × 8192, int8 peaked at 9.67 GiB instead of
 * 10.26, and was not slower (big-model.ts --mlp-chunk, back to back; packages/models/README.md).
 */
export const MLP_CHUNKS = 8;
export const MLP_CHUNK_TOKENS = 1024;

/** Chunks for `tokens` rows: N = min(maxChunks, ⌈tokens / C⌉), at least 1. */
const chunkCount = (tokens: number, chunkTokens: number, maxChunks: number): number =>
  Math.min(maxChunks, Math.max(1, Math.ceil(tokens / chunkTokens)));

/** Rows in each MLP chunk of a batch of `tokens` = B·T tokens (⌈tokens / N⌉): what inTokenChunks cuts. */
export function mlpChunkLength(tokens: number, chunkTokens = MLP_CHUNK_TOKENS, maxChunks = MLP_CHUNKS): number {
  return chunkTokens > 0 ? Math.ceil(tokens / chunkCount(tokens, chunkTokens, maxChunks)) : tokens;
}

/**
 * Applies `block` (token-wise: row r of its output depends on row r of its input only) to the B·T rows of `x`
 * [B, T, H], as one list of rows, in N equal chunks of S = ⌈B·T / N⌉ rows, N = min(maxChunks, max(1, ⌈B·T /
 * chunkTokens⌉)). The last chunk is padded with N·S − B·T (< N) rows of zeros, which are cut off again. Rows, not
 * sequences, so a batch of many short inputs is bounded too, and the chunks are axis 0 (Scan transposes nothing).
 */
export function inTokenChunks(x: Value, chunkTokens: number, maxChunks: number, block: (chunk: Value) => Value): Value {
  const graph = x.graph;
  const int64 = (n: number) => constant(graph, [n], { dtype: "int64", dims: [1] });
  const width = x.shape[2]!;
  const rows = reshape(x, [-1, width]); // [B·T, H]
  const tokens = shape(rows, { end: 1 }); // [1] int64: B·T
  const count = min2(int64(maxChunks), max2(int64(1), div(add(tokens, chunkTokens - 1), chunkTokens)));
  const size = div(add(tokens, sub(count, int64(1))), count);
  const padded = pad(rows, concat([int64(0), int64(0), sub(mul(count, size), tokens), int64(0)], 0));
  const grouped = reshape(padded, concat([count, size, int64(-1)], 0)); // [N, S, H]
  // The reshape only names the chunk's width for the block's shape checks ([S, H]; S stays unknown).
  const [stacked] = scan([grouped], (chunk) => [block(reshape(chunk, [-1, width]))]); // [N, S, H']
  const out = reshape(stacked!, concat([int64(-1), shape(stacked!, { start: 2 })], 0)); // [N·S, H']
  return reshape(slice(out, { starts: int64(0), ends: tokens, axes: [0] }), shape(x)); // [B, T, H]
}
