// The worker-thread host for createWorkerSession: plain JavaScript so it runs unchanged under node, tsx and vitest.
// It only opens, runs and closes one ORT session; option handling, fallback and error wrapping stay in the main
// thread (session.ts). Output buffers are transferred back, not copied.
import { parentPort } from "node:worker_threads";
import * as ort from "onnxruntime-node";

let session;

const metadata = (list) =>
  list.map((m) => (m.isTensor ? { name: m.name, dtype: m.type, shape: [...m.shape] } : { name: m.name, dtype: "non-tensor", shape: [] }));

const READABLE = new Set(["float32", "float16", "float64", "int64", "int32", "int8", "uint8", "bool"]);

/** A typed array that owns its whole buffer can be moved; a view into a larger buffer is copied once. */
function owned(data) {
  return data.byteOffset === 0 && data.byteLength === data.buffer.byteLength ? data : data.slice();
}

async function handle(message) {
  switch (message.type) {
    case "open": {
      session = await ort.InferenceSession.create(message.model, message.options);
      return { result: { inputs: metadata(session.inputMetadata), outputs: metadata(session.outputMetadata) } };
    }
    case "run": {
      const feeds = {};
      for (const [name, t] of Object.entries(message.feeds)) feeds[name] = new ort.Tensor(t.dtype, t.data, t.dims);
      const out = message.outputs ? await session.run(feeds, message.outputs) : await session.run(feeds);
      const result = {};
      const transfer = [];
      for (const [name, t] of Object.entries(out)) {
        if (!READABLE.has(t.type)) throw new Error(`output '${name}' has type ${t.type}, which dembed does not read`);
        const data = owned(t.data);
        if (!(data.buffer instanceof SharedArrayBuffer) && !transfer.includes(data.buffer)) transfer.push(data.buffer);
        result[name] = { dtype: t.type, dims: [...t.dims], data };
      }
      return { result, transfer };
    }
    case "close": {
      const s = session;
      session = undefined;
      await s?.release();
      return { result: null };
    }
    default:
      throw new Error(`worker: unknown message type '${message.type}'`);
  }
}

parentPort.on("message", async (message) => {
  try {
    const { result, transfer } = await handle(message);
    parentPort.postMessage({ id: message.id, ok: true, result }, transfer ?? []);
  } catch (e) {
    parentPort.postMessage({ id: message.id, ok: false, error: { message: e?.message ?? String(e), name: e?.name ?? "Error" } });
  }
});
