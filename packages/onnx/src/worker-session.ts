// createWorkerSession: the same Session API with onnxruntime running in a worker thread, so a blocking run()
// leaves the main thread free (progress bars keep moving). One worker per session.
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import type { InferenceSession } from "onnxruntime-node";
import type { Tensor } from "./tensor.js";
import { openSession, type ModelSource, type RunOptions, type Session, type SessionOptions } from "./session.js";
import { checkFeedDtype, type HostInfo, type SessionHost } from "./session-host.js";

export function createWorkerSession(model: ModelSource, options: SessionOptions = {}): Promise<Session> {
  return openSession(new WorkerHost(), model, options);
}

/** src/worker.mjs beside this module; from a tsc build (dist/) it is still read from src/, which is published. */
function workerScript(): URL {
  for (const candidate of ["./worker.mjs", "../src/worker.mjs"]) {
    const url = new URL(candidate, import.meta.url);
    if (existsSync(fileURLToPath(url))) return url;
  }
  throw new Error(`createWorkerSession: worker.mjs not found next to ${fileURLToPath(import.meta.url)}`);
}

interface Reply {
  id: number;
  ok: boolean;
  result?: unknown;
  error?: { message: string; name: string };
}

const spansBuffer = (data: Tensor["data"]): boolean =>
  data.byteOffset === 0 && data.byteLength === data.buffer.byteLength && !(data.buffer instanceof SharedArrayBuffer);

class WorkerHost implements SessionHost {
  private readonly worker = new Worker(workerScript());
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private nextId = 1;
  private dead: Error | undefined;

  constructor() {
    // Idle workers must not keep the process alive; a pending call refs it again.
    this.worker.unref();
    this.worker.on("message", (reply: Reply) => {
      const call = this.pending.get(reply.id);
      if (!call) return;
      this.pending.delete(reply.id);
      if (this.pending.size === 0) this.worker.unref();
      if (reply.ok) call.resolve(reply.result);
      else call.reject(Object.assign(new Error(reply.error!.message), { name: reply.error!.name }));
    });
    this.worker.on("error", (e) => this.failAll(e));
    this.worker.on("exit", (code) => this.failAll(new Error(`the session worker exited (code ${code})`)));
  }

  private failAll(e: Error): void {
    this.dead ??= e;
    for (const call of this.pending.values()) call.reject(e);
    this.pending.clear();
  }

  private call<T>(message: Record<string, unknown>, transfer: ArrayBuffer[] = []): Promise<T> {
    if (this.dead) return Promise.reject(this.dead);
    const id = this.nextId++;
    if (this.pending.size === 0) this.worker.ref();
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.worker.postMessage({ ...message, id }, transfer);
    });
  }

  open(model: string | Uint8Array, options: InferenceSession.SessionOptions): Promise<HostInfo> {
    return this.call<HostInfo>({ type: "open", model, options });
  }

  run(feeds: Readonly<Record<string, Tensor>>, { outputs, transferFeeds = false }: RunOptions): Promise<Record<string, Tensor>> {
    const transfer: ArrayBuffer[] = [];
    const plain: Record<string, Tensor> = {};
    for (const [name, t] of Object.entries(feeds)) {
      checkFeedDtype(name, t);
      if (transferFeeds && spansBuffer(t.data) && !transfer.includes(t.data.buffer as ArrayBuffer)) transfer.push(t.data.buffer as ArrayBuffer);
      plain[name] = { dtype: t.dtype, dims: [...t.dims], data: t.data };
    }
    return this.call({ type: "run", feeds: plain, outputs }, transfer);
  }

  async close(): Promise<void> {
    try {
      if (!this.dead) await this.call({ type: "close" });
    } finally {
      this.dead ??= new Error("the session worker was closed");
      await this.worker.terminate();
    }
  }
}
