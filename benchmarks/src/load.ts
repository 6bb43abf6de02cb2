import { TaskDataMissing } from "./data/fields.js";
import { resolveDataset } from "./data/resolve.js";
import { generateNeedle, generatePasskey, type SyntheticOptions } from "./generate/synthetic.js";
import { loadBrightTask, looksLikeBright } from "./loaders/bright.js";
import { loadFollowIrTask, looksLikeFollowIr } from "./loaders/followir.js";
import { loadLongEmbedTask, looksLikeLongEmbed } from "./loaders/longembed.js";
import { benchmarkDefinition, type BenchmarkName, type TaskDefinition } from "./tasks.js";
import type { TaskData } from "./types.js";

export interface LoadOptions {
  /** A folder holding datasets in HF layout (see resolveDataset); the HF hub cache is searched too. */
  dataDir?: string;
  /**
   * Passkey and needle: "auto" (default) reads real data when found and generates otherwise; "always" generates;
   * "never" requires real data.
   */
  synthetic?: "auto" | "always" | "never";
  /** Generator sizes and seed. */
  generator?: SyntheticOptions;
  /** Real passkey/needle data: keep only these context lengths (default: every length in the files). */
  contextLengths?: readonly number[];
  /** BRIGHT: the long-document setting (long_documents, gold_ids_long). */
  brightLong?: boolean;
  env?: Record<string, string | undefined>;
}

export { TaskDataMissing };

function missing(benchmark: BenchmarkName, task: TaskDefinition, dataset: string, options: LoadOptions): TaskDataMissing {
  const where = options.dataDir ? `under ${options.dataDir} (as ${dataset}, or its last path part) or ` : "";
  return new TaskDataMissing(
    `${benchmarkDefinition(benchmark).title} task "${task.id}": dataset ${dataset} not found ${where}in the Hugging Face hub cache; ` +
      `download it there or pass --data <folder>`,
  );
}

/** Loads one task's data from disk, or generates it (LongEmbed passkey/needle) when allowed. */
export async function loadTask(benchmark: BenchmarkName, task: TaskDefinition, options: LoadOptions = {}): Promise<TaskData> {
  const def = benchmarkDefinition(benchmark);
  const synthetic = options.synthetic ?? "auto";
  const find = (dataset: string, looksRight: (root: string) => boolean) =>
    resolveDataset(dataset, looksRight, { ...(options.dataDir ? { dataDir: options.dataDir } : {}), ...(options.env ? { env: options.env } : {}) });

  if (benchmark === "longembed") {
    const dataset = def.dataset as string;
    const canGenerate = task.generated === true && synthetic !== "never";
    if (canGenerate && synthetic === "always") return generateFor(task, options);
    const resolved = await find(dataset, (root) => looksLikeLongEmbed(root, [task.config ?? task.id]));
    if (resolved) {
      const lengths = task.perContextLength ? options.contextLengths : undefined;
      return loadLongEmbedTask(resolved, task, lengths ? { contextLengths: lengths } : {});
    }
    if (canGenerate) return generateFor(task, options);
    throw missing(benchmark, task, dataset, options);
  }
  if (benchmark === "bright") {
    const dataset = def.dataset as string;
    const resolved = await find(dataset, looksLikeBright);
    if (!resolved) throw missing(benchmark, task, dataset, options);
    return loadBrightTask(resolved, task, { long: options.brightLong ?? false });
  }
  const dataset = task.dataset as string;
  const resolved = await find(dataset, looksLikeFollowIr);
  if (!resolved) throw missing(benchmark, task, dataset, options);
  return loadFollowIrTask(resolved, task);
}

function generateFor(task: TaskDefinition, options: LoadOptions): TaskData {
  return task.id === "passkey" ? generatePasskey(options.generator) : generateNeedle(options.generator);
}
