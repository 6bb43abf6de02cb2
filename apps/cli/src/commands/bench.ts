import { decodeUtf8 } from "@dembed/files";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import {
  BENCHMARKS,
  bm25System,
  describedEncoder,
  embedderEncoder,
  isBenchmarkName,
  runBenchmark,
  type BenchmarkName,
  type ProgressReporter,
  type System,
  type TextEncoder,
} from "@dembed/benchmarks";
import cliProgress from "cli-progress";
import { InvalidArgumentError, Option, type Command } from "commander";
import { z } from "zod";
import type { RegisterCommand } from "./index.js";
import { addSessionCacheOption } from "./session-cache-option.js";
import { loadProgressLine, weightsOption } from "./weights.js";
import { addQueueOptions, openQueueRun, portableSpec, type QueueRun } from "./queue.js";
import { recordedCommand } from "@dembed/files";
import type { WeightChoice } from "@dembed/models";

/**
 * The default `pnpm bench:longembed` job: the built-in tiny model (untrained) and BM25 on generated passkey and
 * needle data. The sizes are explicit so they can be tuned to keep the default run under 10 minutes on 2 cores:
 * lengths 256…16384 took 4 min 3 s there on a quiet machine (16384 alone ≈ 2 min 50 s, nearly all attention; see
 * benchmarks/README.md, Stage times); 32768, the last length of LongEmbed's recipe, would add about 4 × that length's
 * time, so it is one flag away (`--lengths 256,512,1024,2048,4096,8192,16384,32768`).
 */
export const DEFAULTS = {
  models: ["tiny", "bm25"],
  contextLengths: [256, 512, 1024, 2048, 4096, 8192, 16384],
  queriesPerLength: 50,
  docsPerLength: 100,
  seed: 42,
  batchSize: 8,
  out: "results",
  cache: ".cache/embeddings",
  /** Covers the longest default context length with room for the instruction and special tokens. */
  maxLength: 20480,
} as const;

const positiveInt = (value: string) => {
  if (!/^\d+$/.test(value) || Number(value) === 0) throw new InvalidArgumentError("expected a positive integer");
  return Number(value);
};
const list = (value: string, previous: string[] | undefined) => [...(previous ?? []), ...value.split(",").map((s) => s.trim()).filter(Boolean)];
const intList = (value: string) => value.split(",").map((s) => positiveInt(s.trim()));

/** Every option, as a config file may also give it (same names as the long flags, camelCase). */
const Config = z
  .object({
    model: z.union([z.string(), z.array(z.string())]),
    adapter: z.string(),
    attention: z.enum(["causal", "bidirectional"]),
    pooling: z.enum(["mean", "weighted_mean", "last_token", "eos_token", "bos_token"]),
    skipInstruction: z.boolean(),
    promptTemplate: z.string(),
    data: z.string(),
    tasks: z.union([z.string(), z.array(z.string())]),
    maxLength: z.number().int().positive(),
    batchSize: z.number().int().positive(),
    device: z.enum(["cpu", "cuda"]),
    dtype: z.enum(["float32", "float16"]),
    weights: z.enum(["auto", "fp32", "bf16", "int8", "int4"]),
    out: z.string(),
    cache: z.union([z.string(), z.literal(false)]),
    lengths: z.array(z.number().int().positive()),
    queriesPerLength: z.number().int().positive(),
    docsPerLength: z.number().int().positive(),
    seed: z.number().int().nonnegative(),
    synthetic: z.enum(["auto", "always", "never"]),
    instruction: z.string(),
    topK: z.number().int().positive(),
    index: z.enum(["exact", "hnsw", "ivf"]),
    hnswEf: z.number().int().min(2),
    ivfLists: z.number().int().positive(),
    ivfProbes: z.number().int().positive(),
    corpusStorage: z.enum(["f32", "f16", "int8"]),
    protocol: z.enum(["bright", "mteb-1.14", "paper"]),
    longDocuments: z.boolean(),
    followirScoring: z.enum(["paired", "mteb-1.14"]),
    revision: z.enum(["pinned", "any"]),
    queue: z.string(),
    workers: z.number().int().positive(),
    shardTexts: z.number().int().positive(),
    tries: z.number().int().positive(),
  })
  .partial()
  .strict();
export type EvalConfig = z.infer<typeof Config>;

/** The settings of one model run, as makeEncoder receives them. */
export interface EncoderSpec {
  model: string;
  adapter?: string;
  attention?: "causal" | "bidirectional";
  pooling?: string;
  skipInstruction?: boolean;
  promptTemplate?: string;
  maxLength?: number;
  device: "cpu" | "cuda";
  dtype?: "float32" | "float16";
  weights?: WeightChoice;
  batchSize: number;
  /** L2-normalize (default true); `dembed embed --no-normalize` sets false. */
  normalize?: boolean;
}

/**
 * ▶ THE PLUG-IN POINT for @dembed/models: turns a model reference (a folder, an HF id in the local cache, or "tiny"
 * for the built-in untrained tiny Dream model) plus settings into a TextEncoder around the Embedder. With an adapter,
 * the settings it was trained with (dembed_adapter.json) apply unless a flag says otherwise, and one line on stderr
 * says which came from where. The cacheKey names everything that changes the vectors (model folder and weight files,
 * adapter path and content hash, pooling, attention, instruction pooling, template, max length, dtype), so the
 * embedding cache never mixes two settings.
 */
/**
 * The encoder a spec describes. `queued`: the coordinator of a queued run, whose workers embed every text; it only
 * needs the cache key, so it reads the model's config and weight headers and plans memory, but loads no tokenizer,
 * quantizes nothing and opens no session (which would compete with the workers starting beside it).
 */
export async function makeEncoder(spec: EncoderSpec, log: (line: string) => void = (l) => process.stderr.write(`${l}\n`), { queued = false } = {}): Promise<TextEncoder> {
  // Loaded lazily: a BM25-only run never starts onnxruntime.
  const { Embedder, parseTinyRef } = await import("@dembed/models");
  const lora = await import("@dembed/lora");
  const ref = spec.model; // `tiny[:<arch>]` resolves to the built-in tiny model like any other reference
  const tinyArch = parseTinyRef(spec.model);
  const adapter = spec.adapter === undefined ? undefined : await lora.loadAdapterForEmbedder(spec.adapter);
  const settings = lora.effectiveEmbedSettings(
    adapter?.settings,
    {
      ...(spec.attention ? { attention: spec.attention } : {}),
      ...(spec.pooling ? { pooling: spec.pooling as "mean" } : {}),
      ...(spec.skipInstruction === undefined ? {} : { skipInstruction: spec.skipInstruction }),
      ...(spec.promptTemplate === undefined ? {} : { promptTemplate: spec.promptTemplate }),
      ...(spec.maxLength ? { maxLength: spec.maxLength } : {}),
    },
    { pooling: "mean", maxLength: DEFAULTS.maxLength },
  );
  if (adapter) log(lora.settingSourcesLine(adapter, settings));
  const options = {
    device: spec.device,
    worker: true,
    ...lora.embedderSettingOptions(settings),
    ...(spec.dtype ? { dtype: spec.dtype } : {}),
    ...(adapter ? { adapter: adapter.linear } : {}),
    weights: spec.weights ?? "auto",
    onNotice: (m: string) => log(`${spec.model}: ${m}`),
  } as const;
  const embedder = queued ? await Embedder.describe(ref, options) : await Embedder.load(ref, { ...options, onLoadProgress: loadProgressLine(spec.model) });
  const dir = embedder.model.dir;
  // Weight files by size and mtime: a re-downloaded or retrained checkpoint gets a new cache key.
  const weights = readdirSync(dir)
    .filter((f) => f.endsWith(".safetensors"))
    .sort()
    .map((f) => `${f}:${statSync(join(dir, f)).size}:${Math.floor(statSync(join(dir, f)).mtimeMs)}`)
    .join(",");
  const info = {
    model: spec.model,
    ...(tinyArch !== undefined ? { label: `tiny ${tinyArch} (random weights, untrained)` } : {}),
    weights,
    maxLength: settings.maxLength,
    dtype: spec.dtype ?? "float32",
    weightFormat: embedder.weightFormat,
    device: spec.device,
    ortVersion: ortVersion(),
    ...(spec.normalize === false ? { normalize: false } : {}),
    ...(adapter ? { adapter: { dir: adapter.dir, fingerprint: adapter.fingerprint, settingsFromAdapter: settings.fromAdapter } } : {}),
  };
  return embedder instanceof Embedder ? embedderEncoder(embedder, info) : describedEncoder(embedder, info);
}

/** onnxruntime-node's version, read from the package @dembed/onnx depends on. */
function ortVersion(): string | null {
  try {
    const fromOnnx = createRequire(fileURLToPath(import.meta.resolve("@dembed/onnx")));
    return (JSON.parse(readFileSync(fromOnnx.resolve("onnxruntime-node/package.json"), "utf8")) as { version: string }).version;
  } catch {
    return null;
  }
}

/** Progress bars on stderr when it is a terminal; one line per finished job otherwise (CI logs). */
function progressReporter(): { reporter: ProgressReporter; log: (line: string) => void; stop: () => void } {
  if (!process.stderr.isTTY) {
    // A log (CI, a file): every line carries the run's elapsed time; a job prints its rate when it ends, and a
    // line every 30 s while it runs, so a long job never looks hung.
    const runStarted = performance.now();
    const stamp = () => `[${((performance.now() - runStarted) / 1000).toFixed(1).padStart(6)} s]`;
    const write = (line: string) => process.stderr.write(`${stamp()} ${line}\n`);
    return {
      reporter: {
        start(label, total) {
          const started = performance.now();
          let done = 0;
          let lastLine = started;
          const rate = () => done / Math.max(1e-9, (performance.now() - started) / 1000);
          return {
            update: (d, t) => {
              done = d;
              if (t !== undefined) total = t;
              if (performance.now() - lastLine >= 30_000) {
                lastLine = performance.now();
                const left = rate() > 0 ? (total - done) / rate() : NaN;
                write(`  ${label}: ${done}/${total}, ${rate().toFixed(1)}/s, ETA ${Number.isFinite(left) ? `${left.toFixed(0)} s` : "?"}`);
              }
            },
            stop: () => {
              done = total;
              write(`  ${label}: ${total} done in ${((performance.now() - started) / 1000).toFixed(1)} s (${rate().toFixed(1)}/s)`);
            },
          };
        },
      },
      log: write,
      stop: () => {},
    };
  }
  const bars = new cliProgress.MultiBar(
    { format: " {label} [{bar}] {value}/{total} | {duration_formatted} elapsed | ETA {eta_formatted}", hideCursor: true, clearOnComplete: false, etaBuffer: 50 },
    cliProgress.Presets.shades_classic,
  );
  return {
    reporter: {
      start(label, total) {
        const started = performance.now();
        let size = total;
        const bar = bars.create(Math.max(total, 1), 0, { label: label.padEnd(28).slice(0, 28) });
        return {
          update: (done, t) => {
            if (t !== undefined) bar.setTotal(Math.max((size = t), 1));
            bar.update(done);
          },
          // A finished job leaves one line instead of a full bar, so long runs do not stack dozens of bars.
          stop: () => {
            bars.remove(bar);
            bars.log(`  ${label}: ${size} in ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
          },
        };
      },
    },
    log: (line) => bars.log(`${line}\n`),
    stop: () => bars.stop(),
  };
}

/** Config file values, then flags given on the command line over them; defaults fill the rest. */
export function mergeOptionsFor(cmd: Command): EvalConfig {
  return mergeOptions(cmd, cmd.opts());
}

function mergeOptions(cmd: Command, flags: Record<string, unknown>): EvalConfig {
  let fromFile: EvalConfig = {};
  if (typeof flags.config === "string") {
    let raw: unknown;
    try {
      raw = JSON.parse(decodeUtf8(readFileSync(flags.config), flags.config));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const why = code === "ENOENT" ? "not found" : code === "EISDIR" ? "is a folder, not a file" : err instanceof SyntaxError ? `not valid JSON (${err.message})` : (err as Error).message;
      throw new Error(`config file ${flags.config}: ${why}`);
    }
    const parsed = Config.safeParse(raw);
    if (!parsed.success) throw new Error(`config file ${flags.config}: ${z.prettifyError(parsed.error)}`);
    fromFile = parsed.data;
  }
  const fromCli = Object.fromEntries(Object.keys(flags).filter((k) => k !== "config" && cmd.getOptionValueSource(k) === "cli").map((k) => [k, flags[k]]));
  return { ...fromFile, ...fromCli } as EvalConfig;
}

const asList = (v: string | string[] | undefined) => (v === undefined ? undefined : Array.isArray(v) ? v.flatMap((s) => s.split(",")) : v.split(","));

/** Runs the given tasks of each benchmark for every model, writing results under --out. */
export async function runFromOptions(options: EvalConfig, work: Array<{ benchmark: BenchmarkName; tasks?: string[] }>, command: string): Promise<void> {
  // IvfSearcher refuses this too, but only once the queries are embedded.
  if (options.ivfLists !== undefined && options.ivfProbes !== undefined && options.ivfProbes > options.ivfLists) {
    throw new Error(`--ivf-probes (${options.ivfProbes}) must be at most --ivf-lists (${options.ivfLists})`);
  }
  const models = asList(options.model) ?? [...DEFAULTS.models];
  const notes: string[] = [];
  // Queue lines go through the current benchmark's progress display once it exists.
  const log = { line: (l: string) => void process.stderr.write(`${l}\n`) };
  const firstDense = models.find((m) => m !== "bm25");
  // Local workers start loading the first model while this process sets up.
  const queue = firstDense === undefined ? undefined : await openQueueRun(options, (l) => log.line(l), portableSpec(specFor(firstDense, options)));
  const systems: System[] = [];
  try {
    await addSystems(systems, models, options, queue, notes);
    await runWork(options, work, systems, notes, options.batchSize ?? DEFAULTS.batchSize, command, log);
  } finally {
    for (const s of systems) if (s.kind === "dense") await s.encoder.dispose?.();
    await queue?.close();
  }
}

/**
 * HNSW builds with the threads ORT may use ($DEMBED_THREADS, else every CPU). Threads insert in a varying order, so
 * only a one-thread build gives the same graph, and so the same approximate ranking, every time.
 */
function hnswThreads(): { threads?: number } {
  const given = process.env.DEMBED_THREADS;
  if (given === undefined || given === "") return {};
  if (!/^[1-9]\d*$/.test(given)) throw new Error(`DEMBED_THREADS must be a positive integer, got ${JSON.stringify(given)}`);
  return { threads: Number(given) };
}

/** The encoder settings of a model reference under these options. */
function specFor(model: string, options: EvalConfig): EncoderSpec {
  const spec: EncoderSpec = { model, batchSize: options.batchSize ?? DEFAULTS.batchSize, device: options.device ?? "cpu" };
  if (options.adapter) spec.adapter = options.adapter;
  if (options.attention) spec.attention = options.attention;
  if (options.pooling) spec.pooling = options.pooling;
  if (options.skipInstruction !== undefined) spec.skipInstruction = options.skipInstruction;
  if (options.promptTemplate !== undefined) spec.promptTemplate = options.promptTemplate;
  if (options.maxLength) spec.maxLength = options.maxLength;
  if (options.dtype) spec.dtype = options.dtype;
  if (options.weights) spec.weights = options.weights;
  return spec;
}

async function addSystems(systems: System[], models: string[], options: EvalConfig, queue: QueueRun | undefined, notes: string[]): Promise<void> {
  const defaultModels = options.model === undefined;
  for (const model of models) {
    if (model === "bm25") {
      systems.push(bm25System());
      continue;
    }
    try {
      // Queued: workers rebuild the encoder from these settings, so paths in them must mean the same everywhere.
      const settings = queue ? portableSpec(specFor(model, options)) : specFor(model, options);
      const encoder = await makeEncoder(settings, undefined, { queued: queue !== undefined });
      const sharded = queue ? await queue.coordinatorFor(settings) : undefined;
      systems.push({ kind: "dense", name: /^tiny(:|$)/.test(model) ? `${model} (untrained)` : model, encoder, ...(sharded ? { sharded } : {}) });
    } catch (err) {
      // Only the default job may drop a model (e.g. ORT missing); a model asked for by name must run.
      if (!defaultModels) throw err;
      notes.push(`${model}: skipped (${(err as Error).message})`);
      process.stderr.write(`dembed: ${model} skipped: ${(err as Error).message}\n`);
    }
  }
}

async function runWork(
  options: EvalConfig,
  work: Array<{ benchmark: BenchmarkName; tasks?: string[] }>,
  systems: System[],
  notes: string[],
  batchSize: number,
  command: string,
  log: { line: (l: string) => void },
): Promise<void> {
  for (const { benchmark, tasks } of work) {
    const progress = progressReporter();
    log.line = progress.log;
    try {
      const outcome = await runBenchmark({
        benchmark,
        ...(tasks ? { tasks } : {}),
        systems,
        outDir: resolve(options.out ?? DEFAULTS.out),
        load: {
          ...(options.data ? { dataDir: resolve(options.data) } : {}),
          synthetic: options.synthetic ?? "auto",
          ...(options.longDocuments ? { brightLong: true } : {}),
          ...(options.revision ? { revision: options.revision } : {}),
          ...(options.lengths ? { contextLengths: options.lengths } : {}),
          generator: {
            seed: options.seed ?? DEFAULTS.seed,
            contextLengths: options.lengths ?? [...DEFAULTS.contextLengths],
            queriesPerLength: options.queriesPerLength ?? DEFAULTS.queriesPerLength,
            docsPerLength: options.docsPerLength ?? DEFAULTS.docsPerLength,
          },
        },
        settings: {
          batchSize,
          ...(options.cache === false ? {} : { cacheDir: resolve(options.cache ?? DEFAULTS.cache) }),
          ...(options.topK ? { topK: options.topK } : {}),
          // Exact search's products on ORT's SGEMM, in blocks of 4096 documents; loaded on first use, so a BM25-only
          // run never starts ORT.
          scorer: async (queries, count, dim, o) => (await import("@dembed/onnx")).createDotScorer(queries, count, dim, o),
          ...(options.index ? { index: options.index } : {}),
          ...(options.index === "hnsw" ? { hnsw: { ...(options.hnswEf ? { expansionSearch: options.hnswEf } : {}), ...hnswThreads() } } : {}),
          ...(options.index === "ivf"
            ? {
                ivf: { ...(options.ivfLists ? { lists: options.ivfLists } : {}), ...(options.ivfProbes ? { probes: options.ivfProbes } : {}) },
                // IVF's search products: list documents × the queries probing that list, both sides changing per call.
                pairScorer: async (dim: number, o: { block: "float32" | "float16" }) => (await import("@dembed/onnx")).createPairScorer(dim, o),
              }
            : {}),
          ...(options.corpusStorage ? { corpusStorage: options.corpusStorage } : {}),
          ...(options.protocol ? { brightProtocol: options.protocol } : {}),
          ...(options.followirScoring ? { followirScoring: options.followirScoring } : {}),
          progress: progress.reporter,
          log: progress.log,
        },
        ...(options.instruction !== undefined ? { instruction: options.instruction } : {}),
        notes,
        command,
      });
      progress.stop();
      process.stdout.write(`${outcome.reportFile}\n`);
      for (const run of outcome.systems) {
        for (const r of run.results) process.stdout.write(`  ${run.system.name.padEnd(20)} ${r.taskId.padEnd(22)} ${(r.mainScore * 100).toFixed(1)}\n`);
      }
    } finally {
      progress.stop();
      log.line = (l) => void process.stderr.write(`${l}\n`);
    }
  }
}

/** The flags `bench` and `eval` share. */
export function addEvalOptions(cmd: Command): Command {
  return addSessionCacheOption(addQueueOptions(cmd))
    .addOption(new Option("--model <ref>", `model folder, HF id in the local cache, "tiny" (built-in, untrained) or "bm25"; repeatable or comma-separated (default: ${DEFAULTS.models.join(",")})`).argParser(list))
    .option("--adapter <dir>", "PEFT LoRA adapter folder applied to the model; its dembed_adapter.json settings apply unless a flag overrides them")
    .addOption(new Option("--attention <mode>", "attention mode (default: the adapter's, else the architecture's own)").choices(["causal", "bidirectional"]))
    .addOption(new Option("--pooling <mode>", "pooling (default: the adapter's, else mean)").choices(["mean", "weighted_mean", "last_token", "eos_token", "bos_token"]))
    .option("--skip-instruction", "pool only the text's tokens (default: the adapter's setting, else this)")
    .option("--no-skip-instruction", "pool the instruction's tokens too")
    .option("--prompt-template <template>", "wrap instruction + text; {input} marks where (default: the adapter's, else none)")
    .option("--data <dir>", "folder with datasets in HF layout (<data>/<org>/<name>); the HF hub cache is searched too")
    .addOption(new Option("--tasks <ids>", "task ids, comma-separated (default: every task whose data is found or generated)").argParser(list))
    .option("--max-length <n>", `max input tokens (default: the adapter's query/document lengths, else ${DEFAULTS.maxLength})`, positiveInt)
    .option("--batch-size <n>", `texts per forward pass (default ${DEFAULTS.batchSize})`, positiveInt)
    .addOption(new Option("--device <device>", "cpu or cuda (default cpu)").choices(["cpu", "cuda"]))
    .addOption(new Option("--dtype <dtype>", "compute dtype (default float32; CPU has no bfloat16)").choices(["float32", "float16"]))
    .addOption(weightsOption())
    .option("--out <dir>", `results folder (default ${DEFAULTS.out})`)
    .option("--cache <dir>", `embedding cache folder (default ${DEFAULTS.cache})`)
    .option("--no-cache", "do not read or write the embedding cache")
    .option("--lengths <list>", `generated passkey/needle context lengths in tokens (default ${DEFAULTS.contextLengths.join(",")})`, intList)
    .option("--queries-per-length <n>", `generated queries per length (default ${DEFAULTS.queriesPerLength})`, positiveInt)
    .option("--docs-per-length <n>", `generated documents per length (default ${DEFAULTS.docsPerLength})`, positiveInt)
    .option("--seed <n>", `generator seed (default ${DEFAULTS.seed})`, (v: string) => (/^\d+$/.test(v) ? Number(v) : (() => { throw new InvalidArgumentError("expected a non-negative integer"); })()))
    .addOption(new Option("--synthetic <when>", "passkey/needle: generate when real data is missing (auto), always, or never").choices(["auto", "always", "never"]))
    .option("--instruction <text>", "replace the benchmark's query instruction")
    .option("--top-k <n>", "documents kept per query (default 1000)", positiveInt)
    .addOption(
      new Option("--index <kind>", "dense search: score every document (exact, default), search an HNSW graph or k-means lists (hnsw, ivf: approximate, for corpora of millions)").choices([
        "exact",
        "hnsw",
        "ivf",
      ]),
    )
    .option("--hnsw-ef <n>", "HNSW candidates per search (default max(512, 2 × top-k)); more is slower and closer to exact", positiveInt)
    .option("--ivf-lists <n>", "IVF lists, k-means centroids (default 4·√documents)", positiveInt)
    .option("--ivf-probes <n>", "IVF lists searched per query (default max(8, lists/8)); more is slower and closer to exact", positiveInt)
    .addOption(
      new Option("--corpus-storage <width>", "document vectors in the embedding cache and in search: f32 (default), f16 (half the disk) or int8 (a quarter; scores within a stated bound)").choices(["f32", "f16", "int8"]),
    )
    .addOption(
      new Option("--protocol <name>", "BRIGHT excluded ids: removed (bright, default), kept ranked (mteb-1.14), or scored 0 as the paper did (paper)").choices([
        "bright",
        "mteb-1.14",
        "paper",
      ]),
    )
    .option("--long-documents", "BRIGHT: rank the long documents (long_documents, gold_ids_long); domains without them are skipped and listed")
    .addOption(new Option("--followir-scoring <name>", "FollowIR secondary measures: each run against its own qrels (paired, default) or crosswise as MTEB 1.14.12 (mteb-1.14)").choices(["paired", "mteb-1.14"]))
    .addOption(
      new Option("--revision <policy>", "dataset revisions: only the ones benchmarks/src/tasks.json pins (pinned, default), or whatever copy is on disk (any; recorded in the results)").choices([
        "pinned",
        "any",
      ]),
    )
    .option("--config <file>", "JSON file with any of these options (camelCase keys); flags override it");
}

/** `dembed bench <longembed|bright|followir>`: one whole benchmark. */
export const register: RegisterCommand = (program) => {
  addEvalOptions(
    program
      .command("bench")
      .description("Run a retrieval benchmark (LongEmbed, BRIGHT or FollowIR) and write MTEB JSON, TREC runs, a report and, for LongEmbed, a plot.")
      .argument("<benchmark>", `one of ${BENCHMARKS.join(", ")}`),
  )
    .addHelpText("after", "\nWith no options, `dembed bench longembed` runs the built-in tiny model and BM25 on generated passkey and needle data.")
    .action(async (benchmark: string, _flags: Record<string, unknown>, cmd: Command) => {
      if (!isBenchmarkName(benchmark)) throw new Error(`unknown benchmark "${benchmark}"; choose one of ${BENCHMARKS.join(", ")}`);
      const options = mergeOptions(cmd, cmd.opts());
      const tasks = asList(options.tasks);
      await runFromOptions(options, [{ benchmark, ...(tasks ? { tasks } : {}) }], recordedCommand());
    });
};
