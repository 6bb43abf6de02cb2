import { createReadStream } from "node:fs";
import { open, rename, rm } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { lockOutput, readUtf8Lines, removeDeadTemps } from "@dembed/files";
import { effectiveEmbedSettings, embedderSettingOptions, loadAdapterForEmbedder, settingSourcesLine } from "@dembed/lora";
import { Embedder, type AttentionMode, type KernelChoice, type WeightChoice } from "@dembed/models";
import type { PoolingMode } from "@dembed/pooling";
import { SingleBar } from "cli-progress";
import { InvalidArgumentError, Option } from "commander";
import type { RegisterCommand } from "./index.js";
import { addSessionCacheOption } from "./session-cache-option.js";
import { loadProgressLine, weightsOption } from "./weights.js";
import { addQueueOptions, openQueueRun, portableSpec, type QueueFlags, type QueueRun } from "./queue.js";
import type { EncoderSpec } from "./bench.js";

interface EmbedFlags {
  model: string;
  allowDownload?: boolean;
  input: string;
  out: string;
  instruction?: string;
  adapter?: string;
  role: "query" | "document";
  pooling?: PoolingMode;
  attention?: AttentionMode;
  skipInstruction?: boolean;
  promptTemplate?: string;
  maxLength?: number;
  batchSize: number;
  normalize: boolean;
  kernel: KernelChoice;
  threads?: number;
  weights: WeightChoice;
  device: "cpu" | "cuda";
  progress: boolean;
  cache: string;
}

interface InputLine {
  readonly id?: unknown;
  readonly text: string;
  readonly instruction?: string;
}

const positiveInteger = (value: string): number => {
  if (!/^\d+$/.test(value) || Number(value) === 0) throw new InvalidArgumentError("expected a positive integer");
  return Number(value);
};

/** Lines are a JSON string, or {"text": ..., "id"?: ..., "instruction"?: ...}; blank lines are skipped. */
async function readTexts(file: string): Promise<InputLine[]> {
  const lines: InputLine[] = [];
  const stream = createReadStream(file);
  const opened = new Promise<void>((resolve, reject) => stream.once("open", () => resolve()).once("error", reject));
  await opened.catch((e: NodeJS.ErrnoException) => {
    throw new Error(`--input ${file}: ${e.code === "ENOENT" ? "not found" : e.code === "EISDIR" ? "is a folder, not a JSONL file" : e.message}`);
  });
  let n = 0;
  for await (const line of readUtf8Lines(stream, file)) {
    n++;
    if (line.trim() === "") continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (e) {
      throw new Error(`${file}:${n}: not valid JSON (${(e as Error).message})`);
    }
    if (typeof value === "string") {
      lines.push({ text: value });
      continue;
    }
    const record = value as Record<string, unknown> | null;
    if (!record || typeof record !== "object" || typeof record.text !== "string") {
      throw new Error(`${file}:${n}: expected a JSON string or an object with a string "text" field`);
    }
    if (record.instruction !== undefined && typeof record.instruction !== "string") throw new Error(`${file}:${n}: "instruction" must be a string`);
    // Ids are copied to the output and joined on later: only scalars keep their meaning there.
    if (record.id !== undefined && typeof record.id !== "string" && !(typeof record.id === "number" && Number.isFinite(record.id))) {
      throw new Error(`${file}:${n}: "id" must be a string or a number, got ${record.id === null ? "null" : Array.isArray(record.id) ? "an array" : typeof record.id}`);
    }
    lines.push({ id: record.id, text: record.text, ...(record.instruction !== undefined ? { instruction: record.instruction as string } : {}) });
  }
  if (lines.length === 0) throw new Error(`${file}: no texts (empty input)`);
  return lines;
}

/** Writes the JSONL output through a temp file beside it; failures name --out, not the temp file. */
async function writeEmbeddings(out: string, lines: readonly InputLine[], embeddings: readonly Float32Array[]): Promise<void> {
  const tmp = `${out}.tmp-${process.pid}`;
  let handle;
  try {
    handle = await open(tmp, "w");
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const why = err.code === "ENOENT" ? "its folder does not exist" : err.code === "EACCES" ? "permission denied" : err.code === "EISDIR" ? "it is a folder" : err.message;
    throw new Error(`cannot write --out ${out}: ${why}`);
  }
  try {
    for (let i = 0; i < lines.length; i++) {
      const id = lines[i]!.id;
      await handle.write(`${JSON.stringify({ ...(id !== undefined ? { id } : {}), embedding: Array.from(embeddings[i]!) })}\n`);
    }
    await handle.sync();
    await handle.close();
    await rename(tmp, out);
  } catch (e) {
    await handle.close().catch(() => undefined);
    await rm(tmp, { force: true });
    throw new Error(`cannot write --out ${out}: ${(e as Error).message}`);
  }
}

/**
 * `embed --queue`: the lines go to workers as cache shards (one embedTexts call per distinct instruction) and come back
 * from the cache in input order; the output file is the one a single-process run writes.
 */
/** What queued workers build their encoder from: the flags, with the max length this role resolved to. */
function queuedSpec(flags: EmbedFlags, maxLength: number): EncoderSpec {
  return portableSpec({
    model: flags.model,
    ...(flags.adapter !== undefined ? { adapter: flags.adapter } : {}),
    ...(flags.attention ? { attention: flags.attention } : {}),
    ...(flags.pooling ? { pooling: flags.pooling } : {}),
    ...(flags.skipInstruction !== undefined ? { skipInstruction: flags.skipInstruction } : {}),
    ...(flags.promptTemplate !== undefined ? { promptTemplate: flags.promptTemplate } : {}),
    maxLength,
    device: flags.device,
    weights: flags.weights,
    batchSize: flags.batchSize,
    ...(flags.normalize ? {} : { normalize: false }),
  });
}

async function embedQueued(flags: EmbedFlags & QueueFlags, lines: readonly InputLine[], queue: QueueRun, spec: EncoderSpec, bar: SingleBar | undefined): Promise<{ truncated: number }> {
  for (const [flag, given] of [["--kernel", flags.kernel !== "auto"], ["--threads", flags.threads !== undefined], ["--allow-download", flags.allowDownload === true]] as const) {
    if (given) throw new Error(`${flag} is a worker's setting with --queue/--workers (see dembed worker --help)`);
  }
  const { embedTexts } = await import("@dembed/benchmarks");
  const { makeEncoder } = await import("./bench.js");
  const encoder = await makeEncoder(spec, (l) => process.stderr.write(`embed: ${l}\n`), { queued: true });
  try {
    const sharded = await queue.coordinatorFor(spec);
    const groups = new Map<string, number[]>();
    lines.forEach((l, i) => {
      const instruction = l.instruction ?? flags.instruction ?? "";
      (groups.get(instruction) ?? groups.set(instruction, []).get(instruction)!).push(i);
    });
    const vectors: Float32Array[] = new Array(lines.length);
    let truncated = 0;
    let before = 0;
    bar?.start(lines.length, 0);
    for (const [instruction, indices] of groups) {
      const result = await embedTexts(encoder, indices.map((i) => lines[i]!.text), {
        role: flags.role,
        instruction,
        batchSize: flags.batchSize,
        cacheDir: resolve(flags.cache),
        sharded,
        onProgress: (done) => bar?.update(before + done),
      });
      result.vectors.forEach((v, k) => (vectors[indices[k]!] = v));
      truncated += result.truncated;
      before += indices.length;
    }
    await writeEmbeddings(flags.out, lines, vectors);
    return { truncated };
  } finally {
    await encoder.dispose?.();
  }
}

/** `dembed embed`: one embedding per input line, in input order, as JSONL. */
export const register: RegisterCommand = (program) => {
  const command = program
    .command("embed")
    .description("Embed texts with a model: JSONL in (a string or {text, id?, instruction?} per line), JSONL out ({id?, embedding}).")
    .requiredOption("--model <dir|id>", "model folder, or org/name[@revision] in the local Hugging Face cache")
    .requiredOption("--input <texts.jsonl>", "texts to embed")
    .option("--allow-download", "download the model into the Hugging Face cache if it is missing there (config, tokenizer, safetensors; HF_TOKEN for gated repos; HF_HUB_OFFLINE=1 forbids it)")
    .requiredOption("--out <embeddings.jsonl>", "where to write the embeddings")
    .option("--instruction <text>", "instruction for every line without its own")
    .option("--adapter <dir>", "PEFT LoRA adapter folder; its dembed_adapter.json settings apply unless a flag overrides them")
    .addOption(new Option("--role <role>", "the texts are queries or documents: picks the adapter's trained max length").choices(["query", "document"]).default("document"))
    .addOption(
      new Option("--pooling <mode>", "pooling (default: the adapter's, else mean)").choices(["mean", "weighted_mean", "last_token", "eos_token", "first_token", "bos_token", "max"]),
    )
    .addOption(new Option("--attention <mode>", "attention mode (default: the adapter's, else the architecture's own)").choices(["causal", "bidirectional"]))
    .option("--skip-instruction", "pool only the text's tokens (default: the adapter's setting, else this)")
    .option("--no-skip-instruction", "pool the instruction's tokens too")
    .option("--prompt-template <template>", "wrap instruction + text; {input} marks where (default: the adapter's, else none)")
    .option("--max-length <n>", "longest input in tokens; longer ones are truncated and counted (default: the adapter's for --role, else 512)", positiveInteger)
    .option("--batch-size <n>", "texts per forward pass", positiveInteger, 8)
    .option("--no-normalize", "write raw pooled vectors instead of L2-normalized ones")
    .addOption(new Option("--kernel <kernel>", "attention kernel").choices(["auto", "masked", "flash", "primitive"]).default("auto"))
    .option("--threads <n>", "ORT intra-op threads", positiveInteger)
    .addOption(new Option("--device <device>", "execution device (cuda falls back to cpu with a warning)").choices(["cpu", "cuda"]).default("cpu"))
    .addOption(weightsOption())
    .option("--no-progress", "no progress bar")
    .option("--cache <dir>", "embedding cache folder of queued runs (--queue/--workers): shards land there", ".cache/embeddings");
  addQueueOptions(addSessionCacheOption(command)).action(async (flags: EmbedFlags & QueueFlags) => {
    const lines = await readTexts(flags.input);
    await removeDeadTemps(dirname(resolve(flags.out)));
    const lock = await lockOutput(resolve(flags.out), { onTakeover: (m) => process.stderr.write(`embed: ${m}\n`) });
    const adapter = flags.adapter === undefined ? undefined : await loadAdapterForEmbedder(flags.adapter);
    const settings = effectiveEmbedSettings(
      adapter?.settings,
      {
        ...(flags.attention ? { attention: flags.attention } : {}),
        ...(flags.pooling ? { pooling: flags.pooling } : {}),
        ...(flags.skipInstruction === undefined ? {} : { skipInstruction: flags.skipInstruction }),
        ...(flags.promptTemplate === undefined ? {} : { promptTemplate: flags.promptTemplate }),
        ...(flags.maxLength === undefined ? {} : { maxLength: flags.maxLength }),
      },
      { pooling: "mean", maxLength: 512 },
    );
    if (adapter) process.stderr.write(`embed: ${settingSourcesLine(adapter, settings)}\n`);
    const maxLength = settings.maxLength[flags.role];
    const queue = await openQueueRun(flags, (l) => process.stderr.write(`embed: ${l}\n`), queuedSpec(flags, maxLength));
    if (queue) {
      const bar = flags.progress && process.stderr.isTTY ? new SingleBar({ stream: process.stderr, format: "embed {bar} {value}/{total} texts | {eta_formatted}" }) : undefined;
      try {
        const { truncated } = await embedQueued(flags, lines, queue, queuedSpec(flags, maxLength), bar);
        bar?.stop();
        const cut = truncated > 0 ? `; ${truncated} of ${lines.length} inputs were truncated to ${maxLength} tokens` : "";
        process.stderr.write(`embed: ${lines.length} embeddings through the queue → ${flags.out}${cut}\n`);
      } finally {
        bar?.stop();
        await queue.close();
        await lock.release();
      }
      return;
    }
    const embedder = await Embedder.load(flags.model, {
      ...embedderSettingOptions(settings),
      maxLength,
      ...(adapter ? { adapter: adapter.linear } : {}),
      kernel: flags.kernel,
      threads: flags.threads,
      device: flags.device,
      weights: flags.weights,
      onNotice: (m) => process.stderr.write(`embed: ${m}\n`),
      onLoadProgress: loadProgressLine("embed"),
      resolve: { allowDownload: flags.allowDownload === true },
      // ORT in a worker keeps the event loop, and so the progress bar, moving.
      worker: flags.progress,
    });
    const bar = flags.progress && process.stderr.isTTY ? new SingleBar({ stream: process.stderr, format: "embed {bar} {value}/{total} texts | {eta_formatted}" }) : undefined;
    try {
      bar?.start(lines.length, 0);
      const result = await embedder.encodeDetailed(
        lines.map((l) => l.text),
        {
          instruction: lines.map((l) => l.instruction ?? flags.instruction),
          batchSize: flags.batchSize,
          normalize: flags.normalize,
          onProgress: (done) => bar?.update(done),
        },
      );
      bar?.stop();
      await writeEmbeddings(flags.out, lines, result.embeddings);
      const cut = result.truncated > 0 ? `; ${result.truncated} of ${lines.length} inputs were truncated to ${maxLength} tokens` : "";
      process.stderr.write(`embed: ${lines.length} embeddings of size ${embedder.dimension} (${embedder.attention}, ${embedder.pooling}, --weights ${embedder.weightFormat}) → ${flags.out}${cut}\n`);
    } finally {
      bar?.stop();
      await embedder.dispose();
      await lock.release();
    }
  });
};
