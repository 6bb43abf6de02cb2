import { describe, expect, it } from "vitest";
import { pool, poolBackward, type PoolingMode } from "./index.js";

const hidden = { data: new Float32Array(2 * 3 * 2).fill(1), dims: [2, 3, 2] };
const mask = [
  [1, 1, 1],
  [0, 1, 1],
];

describe("pool errors", () => {
  it("rejects an empty embed mask, naming the row, instead of averaging padding", () => {
    expect(() => pool(hidden, mask, { embedMask: [[1, 1, 1], [1, 0, 0]] })).toThrow(
      "pool: row 1 has nothing to pool (attention mask AND embed mask select no token)",
    );
    expect(() => pool(hidden, [[1, 1, 1], [0, 0, 0]], { mode: "last_token" })).toThrow("row 1 has nothing to pool");
  });

  it("rejects the same empty row in the backward", () => {
    expect(() => poolBackward(hidden, [[0, 0, 0], [1, 1, 1]], [[1, 1], [1, 1]])).toThrow("row 0 has nothing to pool");
  });

  it("rejects malformed hidden states", () => {
    expect(() => pool({ data: new Float32Array(11), dims: [2, 3, 2] }, mask)).toThrow("data has 11 values but dims [2, 3, 2] need 12");
    expect(() => pool({ data: new Float32Array(6), dims: [2, 3] }, mask)).toThrow("dims must be [B, T, H]");
    expect(() => pool({ data: new Float32Array(12), dims: [2, 3, 2], type: "float16" }, mask)).toThrow('dtype "float16"');
    expect(() => pool({ data: new Uint16Array(12), dims: [2, 3, 2] }, mask)).toThrow("raw float16 bits");
    expect(() => pool({ data: new Int32Array(12), dims: [2, 3, 2] }, mask)).toThrow("expected Float32Array, Float64Array or number[] data, got Int32Array");
    expect(() => pool({ data: [1, 2, "3"], dims: [1, 1, 3] }, [[1]])).toThrow("hidden states: data[2] is string, expected a number");
  });

  it("rejects masks of the wrong shape or with values other than 0/1", () => {
    expect(() => pool(hidden, { data: new BigInt64Array(6), dims: [3, 2] })).toThrow(
      "attention mask: dims [3, 2] do not match the hidden states' [B, T] = [2, 3]",
    );
    expect(() => pool(hidden, [[1, 1, 1]])).toThrow("attention mask: has 1 rows, the hidden states have B = 2");
    expect(() => pool(hidden, [[1, 1], [1, 1]])).toThrow("attention mask: row 0 has 2 values, expected T = 3");
    expect(() => pool(hidden, Int32Array.from([1, 1, 1, 1]))).toThrow("flat mask has 4 values, expected B·T = 2·3 = 6");
    expect(() => pool(hidden, [[1, 1, 151643], [1, 1, 1]])).toThrow(
      "attention mask: value 151643 at [row 0, position 2] is not 0 or 1 (was input_ids passed as a mask?)",
    );
    expect(() => pool(hidden, mask, { embedMask: [[1, 1, 1], [1, 2, 1]] })).toThrow("embed mask: value 2 at [row 1, position 1]");
    expect(() => pool(hidden, { data: ["1", "1", "1", "1", "1", "1"], dims: [2, 3] })).toThrow('attention mask: value "1" at [row 0, position 0]');
  });

  it("rejects unknown modes with the list of known ones", () => {
    expect(() => pool(hidden, mask, { mode: "avg" as PoolingMode })).toThrow(
      'pool: unknown mode "avg"; expected one of mean, weighted_mean, last_token, eos_token, first_token, bos_token, cls, max',
    );
  });

  it("rejects a gradient whose shape does not match [B, H]", () => {
    expect(() => poolBackward(hidden, mask, { data: new Float32Array(6), dims: [2, 3] })).toThrow(
      "gradient: dims [2, 3] do not match the expected [B, H] = [2, 2]",
    );
    expect(() => poolBackward(hidden, mask, [new Float32Array(2)])).toThrow("gradient: has 1 rows, expected B = 2");
    expect(() => poolBackward(hidden, mask, [new Float32Array(2), new Float32Array(3)])).toThrow("gradient: row 1 has 3 values, expected H = 2");
  });
});
