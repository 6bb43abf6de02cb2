import { describe, expect, it, vi } from "vitest";
import { Graph } from "./graph.js";
import * as op from "./ops/index.js";
import { createSession, type Logger } from "./session.js";
import { randomInput, seeded } from "./testing.js";
import { tensor, type Tensor } from "./tensor.js";
import { createWorkerSession } from "./worker-session.js";

const random = seeded(5);
const asTensor = (t: ReturnType<typeof randomInput>): Tensor => t as Tensor;

/** A small attention block: RMSNorm → q/k/v → causal GQA attention → o_proj → residual. */
function block(): Graph {
  const g = new Graph("block");
  const x = g.input("x", "float32", ["batch", "seq", 16]);
  const w = (name: string, dims: number[]) => g.initializer(name, "float32", dims, asTensor(randomInput(random, "float32", dims, -0.3, 0.3)).data as Float32Array);
  const h = op.rmsNormalization(x, w("norm", [16]), { epsilon: 1e-6 });
  const q = op.linear(h, w("q", [16, 16]));
  const k = op.linear(h, w("k", [8, 16]));
  const v = op.linear(h, w("v", [8, 16]));
  const a = op.attention(q, k, v, { qNumHeads: 4, kvNumHeads: 2, isCausal: true });
  g.output(op.add(x, op.linear(a, w("o", [16, 16]))), "y");
  return g;
}

/** About 0.1–0.5 s of single-thread work: a chain of 256×256 matmuls. */
function heavy(): Graph {
  const g = new Graph("heavy");
  const x = g.input("x", "float32", [256, 256]);
  let y = x;
  for (let i = 0; i < 150; i++) y = op.tanh(op.matmul(y, x));
  g.output(y, "y");
  return g;
}

describe("createWorkerSession", () => {
  it("gives the same outputs as an in-thread session", async () => {
    const model = block();
    const x = asTensor(randomInput(random, "float32", [2, 5, 16]));
    const local = await createSession(model);
    const worker = await createWorkerSession(model);
    expect(worker.inputs).toEqual(local.inputs);
    const [a, b] = [await local.run({ x }), await worker.run({ x })];
    expect(b.y!.dims).toEqual([2, 5, 16]);
    expect(b.y!.data).toEqual(a.y!.data);
    await Promise.all([local.release(), worker.release()]);
  });

  it("keeps the main thread free while a run blocks the worker", async () => {
    const s = await createWorkerSession(heavy(), { threads: 1 });
    const x = asTensor(randomInput(random, "float32", [256, 256], -0.05, 0.05));
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    const t0 = performance.now();
    await s.run({ x });
    const elapsed = performance.now() - t0;
    clearInterval(timer);
    // A blocked event loop would fire at most one late tick; a free one ticks through the run.
    expect(ticks).toBeGreaterThan(Math.min(5, elapsed / 20));
    await s.release();
  });

  it("copies feeds by default and moves them when asked", async () => {
    const s = await createWorkerSession(block());
    const x = asTensor(randomInput(random, "float32", [1, 3, 16]));
    await s.run({ x });
    expect(x.data.length).toBe(48);
    const moved = tensor("float32", [1, 3, 16], Float32Array.from(x.data as Float32Array));
    const out = await s.run({ x: moved }, { transferFeeds: true });
    expect(moved.data.length).toBe(0); // detached: it now lives in the worker
    expect(out.y!.data.length).toBe(48);
    await s.release();
  });

  it("surfaces ORT errors with the node name, and CUDA fallback warns once", async () => {
    const g = new Graph("bad-reshape");
    const x = g.input("x", "float32", ["n"]);
    g.output(g.scope("head", () => op.reshape(x, g.input("shape", "int64", [2]))));
    const logger: Logger = { warn: vi.fn() };
    const s = await createWorkerSession(g, { device: "cuda", logger });
    expect(s.device).toBe("cpu");
    expect(logger.warn).toHaveBeenCalledTimes(1);
    await expect(s.run({ x: tensor("float32", [5], [1, 2, 3, 4, 5]), shape: tensor("int64", [2], [2, 2]) })).rejects.toMatchObject({
      name: "SessionError",
      node: "head/Reshape",
      message: expect.stringMatching(/^model 'bad-reshape': .*head\/Reshape/s),
    });
    await s.release();
    await expect(s.run({ x: tensor("float32", [4], [1, 2, 3, 4]), shape: tensor("int64", [2], [2, 2]) })).rejects.toThrow("after release");
  });
});
