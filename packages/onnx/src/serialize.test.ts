import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { afterAll, describe, expect, it } from "vitest";
import { Graph, GraphBuildError, Value, attrFloat } from "./graph.js";
import * as op from "./ops/index.js";
import { ModelProto } from "./proto/onnx-proto.js";
import { saveModel } from "./save.js";
import { toModelProto } from "./serialize.js";
import { createSession } from "./session.js";
import { tensor, toNumbers } from "./tensor.js";

// Some checks open sessions with onnxruntime-node directly, not through createSession: telemetry off as it would set it.
process.env.ORT_DISABLE_TELEMETRY ??= "1";

const tmp = mkdtempSync(join(tmpdir(), "dembed-onnx-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A .safetensors file: u64 header length, JSON header, then the data (offsets relative to the data start). */
function writeSafetensors(path: string, tensors: Record<string, Float32Array>): Record<string, { offset: number; length: number }> {
  let begin = 0;
  const header: Record<string, unknown> = {};
  for (const [name, data] of Object.entries(tensors)) {
    header[name] = { dtype: "F32", shape: [data.length], data_offsets: [begin, begin + data.byteLength] };
    begin += data.byteLength;
  }
  const json = Buffer.from(JSON.stringify(header));
  const size = Buffer.alloc(8);
  size.writeBigUInt64LE(BigInt(json.length));
  writeFileSync(path, Buffer.concat([size, json, ...Object.values(tensors).map((t) => Buffer.from(t.buffer))]));
  const out: Record<string, { offset: number; length: number }> = {};
  for (const [name, info] of Object.entries(header) as [string, { data_offsets: [number, number] }][]) {
    out[name] = { offset: 8 + json.length + info.data_offsets[0], length: info.data_offsets[1] - info.data_offsets[0] };
  }
  return out;
}

const feeds = (x: number[]) => ({ x: tensor("float32", [1, x.length], x) });

describe("toModelProto", () => {
  it("writes opsets, IR version, names, typed attributes and symbolic dims", () => {
    const g = new Graph("proto");
    const x = g.input("x", "float32", ["batch", 4]);
    const y = g.scope("block", () => op.linear(op.softmax(x), g.initializer("w", "float32", [2, 4], new Float32Array(8))));
    g.output(op.gemm(y, y, { transB: true, alpha: 2 }), "out");
    const m = ModelProto.toObject(ModelProto.decode(toModelProto(g)), { longs: Number, defaults: true, oneofs: true }) as Record<string, any>;
    expect(m.ir_version).toBe(11);
    expect(m.opset_import).toEqual(expect.arrayContaining([{ domain: "", version: 23 }, { domain: "com.microsoft", version: 1 }]));
    expect(m.graph.node.map((n: any) => n.name)).toEqual(["block/Softmax", "block/FusedMatMul", "Gemm", "Identity"]);
    const gemm = m.graph.node[2].attribute;
    expect(gemm.find((a: any) => a.name === "alpha")).toMatchObject({ type: 1, f: 2 });
    expect(gemm.find((a: any) => a.name === "transB")).toMatchObject({ type: 2, i: 1 });
    const [d0, d1] = m.graph.input[0].type.tensor_type.shape.dim;
    expect([d0.value, d0.dim_param, d1.value, d1.dim_value]).toEqual(["dim_param", "batch", "dim_value", 4]);
    expect(m.graph.output[0].name).toBe("out");
    expect(m.graph.initializer[0]).toMatchObject({ name: "w", dims: [2, 4], data_type: 1 });
  });

  it("refuses graphs that are malformed, naming the node", () => {
    const g = new Graph("bad");
    const x = g.input("x", "float32", [2]);
    const ghost = new Value(g, "ghost", "float32", [2], null);
    g.output(op.add(x, ghost));
    expect(() => toModelProto(g)).toThrow(/node 'Add' \(Add\) input 1 'ghost' is not produced/);
    const h = new Graph("float-int");
    h.output(h.addNode("LeakyRelu", [h.input("x", "float32", [2])], { alpha: 0.1 }, [{ dtype: "float32", shape: [2] }])[0]!);
    expect(() => toModelProto(h)).toThrow(/node 'LeakyRelu': attribute 'alpha' is 0.1, not an integer/);
    expect(() => toModelProto(new Graph("empty"))).toThrow(GraphBuildError);
  });

  it("serializes a graph that ORT loads and runs at two batch sizes", async () => {
    const g = new Graph("runs");
    const x = g.input("x", "float32", ["batch", 3]);
    const w = g.initializer("w", "float32", [3], new Float32Array([1, 2, 3]));
    g.output(op.reduceSum(op.mul(x, w), [1], { keepdims: false }), "y");
    const s = await ort.InferenceSession.create(toModelProto(g));
    const one = await s.run({ x: new ort.Tensor("float32", new Float32Array([1, 1, 1]), [1, 3]) });
    const two = await s.run({ x: new ort.Tensor("float32", new Float32Array([1, 0, 0, 0, 0, 2]), [2, 3]) });
    expect(Array.from(one.y!.data as Float32Array)).toEqual([6]);
    expect(Array.from(two.y!.data as Float32Array)).toEqual([1, 6]);
    expect(s.inputMetadata[0]).toMatchObject({ name: "x", shape: ["batch", 3] });
    await s.release();
  });

  it("absolute external locations need a folder (ORT refuses absolute paths)", () => {
    const g = new Graph("abs");
    const x = g.input("x", "float32", [1]);
    const path = join(tmp, "abs.bin");
    writeFileSync(path, Buffer.alloc(4));
    g.output(op.add(x, g.externalInitializer("w", "float32", [1], { location: path, offset: 0, length: 4 })));
    expect(() => toModelProto(g)).toThrow(/absolute location .* which ORT refuses/);
  });
});

describe("external data", () => {
  const weightsDir = join(tmp, "hub", "weights");
  mkdirSync(weightsDir, { recursive: true });
  const file = join(weightsDir, "model.safetensors");
  const places = writeSafetensors(file, { a: new Float32Array([10, 20, 30]), b: new Float32Array([1, 2, 3]) });
  // HF cache snapshots are symlinks into blobs/: locations through a symlink must work too.
  const snapshot = join(tmp, "hub", "snapshot");
  mkdirSync(snapshot, { recursive: true });
  symlinkSync(file, join(snapshot, "model.safetensors"));

  const graphOverWeights = (location: string) => {
    const g = new Graph("ext");
    const x = g.input("x", "float32", [1, 3]);
    const a = g.externalInitializer("a", "float32", [3], { location, ...places.a! });
    const b = g.externalInitializer("b", "float32", [3], { location, ...places.b! });
    g.output(op.mul(op.add(x, a), b), "y");
    return g;
  };

  it("createSession(graph) reads .safetensors tensors in place, also through a symlink", async () => {
    for (const location of [file, join(snapshot, "model.safetensors")]) {
      const s = await createSession(graphOverWeights(location));
      expect(toNumbers((await s.run(feeds([1, 1, 1]))).y!)).toEqual([11, 42, 93]);
      await s.release();
    }
  });

  it("saveModel hard-links outside weights so plain ORT loads the .onnx by path", async () => {
    const saved = await saveModel(graphOverWeights(join(snapshot, "model.safetensors")), join(tmp, "out", "model.onnx"));
    expect(saved.links).toEqual([join(tmp, "out", "model.onnx.weights", "model.safetensors")]);
    expect(statSync(saved.links[0]!).ino).toBe(statSync(file).ino);
    const s = await ort.InferenceSession.create(saved.modelPath);
    const y = await s.run({ x: new ort.Tensor("float32", new Float32Array([0, 0, 0]), [1, 3]) });
    expect(Array.from(y.y!.data as Float32Array)).toEqual([10, 40, 90]);
    await s.release();
    // Saving again reuses the link instead of failing on the existing file.
    await expect(saveModel(graphOverWeights(file), saved.modelPath)).resolves.toMatchObject({ links: saved.links });
  });

  it("saveModel moves large inline initializers to an aligned data file", async () => {
    const g = new Graph("inline");
    const x = g.input("x", "float32", [1, 3]);
    const big = g.initializer("big", "float32", [300, 3], Float32Array.from({ length: 900 }, (_, i) => i));
    const small = g.initializer("small", "float32", [3], new Float32Array([1, 2, 3]));
    g.output(op.add(op.matmul(x, op.transpose(op.slice(big, { starts: [0], ends: [3], axes: [0] }))), small), "y");
    const saved = await saveModel(g, join(tmp, "inline", "m.onnx"), { externalThreshold: 1024 });
    expect(saved.dataPath).toBe(join(tmp, "inline", "m.onnx.data"));
    expect(statSync(saved.dataPath!).size).toBe(900 * 4);
    expect(readFileSync(saved.modelPath).byteLength).toBeLessThan(2000);
    expect(existsSync(`${saved.modelPath}.weights`)).toBe(false);
    const s = await createSession(saved.modelPath);
    // rows 0..2 of big are [0,1,2], [3,4,5], [6,7,8]
    expect(toNumbers((await s.run(feeds([1, 0, 1]))).y!)).toEqual([1 + 2, 3 + 5 + 2, 6 + 8 + 3]);
    await s.release();
  });

  it("records what ORT 1.30 refuses: '..' and symlinks that leave the model folder", async () => {
    const dir = join(tmp, "probe");
    mkdirSync(dir, { recursive: true });
    symlinkSync(file, join(dir, "link.safetensors"));
    const attempt = async (location: string) => {
      writeFileSync(join(dir, "m.onnx"), toModelProto(graphOverWeights(location)));
      return ort.InferenceSession.create(join(dir, "m.onnx"));
    };
    await expect(attempt("../hub/weights/model.safetensors")).rejects.toThrow(/escapes model directory/);
    await expect(attempt("link.safetensors")).rejects.toThrow(/escapes model directory/);
  });

  it("a graph with relative locations needs externalDataFolder to run in memory", async () => {
    await expect(createSession(graphOverWeights("model.safetensors"))).rejects.toThrow(/relative external-data locations/);
    const s = await createSession(graphOverWeights("model.safetensors"), { externalDataFolder: weightsDir });
    expect(toNumbers((await s.run(feeds([0, 0, 0]))).y!)).toEqual([10, 40, 90]);
    await s.release();
  });

  it("checks the file holds the bytes an initializer needs", () => {
    const g = new Graph("short");
    g.output(g.externalInitializer("w", "float32", [100], { location: file, offset: 8, length: 400 }));
    expect(() => toModelProto(g, { externalDataFolder: weightsDir })).toThrow(/needs bytes 8\.\.408 of .* which has \d+/);
  });

  it("float attributes keep their type through serialization", () => {
    const g = new Graph("attrs");
    const x = g.input("x", "float32", [2]);
    g.output(g.addNode("LeakyRelu", [x], { alpha: attrFloat(1) }, [{ dtype: "float32", shape: [2] }])[0]!);
    const m = ModelProto.toObject(ModelProto.decode(toModelProto(g))) as any;
    expect(m.graph.node[0].attribute[0]).toMatchObject({ name: "alpha", type: 1, f: 1 });
  });
});
