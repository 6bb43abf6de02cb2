import { describe, expectTypeOf, it } from "vitest";
import { pool, poolBackward, type Embeddings, type HiddenGradient, type HiddenStates, type MaskInput } from "./index.js";

/**
 * The shape of a generic onnxruntime-common `Tensor` (what `session.run()` returns), restated so the test needs
 * no ORT import: its data is typed as the union of every dtype's array, strings included.
 */
interface OrtLikeTensor {
  readonly data: Float32Array | Uint8Array | Int32Array | BigInt64Array | string[] | Uint16Array | Float64Array;
  readonly dims: readonly number[];
  readonly type: "float32" | "int64" | "string" | "float16";
}
interface OrtLikeInt64Tensor {
  readonly data: BigInt64Array;
  readonly dims: readonly number[];
  readonly type: "int64";
}

describe("public types", () => {
  it("accepts ORT-shaped tensors and returns the documented records", () => {
    expectTypeOf<OrtLikeTensor>().toExtend<HiddenStates>();
    expectTypeOf<OrtLikeInt64Tensor>().toExtend<MaskInput>();
    expectTypeOf<OrtLikeTensor>().toExtend<MaskInput>();
    expectTypeOf<number[][]>().toExtend<MaskInput>();
    expectTypeOf<boolean[][]>().toExtend<MaskInput>();
    expectTypeOf(pool).returns.toEqualTypeOf<Embeddings>();
    expectTypeOf(poolBackward).returns.toEqualTypeOf<HiddenGradient>();
  });

  it("rejects unknown modes and non-mask inputs at compile time", () => {
    const hidden = { data: new Float32Array(4), dims: [1, 2, 2] };
    // @ts-expect-error "avg" is not a pooling mode
    expectTypeOf(pool).toBeCallableWith(hidden, [[1, 1]], { mode: "avg" });
    // @ts-expect-error a string is not a mask
    expectTypeOf(pool).toBeCallableWith(hidden, "1 1");
    expectTypeOf(pool).toBeCallableWith(hidden, [[1, 1]], { mode: "cls", normalize: true });
  });
});
