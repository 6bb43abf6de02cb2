import { TaskDataMissing } from "./data/fields.js";
import { resolveDataset, RevisionMismatch, type ResolvedDataset, type RevisionPolicy } from "./data/resolve.js";
import { generateNeedle, generatePasskey, type SyntheticOptions } from "./generate/synthetic.js";
import { loadBrightTask, looksLikeBright } from "./loaders/bright.js";
import { loadFollowIrTask, looksLikeFollowIr } from "./loaders/followir.js";
import { loadMtebInstructionsTask, looksLikeMtebInstructions } from "./loaders/followir-mteb.js";
import { loadLongEmbedTask, loadMtebLongEmbedTask, looksLikeLongEmbed, looksLikeMtebRetrieval } from "./loaders/longembed.js";
import { benchmarkDefinition, sourcesOf, type BenchmarkName, type Layout, type TaskDefinition } from "./tasks.js";
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
  /** "pinned" (default): read only the revisions tasks.json pins; "any": whatever copy is on disk. */
  revision?: RevisionPolicy;
  env?: Record<string, string | undefined>;
}

export { TaskDataMissing };

/** How to recognise and read each layout a task's sources may be in. */
const LAYOUTS = {
  longembed: { looksRight: (root, task) => looksLikeLongEmbed(root, [task.config ?? task.id]), load: (r, task, o) => loadLongEmbedTask(r, task, lengths(task, o)) },
  "mteb-retrieval": { looksRight: (root) => looksLikeMtebRetrieval(root), load: (r, task, o) => loadMtebLongEmbedTask(r, task, lengths(task, o)) },
  bright: { looksRight: (root) => looksLikeBright(root), load: (r, task, o) => loadBrightTask(r, task, { long: o.brightLong ?? false }) },
  followir: { looksRight: (root) => looksLikeFollowIr(root), load: (r, task) => loadFollowIrTask(r, task) },
  "mteb-instructions": { looksRight: (root) => looksLikeMtebInstructions(root), load: (r, task) => loadMtebInstructionsTask(r, task) },
} satisfies Record<Layout, { looksRight(root: string, task: TaskDefinition): boolean; load(r: ResolvedDataset, task: TaskDefinition, o: LoadOptions): Promise<TaskData> }>;

function lengths(task: TaskDefinition, options: LoadOptions): { contextLengths?: readonly number[] } {
  return task.perContextLength && options.contextLengths ? { contextLengths: options.contextLengths } : {};
}

function missing(benchmark: BenchmarkName, task: TaskDefinition, options: LoadOptions): TaskDataMissing {
  const names = sourcesOf(benchmark, task).map((s) => s.dataset);
  const where = options.dataDir ? `under ${options.dataDir} (as ${names.join(" or ")}, or its last path part) or ` : "";
  return new TaskDataMissing(
    `${benchmarkDefinition(benchmark).title} task "${task.id}": dataset ${names.join(" or ")} not found ${where}in the Hugging Face hub cache; ` +
      `download it there or pass --data <folder>`,
  );
}

/**
 * Loads one task's data from disk, or generates it (LongEmbed passkey/needle) when allowed. The task's sources are
 * tried in order; the first found at its pinned revision (or, with revision "any", at any revision) is read. A copy
 * found only at another revision stops the load with a RevisionMismatch rather than falling back to generated data.
 */
export async function loadTask(benchmark: BenchmarkName, task: TaskDefinition, options: LoadOptions = {}): Promise<TaskData> {
  const synthetic = options.synthetic ?? "auto";
  const canGenerate = task.generated === true && synthetic !== "never";
  if (canGenerate && synthetic === "always") return generateFor(task, options);
  let mismatch: RevisionMismatch | undefined;
  for (const source of sourcesOf(benchmark, task)) {
    const layout = LAYOUTS[source.layout];
    let resolved: ResolvedDataset | undefined;
    try {
      resolved = await resolveDataset(source.dataset, (root) => layout.looksRight(root, task), {
        pin: source.revision,
        ...(options.revision ? { policy: options.revision } : {}),
        ...(options.dataDir ? { dataDir: options.dataDir } : {}),
        ...(options.env ? { env: options.env } : {}),
      });
    } catch (err) {
      // Another source may still be there at its pinned revision; the mismatch is reported only if none is.
      if (!(err instanceof RevisionMismatch)) throw err;
      mismatch ??= err;
    }
    if (resolved) return layout.load(resolved, task, options);
  }
  if (mismatch) throw mismatch;
  if (canGenerate) return generateFor(task, options);
  throw missing(benchmark, task, options);
}

function generateFor(task: TaskDefinition, options: LoadOptions): TaskData {
  return task.id === "passkey" ? generatePasskey(options.generator) : generateNeedle(options.generator);
}
