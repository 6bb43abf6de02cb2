import { describe, expect, it, vi } from "vitest";
import { Graph } from "./graph.js";
import * as op from "./ops/index.js";
import { SessionError, createSession, type Logger } from "./session.js";
import { fromFloat16Bits, tensor, toFloat16Bits } from "./tensor.js";

/** y = reshape(x, shape) inside a scope, so a bad run-time shape fails in a named node. */
function reshapeModel(): Graph {
  const g = new Graph("reshaper");
  const x = g.input("x", "float32", ["n"]);
  const s = g.input("shape", "int64", [2]);
  g.output(g.scope("layers.3", () => op.reshape(x, s)), "y");
  return g;
}

function scaleModel(): Graph {
  const g = new Graph("scaler");
  const x = g.input("x", "float32", ["batch", 2]);
  g.output(op.mul(x, 2), "double");
  g.output(op.add(x, 1), "plus");
  return g;
}

describe("createSession", () => {
  it("runs with typed tensors in and out, all outputs or a chosen one", async () => {
    const s = await createSession(scaleModel(), { threads: 1, graphOptimizationLevel: "basic" });
    expect(s.inputs).toEqual([{ name: "x", dtype: "float32", shape: ["batch", 2] }]);
    expect(s.outputs.map((o) => o.name)).toEqual(["double", "plus"]);
    const all = await s.run({ x: tensor("float32", [1, 2], [1, 2]) });
    expect(all.double).toEqual({ dtype: "float32", dims: [1, 2], data: new Float32Array([2, 4]) });
    const one = await s.run({ x: tensor("float32", [1, 2], [1, 2]) }, { outputs: ["plus"] });
    expect(Object.keys(one)).toEqual(["plus"]);
    await s.release();
  });

  it("an ORT error names the model and keeps the node name", async () => {
    const s = await createSession(reshapeModel(), { name: "err-model" });
    const run = s.run({ x: tensor("float32", [6], [1, 2, 3, 4, 5, 6]), shape: tensor("int64", [2], [4, 2]) });
    await expect(run).rejects.toBeInstanceOf(SessionError);
    const error = (await run.catch((e: unknown) => e)) as SessionError;
    expect(error.message).toMatch(/^model 'err-model': .*layers\.3\/Reshape/s);
    expect(error.node).toBe("layers.3/Reshape");
    expect(error.model).toBe("err-model");
    // The session stays usable after a failed run.
    const ok = await s.run({ x: tensor("float32", [6], [1, 2, 3, 4, 5, 6]), shape: tensor("int64", [2], [3, 2]) });
    expect(ok.y!.dims).toEqual([3, 2]);
    await s.release();
  });

  it("checks feeds before ORT sees them, naming the input", async () => {
    const s = await createSession(scaleModel());
    const x = tensor("float32", [1, 2], [1, 2]);
    await expect(s.run({})).rejects.toThrow("model 'scaler': input 'x' is missing");
    await expect(s.run({ x, y: x })).rejects.toThrow("unknown input 'y' (inputs: x)");
    await expect(s.run({ x: tensor("float64", [1, 2], [1, 2]) })).rejects.toThrow("input 'x' is float64, the model expects float32");
    await expect(s.run({ x: tensor("float32", [1, 3], [1, 2, 3]) })).rejects.toThrow("input 'x' has dims [1,3], the model expects [batch,2]");
    await expect(s.run({ x: { dtype: "float32", dims: [2, 2], data: new Float32Array(3) } })).rejects.toThrow("has 3 elements for dims [2,2]");
    await expect(s.run({ x }, { outputs: ["nope"] })).rejects.toThrow("no output 'nope'");
    await s.release();
  });

  it("asks for CUDA, warns once per logger and runs on CPU", async () => {
    const logger: Logger = { warn: vi.fn() };
    const first = await createSession(scaleModel(), { device: "cuda", logger });
    const second = await createSession(scaleModel(), { device: "cuda", logger });
    expect(first.device).toBe("cpu");
    expect(logger.warn).toHaveBeenCalledTimes(1);
    expect(vi.mocked(logger.warn).mock.calls[0]![0]).toMatch(/CUDA was requested for model 'scaler' but is not available .* running on CPU/);
    expect((await second.run({ x: tensor("float32", [1, 2], [3, 4]) })).double!.data).toEqual(new Float32Array([6, 8]));
    await Promise.all([first.release(), second.release()]);
  });

  it("release is idempotent, awaits runs in flight and refuses later runs; asyncDispose releases", async () => {
    const s = await createSession(scaleModel());
    const pending = s.run({ x: tensor("float32", [1, 2], [1, 2]) });
    await Promise.all([s.release(), s.release()]);
    await expect(pending).resolves.toHaveProperty("double");
    await expect(s.run({ x: tensor("float32", [1, 2], [1, 2]) })).rejects.toThrow("run() after release()");
    const t = await createSession(scaleModel());
    await t[Symbol.asyncDispose]();
    await expect(t.run({ x: tensor("float32", [1, 2], [1, 2]) })).rejects.toThrow("after release");
  });

  it("float16 in and out as raw bits; bfloat16 inputs are refused with a reason", async () => {
    const g = new Graph("half");
    const x = g.input("x", "float16", [3]);
    g.output(op.cast(op.mul(op.cast(x, "float32"), 2), "float16"), "y");
    const s = await createSession(g);
    const bits = Uint16Array.from([0.5, -1.25, 3], toFloat16Bits);
    const y = (await s.run({ x: { dtype: "float16", dims: [3], data: bits } })).y!;
    expect(y.dtype).toBe("float16");
    expect(Array.from(y.data as Uint16Array, fromFloat16Bits)).toEqual([1, -2.5, 6]);
    await s.release();

    // onnxruntime-node has no JS bfloat16 tensor: a bf16 graph input fails at load, named. Cast inside the graph.
    const b = new Graph("bf16");
    b.output(op.cast(b.input("x", "bfloat16", [1]), "float32"));
    await expect(createSession(b)).rejects.toThrow(/^model 'bf16': cannot create the session: Unsupported data type: 16/);
  });

  it("a load-time ORT error keeps the node name too", async () => {
    // A node whose declared shapes skip the builder's checks, as a buggy op would emit.
    const g = new Graph("loadfail");
    const [a, b] = [g.input("a", "float32", [2, 3]), g.input("b", "float32", [4, 5])];
    g.output(g.scope("blk", () => g.addNode("MatMul", [a, b], {}, [{ dtype: "float32", shape: [2, 5] }])[0]!));
    await expect(createSession(g)).rejects.toMatchObject({ node: "blk/MatMul", message: expect.stringMatching(/^model 'loadfail': cannot create the session: Node \(blk\/MatMul\)/) });
  });

  it("a broken model fails at creation with the model name", async () => {
    await expect(createSession(new Uint8Array([1, 2, 3]), { name: "junk" })).rejects.toThrow(/^model 'junk': cannot create the session/);
    await expect(createSession("/nonexistent/m.onnx")).rejects.toThrow(/model 'm.onnx'/);
  });
});
