// Opens and closes one session in this process, in this thread or (argv[2] "worker") in a worker thread.
import { Graph, createSession, createWorkerSession, ops } from "../src/index.js";

const g = new Graph("telemetry_probe");
const x = g.input("x", "float32", [1, 2]);
g.output(ops.mul(x, 2), "y");
const session = await (process.argv[2] === "worker" ? createWorkerSession : createSession)(g);
await session.release();
