import { describe, expect, it } from "vitest";
import { batchFromRows, equalLengthGroups, packRight, rowSpans, unpackRows, validateBatch } from "./batch.js";

describe("input batches", () => {
  const batch = batchFromRows(
    [
      [0, 0, 7, 8, 9],
      [1, 2, 3, 4, 5],
      [6, 7, 0, 0, 0],
      [0, 0, 0, 0, 0],
    ],
    [
      [0, 0, 1, 1, 1],
      [1, 1, 1, 1, 1],
      [1, 1, 0, 0, 0],
      [0, 0, 0, 0, 0],
    ],
  );

  it("finds each row's run of real tokens, whichever side is padded", () => {
    expect(rowSpans(batch)).toEqual([
      { row: 0, start: 2, length: 3 },
      { row: 1, start: 0, length: 5 },
      { row: 2, start: 0, length: 2 },
      { row: 3, start: 0, length: 0 },
    ]);
    expect(rowSpans(batchFromRows([[1, 2, 3]], [[1, 0, 1]]))).toBeUndefined();
  });

  it("packs rows to the right and scatters outputs back where they came from", () => {
    const spans = rowSpans(batch)!;
    const packed = packRight(batch, [spans[0]!, spans[2]!]);
    expect(packed.dims).toEqual([2, 3]);
    expect([...packed.inputIds]).toEqual([7n, 8n, 9n, 6n, 7n, 0n]);
    expect([...packed.attentionMask]).toEqual([1n, 1n, 1n, 1n, 1n, 0n]);
    // hidden = 1: the packed "output" is the token id, so the scatter must land each id at its original place.
    const out = new Float32Array(4 * 5);
    unpackRows(Float32Array.from(packed.inputIds, Number), 3, [spans[0]!, spans[2]!], out, 5, 1);
    expect([...out.subarray(0, 5)]).toEqual([0, 0, 7, 8, 9]);
    expect([...out.subarray(10, 15)]).toEqual([6, 7, 0, 0, 0]);
  });

  it("groups rows of equal length, longest first, skipping empty rows", () => {
    const spans = rowSpans(batchFromRows([[1, 2], [3, 0], [4, 5], [0, 0]], [[1, 1], [1, 0], [1, 1], [0, 0]]))!;
    expect(equalLengthGroups(spans).map((g) => g.map((s) => s.row))).toEqual([[0, 2], [1]]);
  });

  it("rejects bad inputs with the row and column", () => {
    expect(() => validateBatch(batch, 9, "in.json")).toThrow(/in.json: input_ids\[0\]\[4\] is 9, outside the model's vocabulary 0..8/);
    expect(() => validateBatch(batchFromRows([[1]], [[2]]), 10)).toThrow(/attention_mask\[0\]\[0\] is 2; expected 0 or 1/);
    expect(() => validateBatch(batchFromRows([], []), 10)).toThrow(/empty input/);
    expect(() => batchFromRows([[1, 2], [3]], [[1, 1], [1]])).toThrow(/row 1 has 1 ids and 1 mask values; every row needs 2/);
    expect(() => validateBatch(batch, 10)).not.toThrow();
  });
});
