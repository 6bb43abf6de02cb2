// The session runner over onnxruntime-node: device choice with the one announced CUDA → CPU fallback, feed checks
// that name the input, ORT errors rethrown with the model name, deterministic release. The ORT calls sit behind a
// small SessionHost so the same logic drives a session in this thread or in a worker (worker-session.ts).
import { availableParallelism } from "node:os";
import { existsSync } from "node:fs";
import { rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { basename, dirname, join } from "node:path";
import type { InferenceSession } from "onnxruntime-node";
import { Graph, type DType } from "./graph.js";
import { EXTERNAL_FOLDER_CONFIG, externalDataRoot, hasRelativeExternal } from "./external.js";
import { toModelProto } from "./serialize.js";
import { elementCount, type Tensor } from "./tensor.js";
import { LocalHost, type HostInfo, type SessionHost } from "./session-host.js";
import {
  CACHE_FILES, CACHE_WRITE_CONFIG, cacheRefusal, commitEntry, entryBytesEstimate, entryProblem, entryTempDir, freeBytes, locateEntry,
  type SessionCacheOptions,
} from "./session-cache.js";

export type Device = "cpu" | "cuda";

export interface Logger {
  warn(message: string): void;
}

export interface SessionOptions {
  /** "cuda" falls back to CPU with one warning per logger when the CUDA provider cannot start. Default "cpu". */
  device?: Device;
  deviceId?: number;
  /**
   * Intra-op threads. Default: $DEMBED_THREADS, else every CPU this process may use (os.availableParallelism()). ORT's
   * own default ("one per physical core") picked 1 on the 2-core VM this is developed on, running forwards at half speed.
   */
  threads?: number;
  /** Inter-op threads (only used with executionMode "parallel"). */
  interOpThreads?: number;
  graphOptimizationLevel?: "disabled" | "basic" | "extended" | "all";
  /** Named in errors; defaults to the file name, or the graph's name. */
  name?: string;
  /** Folder that relative external-data locations resolve against (see README "External data"). */
  externalDataFolder?: string;
  /** Fixes symbolic dims to sizes so ORT can plan memory ahead. */
  freeDimensions?: Readonly<Record<string, number>>;
  /** ORT log level 0 (verbose) … 4 (fatal); default 3, errors only. */
  logLevel?: 0 | 1 | 2 | 3 | 4;
  memoryArena?: boolean;
  /**
   * ORT's memory pattern: one block per input shape, planned on the first run. Off, intermediates come from the arena
   * and are freed as they die, which lowers the peak of graphs whose tensors live long (a VJP graph's saved forward).
   */
  memoryPattern?: boolean;
  /** Extra ORT session config entries ("session.x": "1"). */
  config?: Readonly<Record<string, string>>;
  /** Where ORT writes the graph it optimized (with its session.optimized_model_* config entries for the weights). */
  optimizedModelFilePath?: string;
  /**
   * Turns on ORT's profiler: every node's kernel time, as a Chrome trace written to `<prefix>_<date time>.json` when
   * the session is released. `summarizeProfile` reads it. It slows runs down; for finding where time goes.
   */
  profileFilePrefix?: string;
  /**
   * Keep ORT's optimized graph and pre-packed weights in this cache, and open from there next time (CPU only, Graph
   * sources only; README "Session cache"). A damaged or stale entry is reported, removed and written again.
   */
  cache?: SessionCacheOptions;
  /** Told what the cache did: opened an entry, wrote one, or could not write one (and why). */
  onCache?: (event: SessionCacheEvent) => void;
  logger?: Logger;
}

export type SessionCacheEvent =
  | { readonly kind: "opened"; readonly dir: string }
  | { readonly kind: "written"; readonly dir: string; readonly bytes: number }
  | { readonly kind: "not written"; readonly dir: string; readonly reason: string };

export interface ValueInfo {
  readonly name: string;
  /** A dembed dtype, or ORT's name for types dembed does not use (e.g. "uint16"). */
  readonly dtype: DType | string;
  readonly shape: readonly (number | string)[];
}

export interface RunOptions {
  /** Fetch only these outputs (default: all). */
  outputs?: readonly string[];
  /**
   * Worker sessions: move the feed buffers to the worker instead of copying them (the caller's arrays are detached
   * afterwards). Only arrays that span their whole buffer move; views are copied. Ignored in-thread.
   */
  transferFeeds?: boolean;
}

export interface Session extends AsyncDisposable {
  readonly name: string;
  /** The device the session really runs on (after any fallback). */
  readonly device: Device;
  readonly inputs: readonly ValueInfo[];
  readonly outputs: readonly ValueInfo[];
  run(feeds: Readonly<Record<string, Tensor>>, options?: RunOptions): Promise<Record<string, Tensor>>;
  /** Frees the native session (and the worker, if any). Idempotent; waits for runs in flight. */
  release(): Promise<void>;
}

/** An ORT failure or a bad feed, named with the model (and the node, when ORT names one). */
export class SessionError extends Error {
  override name = "SessionError";
  constructor(
    message: string,
    readonly model: string,
    readonly node?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A model to open: .onnx path, serialized bytes, or a Graph (serialized here, external data resolved). */
export type ModelSource = string | Uint8Array | Graph;

export function createSession(model: ModelSource, options: SessionOptions = {}): Promise<Session> {
  return openSession(new LocalHost(), model, options);
}

const warnedLoggers = new WeakSet<Logger>();

/**
 * onnxruntime-node 1.30 starts Microsoft's 1DS telemetry with the first session on Linux: a SQLite store under
 * $XDG_CACHE_HOME/Microsoft/DeveloperTools/.onnxruntime, uploads when a network allows, and an empty
 * $TMPDIR/mat-debug-<pid>.log that outlives every process. Off unless the user set ORT_DISABLE_TELEMETRY themselves.
 * Set here, in the thread that opens sessions (the main thread for worker sessions too): a worker thread's
 * process.env is its own copy, and ORT reads the process's environment.
 */
function telemetryOffUnlessAsked(): void {
  process.env.ORT_DISABLE_TELEMETRY ??= "1";
}

/** Shared by createSession and createWorkerSession. */
export async function openSession(host: SessionHost, model: ModelSource, options: SessionOptions): Promise<Session> {
  telemetryOffUnlessAsked();
  let prepared: ReturnType<typeof prepareModel>;
  try {
    prepared = prepareModel(model, options);
  } catch (e) {
    await host.close().catch(() => undefined); // a worker may already be running
    throw e;
  }
  const { source, name, folder } = prepared;
  const logger = options.logger ?? console;
  let device: Device = options.device ?? "cpu";
  let info: HostInfo;
  try {
    if (device === "cuda") {
      const missing = cudaProviderMissing();
      let reason = missing;
      if (!missing) {
        try {
          info = await host.open(source, ortOptions(options, folder, "cuda"));
        } catch (e) {
          reason = (e as Error).message.split("\n")[0]!;
        }
      }
      if (reason) {
        device = "cpu";
        info = await host.open(source, ortOptions(options, folder, "cpu"));
        if (!warnedLoggers.has(logger)) {
          warnedLoggers.add(logger);
          logger.warn(
            `dembed: CUDA was requested for model '${name}' but is not available (${reason}); running on CPU. ` +
              "To use a GPU, install onnxruntime-node's CUDA libraries (ONNXRUNTIME_NODE_INSTALL=cuda12, see the @dembed/onnx README).",
          );
        }
      }
    } else if (options.cache) {
      info = await openThroughCache(host, model, source, name, options, folder, logger);
    } else {
      info = await host.open(source, ortOptions(options, folder, "cpu"));
    }
  } catch (e) {
    await host.close().catch(() => undefined);
    throw wrapError(e, name, "cannot create the session");
  }
  return new RunnerSession(host, name, device, info!);
}

const GiB = 1024 ** 3;
const firstLine = (e: unknown): string => (e instanceof Error ? e.message : String(e)).split("\n")[0]!;

/** Opens the cached entry if it checks out; else opens `source` and has ORT write the entry on the way. */
async function openThroughCache(host: SessionHost, model: ModelSource, source: string | Uint8Array, name: string, options: SessionOptions, folder: string | undefined, logger: Logger): Promise<HostInfo> {
  if (!(model instanceof Graph) || typeof source === "string") {
    throw new SessionError(`model '${name}': the session cache takes a Graph (its key hashes the graph and its external files)`, name);
  }
  const notWritten = (dir: string, reason: string): Promise<HostInfo> => {
    options.onCache?.({ kind: "not written", dir, reason });
    return host.open(source, ortOptions(options, folder, "cpu"));
  };
  const refusal = cacheRefusal(model);
  if (refusal !== undefined) return notWritten(options.cache!.dir, refusal);
  const entry = locateEntry(options.cache!, model, source, {
    graphOptimizationLevel: options.graphOptimizationLevel ?? "all",
    ...(options.freeDimensions ? { freeDimensions: options.freeDimensions } : {}),
    ...(options.config ? { config: options.config } : {}),
  });
  let problem = await entryProblem(entry);
  if (problem === undefined) {
    try {
      // What ORT saved is already optimized for this provider; optimizing it again can only undo its layouts.
      const info = await host.open(entry.modelPath, ortOptions({ ...options, graphOptimizationLevel: "disabled" }, undefined, "cpu"));
      options.onCache?.({ kind: "opened", dir: entry.dir });
      return info;
    } catch (e) {
      problem = `ONNX Runtime cannot open it (${firstLine(e)})`;
    }
  }
  if (problem !== "missing") logger.warn(`dembed: session cache entry ${entry.dir} is not usable: ${problem}; removing it and writing it again`);
  // "missing" may still be a folder: one without a manifest, which no finished write leaves.
  await rm(entry.dir, { recursive: true, force: true });
  const need = entryBytesEstimate(model, source);
  const free = await freeBytes(options.cache!.dir);
  if (free !== undefined && free < need + GiB) {
    return notWritten(entry.dir, `it needs up to ${(need / GiB).toFixed(1)} GiB and ${(free / GiB).toFixed(1)} GiB are free`);
  }
  const tmp = await entryTempDir(entry);
  let info: HostInfo;
  try {
    const writing = { ...options, optimizedModelFilePath: join(tmp, CACHE_FILES.model), config: { ...options.config, ...CACHE_WRITE_CONFIG } };
    info = await host.open(source, ortOptions(writing, folder, "cpu"));
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    // Writing may be what failed (a full disk); the plain open's error, if it fails too, is the one that matters.
    return notWritten(entry.dir, `ONNX Runtime could not write it (${firstLine(e)})`);
  }
  try {
    const bytes = await commitEntry(entry, tmp);
    options.onCache?.({ kind: "written", dir: entry.dir, bytes });
  } catch (e) {
    options.onCache?.({ kind: "not written", dir: entry.dir, reason: firstLine(e) });
  }
  return info;
}

function prepareModel(model: ModelSource, options: SessionOptions): { source: string | Uint8Array; name: string; folder?: string } {
  if (typeof model === "string") {
    return { source: model, name: options.name ?? basename(model), folder: options.externalDataFolder };
  }
  if (model instanceof Graph) {
    if (hasRelativeExternal(model) && options.externalDataFolder === undefined) {
      throw new SessionError(
        `graph '${model.name}' has relative external-data locations but no externalDataFolder to resolve them against`,
        options.name ?? model.name,
      );
    }
    const folder = options.externalDataFolder ?? externalDataRoot(model);
    return { source: toModelProto(model, { externalDataFolder: folder }), name: options.name ?? model.name, folder };
  }
  return { source: model, name: options.name ?? `model (${model.byteLength} bytes)`, folder: options.externalDataFolder };
}

/** $DEMBED_THREADS (a positive integer; anything else is refused) if set, else every CPU the process may use. */
export function defaultThreads(env: Readonly<Record<string, string | undefined>> = process.env): number {
  const fromEnv = env.DEMBED_THREADS;
  if (fromEnv === undefined || fromEnv === "") return availableParallelism();
  if (!/^[1-9]\d*$/.test(fromEnv)) throw new Error(`DEMBED_THREADS must be a positive integer, got ${JSON.stringify(fromEnv)}`);
  return Number(fromEnv);
}

function ortOptions(options: SessionOptions, folder: string | undefined, device: Device): InferenceSession.SessionOptions {
  const config: Record<string, string> = { ...options.config };
  if (folder !== undefined) config[EXTERNAL_FOLDER_CONFIG] = folder;
  return {
    executionProviders: device === "cuda" ? [{ name: "cuda", deviceId: options.deviceId ?? 0 }, "cpu"] : ["cpu"],
    intraOpNumThreads: options.threads ?? defaultThreads(),
    ...(options.interOpThreads !== undefined ? { interOpNumThreads: options.interOpThreads } : {}),
    graphOptimizationLevel: options.graphOptimizationLevel ?? "all",
    logSeverityLevel: options.logLevel ?? 3,
    ...(options.memoryArena !== undefined ? { enableCpuMemArena: options.memoryArena } : {}),
    ...(options.memoryPattern !== undefined ? { enableMemPattern: options.memoryPattern } : {}),
    ...(options.freeDimensions ? { freeDimensionOverrides: { ...options.freeDimensions } } : {}),
    ...(options.optimizedModelFilePath !== undefined ? { optimizedModelFilePath: options.optimizedModelFilePath } : {}),
    ...(options.profileFilePrefix !== undefined ? { enableProfiling: true, profileFilePrefix: options.profileFilePrefix } : {}),
    extra: nestConfig(config),
  };
}

/** ORT-node flattens `extra` with dots, so "session.a_b" is given as { session: { a_b } }. */
function nestConfig(config: Record<string, string>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(config)) {
    const parts = key.split(".");
    let node = out;
    for (const p of parts.slice(0, -1)) node = (node[p] ??= {}) as Record<string, unknown>;
    node[parts[parts.length - 1]!] = value;
  }
  return out;
}

/** The CUDA provider library ships only when onnxruntime-node's install script downloaded it. */
function cudaProviderMissing(): string | undefined {
  const binding = join(dirname(createRequire(import.meta.url).resolve("onnxruntime-node")), "..", "bin", "napi-v6", process.platform, process.arch);
  const lib = process.platform === "win32" ? "onnxruntime_providers_cuda.dll" : "libonnxruntime_providers_cuda.so";
  return existsSync(join(binding, lib)) ? undefined : `${lib} is not installed in ${binding}`;
}

export function wrapError(e: unknown, model: string, context?: string): SessionError {
  if (e instanceof SessionError) return e;
  const message = e instanceof Error ? e.message : String(e);
  // ORT names the node as "… node. Name:'x' …" at run time and "Node (x) Op (…)" at load time.
  const node = /Name:'([^']*)'/.exec(message)?.[1] ?? /Node \(([^)]+)\) Op/.exec(message)?.[1];
  return new SessionError(`model '${model}'${context ? `: ${context}` : ""}: ${message}`, model, node, { cause: e });
}

class RunnerSession implements Session {
  private released = false;
  private inFlight = new Set<Promise<unknown>>();

  constructor(
    private readonly host: SessionHost,
    readonly name: string,
    readonly device: Device,
    private readonly info: HostInfo,
  ) {}

  get inputs(): readonly ValueInfo[] {
    return this.info.inputs;
  }
  get outputs(): readonly ValueInfo[] {
    return this.info.outputs;
  }

  async run(feeds: Readonly<Record<string, Tensor>>, options: RunOptions = {}): Promise<Record<string, Tensor>> {
    if (this.released) throw new SessionError(`model '${this.name}': run() after release()`, this.name);
    this.checkFeeds(feeds);
    for (const o of options.outputs ?? []) {
      if (!this.info.outputs.some((i) => i.name === o)) {
        throw new SessionError(`model '${this.name}': no output '${o}' (outputs: ${this.info.outputs.map((i) => i.name).join(", ")})`, this.name);
      }
    }
    const pending = this.host.run(feeds, options);
    this.inFlight.add(pending);
    try {
      return await pending;
    } catch (e) {
      throw wrapError(e, this.name);
    } finally {
      this.inFlight.delete(pending);
    }
  }

  private checkFeeds(feeds: Readonly<Record<string, Tensor>>): void {
    const fail = (what: string): never => {
      throw new SessionError(`model '${this.name}': ${what}`, this.name);
    };
    for (const key of Object.keys(feeds)) {
      if (!this.info.inputs.some((i) => i.name === key)) fail(`unknown input '${key}' (inputs: ${this.info.inputs.map((i) => i.name).join(", ")})`);
    }
    for (const input of this.info.inputs) {
      const t = feeds[input.name];
      if (!t) return fail(`input '${input.name}' is missing`);
      if (t.dtype !== input.dtype) fail(`input '${input.name}' is ${t.dtype}, the model expects ${input.dtype}`);
      const n = elementCount(t.dims);
      if (t.data.length !== n) fail(`input '${input.name}' has ${t.data.length} elements for dims [${t.dims.join(",")}] (${n} expected)`);
      if (t.dims.length !== input.shape.length) fail(`input '${input.name}' has rank ${t.dims.length}, the model expects [${input.shape.join(",")}]`);
      input.shape.forEach((d, i) => {
        if (typeof d === "number" && d >= 0 && t.dims[i] !== d) fail(`input '${input.name}' has dims [${t.dims.join(",")}], the model expects [${input.shape.join(",")}]`);
      });
    }
  }

  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    await Promise.allSettled([...this.inFlight]);
    await this.host.close();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.release();
  }
}
