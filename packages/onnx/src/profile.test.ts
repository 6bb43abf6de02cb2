import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { Graph } from "./graph.js";
import { add, mul } from "./ops/elementwise.js";
import { linear } from "./ops/matmul.js";
import { readProfile, summarizeProfile } from "./profile.js";
import { createSession } from "./session.js";

let dir: string | undefined;
afterEach(async () => dir && rm(dir, { recursive: true, force: true }));

describe("ORT's profiler", () => {
  it("profiles every run's nodes, summed by op type and by the scope of the node names", async () => {
    dir = await mkdtemp(join(tmpdir(), "dembed-profile-"));
    const g = new Graph("profiled");
    const x = g.input("x", "float32", ["rows", 8]);
    const y = g.scope("proj", () => linear(x, g.initializer("w", "float32", [3, 8], new Float32Array(24).fill(0.5))));
    g.output(g.scope("vjp", () => mul(add(y, 1), y)), "y");
    const session = await createSession(g, { profileFilePrefix: join(dir, "run"), graphOptimizationLevel: "disabled" });
    for (let i = 0; i < 3; i++) await session.run({ x: { dtype: "float32", dims: [4, 8], data: new Float32Array(32).fill(1) } });
    await session.release();
    const profile = await readProfile(join(dir, "run"));
    expect(profile.runs).toBe(3);
    expect(Object.fromEntries(profile.byOp.map((r) => [r.key, r.calls]))).toMatchObject({ FusedMatMul: 3, Add: 3, Mul: 3 });
    expect(Object.fromEntries(profile.byScope.map((r) => [r.key, r.calls]))).toMatchObject({ proj: 3, vjp: 6 });
    expect(profile.byOp.reduce((s, r) => s + r.share, 0)).toBeCloseTo(1, 6);
    expect(profile.kernelMs).toBeLessThanOrEqual(profile.runMs);
  });

  it("sums a hand-written trace, and names a file that is not one", async () => {
    const trace = [
      { cat: "Session", name: "model_run", dur: 10_000 },
      { cat: "Node", name: "a/MatMul_kernel_time", dur: 6_000, args: { op_name: "MatMul" } },
      { cat: "Node", name: "b/MatMul_1_kernel_time", dur: 2_000, args: { op_name: "MatMul" } },
      { cat: "Node", name: "Softmax_kernel_time", dur: 2_000, args: { op_name: "Softmax" } },
      { cat: "Node", name: "a/MatMul_fence_before", dur: 50, args: { op_name: "MatMul" } },
      { cat: "Node", name: "gate_kernel_time", dur: 8_000, args: { op_name: "If" } }, // its subgraph's nodes are above
    ];
    const s = summarizeProfile(trace);
    expect(s).toMatchObject({ kernelMs: 10, runMs: 10, runs: 1 });
    expect(s.byOp).toEqual([{ key: "MatMul", ms: 8, share: 0.8, calls: 2 }, { key: "Softmax", ms: 2, share: 0.2, calls: 1 }]);
    expect(s.byScope.map((r) => [r.key, r.ms])).toEqual([["a", 6], ["b", 2], ["(top level)", 2]]);
    dir = await mkdtemp(join(tmpdir(), "dembed-profile-"));
    await writeFile(join(dir, "p_1.json"), "{\"not\": \"a trace\"}");
    await expect(readProfile(join(dir, "p"))).rejects.toThrow(/p_1\.json: not an ORT profile \(expected a JSON array/);
    await expect(readProfile(join(dir, "q"))).rejects.toThrow(/no ORT profile q_\*\.json in .*: was the session released\?/);
  });
});
