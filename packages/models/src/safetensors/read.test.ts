import { mkdtemp, open, readFile, rm, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dtypeSize, float32ToBf16 } from "./dtypes.js";
import { MAX_HEADER_BYTES, openSafetensors } from "./read.js";
import { writeSafetensors, type TensorToWrite } from "./write.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "dembed-st-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A file with the given header (object or raw text) and data block; `declared` overrides the length prefix. */
async function rawFile(name: string, header: unknown, data = new Uint8Array(0), declared?: bigint): Promise<string> {
  const text = Buffer.isBuffer(header) ? header : Buffer.from(typeof header === "string" ? header : JSON.stringify(header));
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(declared ?? BigInt(text.length));
  const path = join(dir, name);
  await writeFile(path, Buffer.concat([prefix, text, data]));
  return path;
}

const f32 = (shape: number[], begin: number, end: number) => ({ dtype: "F32", shape, data_offsets: [begin, end] });

describe("writeSafetensors + openSafetensors", () => {
  const tensors: Record<string, TensorToWrite> = {
    "b.f32": { dtype: "F32", shape: [2, 3], data: Float32Array.of(1, 2, 3, 4, 5, -6.5) },
    "a.bf16": { dtype: "BF16", shape: [3], data: float32ToBf16([1, -2, 0.5]) },
    "c.f16": { dtype: "F16", shape: [1], data: Uint16Array.of(0x3c00) },
    "d.i64": { dtype: "I64", shape: [2], data: BigInt64Array.of(-1n, 2n ** 40n) },
    "e.i32": { dtype: "I32", shape: [1, 1], data: Int32Array.of(-7) },
    "f.u8": { dtype: "U8", shape: [3], data: Uint8Array.of(1, 2, 255) },
    "g.empty": { dtype: "F32", shape: [0, 4], data: new Float32Array(0) },
    "h.scalar": { dtype: "F64", shape: [], data: Float64Array.of(Math.PI) },
  };

  it("round-trips every dtype, metadata and shape, with absolute offsets into the file", async () => {
    const path = join(dir, "round.safetensors");
    await writeSafetensors(path, tensors, { format: "pt" });
    const file = await openSafetensors(path);
    expect(file.metadata).toEqual({ format: "pt" });
    expect(file.headerLength % 8).toBe(0);
    expect(file.names()).toEqual(Object.keys(tensors).sort());
    const bytes = await readFile(path);
    for (const [name, tensor] of Object.entries(tensors)) {
      const read = await file.readTensor(name);
      expect(read.dtype).toBe(tensor.dtype);
      expect(read.shape).toEqual(tensor.shape);
      expect(read.data.constructor).toBe(tensor.data.constructor);
      expect(Array.from(read.data as ArrayLike<unknown>)).toEqual(Array.from(tensor.data as unknown as ArrayLike<unknown>));
      const { dataOffset, byteLength } = file.entry(name);
      const view = tensor.data as ArrayBufferView;
      expect(bytes.subarray(dataOffset, dataOffset + byteLength)).toEqual(Buffer.from(view.buffer, view.byteOffset, view.byteLength));
    }
    // Reference layout: __metadata__ first, space padding, larger elements first so each tensor is aligned.
    const headerText = bytes.subarray(8, 8 + file.headerLength).toString();
    expect(headerText.startsWith('{"__metadata__":{"format":"pt"}')).toBe(true);
    expect(headerText).toMatch(/} *$/);
    for (const entry of file.entries) {
      expect((entry.dataOffset - 8 - file.headerLength) % dtypeSize(entry.dtype)).toBe(0);
    }
  });

  it("streams tensors from chunk sources and checks their byte count", async () => {
    const path = join(dir, "chunks.safetensors");
    const chunks = () => [Float32Array.of(1, 2), Float32Array.of(3, 4, 5)];
    await writeSafetensors(path, { x: { dtype: "F32", shape: [5], data: chunks } });
    expect([...(await (await openSafetensors(path)).readTensor("x")).data as Float32Array]).toEqual([1, 2, 3, 4, 5]);
    await expect(writeSafetensors(path, { x: { dtype: "F32", shape: [4], data: chunks } })).rejects.toThrow(
      /tensor "x": its chunk source gave more than 16 bytes/,
    );
    await expect(writeSafetensors(path, { x: { dtype: "F32", shape: [6], data: chunks } })).rejects.toThrow(/gave 20 bytes.*needs 24/);
    // The failed writes left the earlier file untouched (atomic rename).
    expect((await openSafetensors(path)).entry("x").shape).toEqual([5]);
  });

  it("rejects data that disagrees with dtype or shape, naming the tensor", async () => {
    const path = join(dir, "bad-write.safetensors");
    await expect(writeSafetensors(path, { w: { dtype: "F32", shape: [3], data: Float32Array.of(1, 2) } })).rejects.toThrow(
      /bad-write.safetensors: tensor "w": data holds 8 bytes but shape \[3\] × F32 needs 12/,
    );
    await expect(writeSafetensors(path, { w: { dtype: "BF16", shape: [1], data: Float32Array.of(1) } })).rejects.toThrow(
      /tensor "w": data is a Float32Array; BF16 needs a Uint16Array/,
    );
    await expect(writeSafetensors(path, { w: { dtype: "F8_E4M3" as "F32", shape: [1], data: Uint8Array.of(1) } })).rejects.toThrow(
      /F8_E4M3 is a safetensors dtype that dembed does not support/,
    );
  });
});

describe("header validation", () => {
  const cases: [string, () => Promise<string>, RegExp][] = [
    ["a file shorter than 8 bytes", async () => (await writeFile(join(dir, "tiny"), "abc"), join(dir, "tiny")), /tiny: file is 3 bytes/],
    ["a header length past the end", () => rawFile("long", "{}", undefined, 1000n), /long: header length 1000 exceeds the 2 bytes/],
    ["a header that is not JSON", () => rawFile("json", "{nope"), /json: header is not valid JSON/],
    ["a header that is not an object", () => rawFile("array", "[1,2]"), /array: header must be a JSON object/],
    ["invalid UTF-8", () => rawFile("utf8", Buffer.from([0x7b, 0xff, 0x7d])), /utf8: header is not valid UTF-8/],
    ["non-string metadata", () => rawFile("meta", { __metadata__: { a: 1 } }), /meta: __metadata__ must be an object of string values/],
    ["an unsupported dtype", () => rawFile("f8", { w: { dtype: "F8_E4M3", shape: [1], data_offsets: [0, 1] } }, new Uint8Array(1)), /f8: tensor "w": dtype F8_E4M3 is a safetensors dtype that dembed does not support/],
    ["an unknown dtype", () => rawFile("f33", { w: { dtype: "F33", shape: [1], data_offsets: [0, 4] } }, new Uint8Array(4)), /f33: tensor "w": unknown dtype "F33"/],
    ["a negative dimension", () => rawFile("neg", { w: f32([-1], 0, 4) }, new Uint8Array(4)), /neg: tensor "w": shape must be an array of non-negative integers/],
    ["a fractional dimension", () => rawFile("frac", { w: f32([1.5], 0, 4) }, new Uint8Array(4)), /frac: tensor "w": shape must be/],
    ["offsets past the data block", () => rawFile("past", { w: f32([2], 0, 8) }, new Uint8Array(4)), /past: tensor "w": data_offsets \[0, 8\] reach past the data block of 4 bytes/],
    ["offsets that end before they begin", () => rawFile("rev", { w: f32([0], 4, 0) }, new Uint8Array(4)), /rev: tensor "w": data_offsets \[4, 0\] end before/],
    ["bad offsets", () => rawFile("offs", { w: { dtype: "F32", shape: [1], data_offsets: [0] } }, new Uint8Array(4)), /offs: tensor "w": data_offsets must be \[begin, end\]/],
    ["overlapping tensors", () => rawFile("overlap", { a: f32([2], 0, 8), b: f32([1], 4, 8) }, new Uint8Array(8)), /overlap: tensor "b": data_offsets \[4, 8\] overlap tensor "a" \[0, 8\]/],
    ["an overlap hidden behind an empty tensor", () => rawFile("overlap2", { a: f32([4], 0, 16), e: f32([0], 4, 4), c: f32([1], 8, 12) }, new Uint8Array(16)), /overlap2: tensor "c": .* overlap tensor "a"/],
    ["shape × dtype ≠ byte length", () => rawFile("size", { w: f32([3], 0, 8) }, new Uint8Array(8)), /size: tensor "w": shape \[3\] × F32 needs 12 bytes but data_offsets span 8/],
    ["a missing file", async () => join(dir, "absent.safetensors"), /absent.safetensors: file not found/],
  ];
  it.each(cases)("rejects %s", async (_label, make, message) => {
    await expect(openSafetensors(await make())).rejects.toThrow(message);
  });

  it("rejects a header larger than the reference limit without reading it", async () => {
    const path = await rawFile("huge-header", "{}", undefined, BigInt(MAX_HEADER_BYTES + 8));
    await truncate(path, MAX_HEADER_BYTES + 64); // sparse: costs no disk
    await expect(openSafetensors(path)).rejects.toThrow(/header length 100000008 exceeds the 100000000-byte limit/);
  });

  it("names the file and tensor when a tensor is absent or the file changed", async () => {
    const path = await rawFile("changed", { w: f32([1], 0, 4) }, new Uint8Array(4));
    const file = await openSafetensors(path);
    await expect(file.readTensor("nope")).rejects.toThrow(/changed: tensor "nope": no such tensor in this file/);
    await truncate(path, 10);
    await expect(file.readTensor("w")).rejects.toThrow(/changed: tensor "w": file changed size since it was opened/);
  });
});

it("opens a 3 GB file by its header alone and reads a tensor from its end", async () => {
  const big = 750_000_000; // F32 elements: 3 GB of (sparse) data
  const header = { big: f32([big], 0, big * 4), tail: f32([2], big * 4, big * 4 + 8) };
  const path = await rawFile("sparse.safetensors", header);
  const dataStart = 8 + Buffer.byteLength(JSON.stringify(header));
  await truncate(path, dataStart + big * 4 + 8);
  const handle = await open(path, "r+");
  await handle.write(Buffer.from(Float32Array.of(3.5, -1).buffer), 0, 8, dataStart + big * 4);
  await handle.close();

  const rssBefore = process.memoryUsage().rss;
  const file = await openSafetensors(path);
  expect(file.entry("big")).toMatchObject({ dataOffset: dataStart, byteLength: 3_000_000_000 });
  expect([...(await file.readTensor("tail")).data as Float32Array]).toEqual([3.5, -1]);
  // Reading the 3 GB tensor would add gigabytes; opening must add next to nothing.
  expect(process.memoryUsage().rss - rssBefore).toBeLessThan(64 << 20);
});
