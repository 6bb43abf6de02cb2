// The ORT-facing half of a session: open, run, close. LocalHost calls onnxruntime-node in this thread;
// WorkerHost (worker-session.ts) forwards the same calls to src/worker.mjs.
import * as ort from "onnxruntime-node";
import type { InferenceSession } from "onnxruntime-node";
import type { DType } from "./graph.js";
import type { Tensor } from "./tensor.js";
import type { RunOptions, ValueInfo } from "./session.js";

export interface HostInfo {
  inputs: ValueInfo[];
  outputs: ValueInfo[];
}

export interface SessionHost {
  open(model: string | Uint8Array, options: InferenceSession.SessionOptions): Promise<HostInfo>;
  run(feeds: Readonly<Record<string, Tensor>>, options: RunOptions): Promise<Record<string, Tensor>>;
  close(): Promise<void>;
}

/** dtypes ORT's JS tensors share with dembed (bfloat16 has no JS tensor type in onnxruntime-common). */
const ORT_DTYPES: ReadonlySet<string> = new Set(["float32", "float16", "float64", "int64", "int32", "int8", "uint8", "bool"]);

export function metadataOf(list: readonly InferenceSession.ValueMetadata[]): ValueInfo[] {
  return list.map((m) => (m.isTensor ? { name: m.name, dtype: m.type, shape: [...m.shape] } : { name: m.name, dtype: "non-tensor", shape: [] }));
}

export function checkFeedDtype(name: string, t: Tensor): void {
  if (!ORT_DTYPES.has(t.dtype)) {
    throw new Error(`input '${name}': ${t.dtype} tensors cannot be fed through onnxruntime-node; feed float32 and Cast in the graph`);
  }
}

export function toOrtTensor(name: string, t: Tensor): ort.Tensor {
  checkFeedDtype(name, t);
  return new ort.Tensor(t.dtype as "float32", t.data as Float32Array, [...t.dims]);
}

export function fromOrtTensor(name: string, value: ort.OnnxValue): Tensor {
  const t = value as ort.Tensor;
  if (!ORT_DTYPES.has(t.type)) throw new Error(`output '${name}' has type ${t.type}, which dembed does not read`);
  // ORT hands fp16 back as Uint16Array (no Float16Array in Node 20): the raw bits, as dembed stores fp16.
  return { dtype: t.type as DType, dims: [...t.dims], data: t.data as Tensor["data"] };
}

export class LocalHost implements SessionHost {
  private session: ort.InferenceSession | undefined;

  async open(model: string | Uint8Array, options: InferenceSession.SessionOptions): Promise<HostInfo> {
    this.session = typeof model === "string" ? await ort.InferenceSession.create(model, options) : await ort.InferenceSession.create(model, options);
    return { inputs: metadataOf(this.session.inputMetadata), outputs: metadataOf(this.session.outputMetadata) };
  }

  async run(feeds: Readonly<Record<string, Tensor>>, { outputs }: RunOptions): Promise<Record<string, Tensor>> {
    const session = this.session!;
    const ortFeeds = Object.fromEntries(Object.entries(feeds).map(([n, t]) => [n, toOrtTensor(n, t)]));
    const result = outputs ? await session.run(ortFeeds, [...outputs]) : await session.run(ortFeeds);
    return Object.fromEntries(Object.entries(result).map(([n, v]) => [n, fromOrtTensor(n, v)]));
  }

  async close(): Promise<void> {
    const session = this.session;
    this.session = undefined;
    await session?.release();
  }
}
