// How to apply a LoRA dropout keep-mask in ORT: Where(keep, x, 0) against Mul(x, Cast(keep)), per element, at the
// widths of a Qwen2-0.5B layer's LoRA inputs (896 and 4864) and 256 tokens. Each graph chains 40 of the op under test
// (each followed by an Add, so no two are alike), and the bare Add chain is printed for reference.
//   npx tsx benchmarks/scripts/dropout-ops.ts [--threads N] [--runs 60]
import { availableParallelism, loadavg } from "node:os";
import { parseArgs } from "node:util";
import { Graph, createSession, ops, type Value } from "@dembed/onnx";

const { values } = parseArgs({ options: { threads: { type: "string" }, runs: { type: "string", default: "60" } } });
const threads = Number(values.threads ?? availableParallelism());
const TOKENS = 256;
const CHAIN = 40;
const VARIANTS: Record<string, (y: Value, keep: Value) => Value> = {
  "Add only": (y) => y,
  "Where(keep, x, 0)": (y, keep) => ops.where(keep, y, 0),
  "Mul(x, Cast(keep))": (y, keep) => ops.mul(y, ops.cast(keep, "float32")),
};

console.log(`${threads} threads; load average ${loadavg()[0]!.toFixed(2)}`);
for (const width of [896, 4864]) {
  const n = TOKENS * width;
  const feeds = {
    x: { dtype: "float32" as const, dims: [1, TOKENS, width], data: Float32Array.from({ length: n }, (_, i) => i % 7) },
    keep: { dtype: "bool" as const, dims: [1, TOKENS, width], data: Uint8Array.from({ length: n }, (_, i) => (i % 20 === 0 ? 0 : 1)) },
  };
  for (const [name, apply] of Object.entries(VARIANTS)) {
    const g = new Graph("dropout_ops");
    const keep = g.input("keep", "bool", [1, TOKENS, width]);
    let y: Value = g.input("x", "float32", [1, TOKENS, width]);
    for (let i = 0; i < CHAIN; i++) y = ops.add(apply(y, keep), 1);
    g.output(ops.reduceSum(y, [2], { keepdims: false }), "y");
    const session = await createSession(g, { threads });
    try {
      for (let i = 0; i < 10; i++) await session.run(feeds);
      const start = performance.now();
      for (let i = 0; i < Number(values.runs); i++) await session.run(feeds);
      const ns = ((performance.now() - start) * 1e6) / Number(values.runs) / CHAIN / n;
      console.log(`width ${String(width).padStart(4)}: ${name.padEnd(19)} ${ns.toFixed(3)} ns per element (with its Add)`);
    } finally {
      await session.release();
    }
  }
}
console.log(`load average after: ${loadavg().map((l) => l.toFixed(2)).join(" ")}`);
