import { z } from "zod";
import raw from "./tasks.json" with { type: "json" };

const Published = z.object({
  system: z.string(),
  source: z.string(),
  scores: z.record(z.string(), z.number()),
  average: z.number().nullable(),
  /** BRIGHT: the exclusion protocol the numbers were produced under (see BRIGHT_PROTOCOLS). */
  protocol: z.enum(["bright", "mteb-1.14", "paper"]).optional(),
});

/** The on-disk layouts dembed reads (see loaders/): which files a copy of `dataset` holds. */
export const LAYOUTS = ["longembed", "mteb-retrieval", "bright", "followir", "mteb-instructions"] as const;
export type Layout = (typeof LAYOUTS)[number];

/** One Hugging Face dataset that holds a task's data, at a pinned commit (null: no pin could be found). */
const Source = z.object({
  dataset: z.string(),
  revision: z.string().regex(/^[0-9a-f]{40}$/, "a 40-hex commit").nullable(),
  layout: z.enum(LAYOUTS),
  /** Who read this dataset at this revision (e.g. "MTEB 1.14.12"): where the pin comes from. */
  readBy: z.array(z.string()).min(1),
});

const TaskDef = z.object({
  id: z.string(),
  label: z.string(),
  mtebName: z.string().optional(),
  config: z.string().optional(),
  /** Replaces the benchmark's sources; tried in order, the first found on disk is read. */
  sources: z.array(Source).min(1).optional(),
  splits: z.array(z.string()).min(1),
  mainMetric: z.string(),
  secondaryMetric: z.string().optional(),
  perContextLength: z.boolean().optional(),
  generated: z.boolean().optional(),
});

const BenchmarkDef = z.object({
  title: z.string(),
  /** Where every task's data lives unless the task lists its own sources. */
  sources: z.array(Source).min(1).optional(),
  /** Revisions other evaluations read, named by who read them (recorded in the report). */
  knownRevisions: z.record(z.string(), z.string()).optional(),
  instruction: z.string(),
  mtebName: z.string().optional(),
  contextLengths: z.array(z.number().int().positive()).optional(),
  tasks: z.array(TaskDef).min(1),
  published: z.array(Published),
});

const File = z.object({
  benchmarks: z.object({ longembed: BenchmarkDef, bright: BenchmarkDef, followir: BenchmarkDef }),
});

export type BenchmarkName = "longembed" | "bright" | "followir";
export const BENCHMARKS: readonly BenchmarkName[] = ["longembed", "bright", "followir"];
export type TaskDefinition = z.infer<typeof TaskDef>;
export type BenchmarkDefinition = z.infer<typeof BenchmarkDef>;
export type PublishedScores = z.infer<typeof Published>;
export type DataSource = z.infer<typeof Source>;

const parsed = File.safeParse(raw);
if (!parsed.success) {
  throw new Error(`benchmarks/src/tasks.json is invalid: ${z.prettifyError(parsed.error)}`);
}
const definitions = parsed.data.benchmarks;
for (const [name, def] of Object.entries(definitions)) {
  const bare = def.tasks.find((t) => !t.sources && !def.sources);
  if (bare) throw new Error(`benchmarks/src/tasks.json: ${name} task "${bare.id}" has no sources (give the task or the benchmark "sources")`);
}

export function benchmarkDefinition(name: BenchmarkName): BenchmarkDefinition {
  return definitions[name];
}

/** The MTEB task name a task's result JSON carries. */
export function mtebTaskName(benchmark: BenchmarkName, task: TaskDefinition): string {
  return task.mtebName ?? definitions[benchmark].mtebName ?? task.id;
}

/** The datasets a task's data may be read from, in the order they are tried. */
export function sourcesOf(benchmark: BenchmarkName, task: TaskDefinition): DataSource[] {
  return task.sources ?? definitions[benchmark].sources ?? [];
}

/** Resolves task ids (or "all") to definitions, in the benchmark's order; an unknown id lists the known ones. */
export function selectTasks(benchmark: BenchmarkName, ids: readonly string[] | undefined): TaskDefinition[] {
  const all = definitions[benchmark].tasks;
  if (!ids || ids.length === 0 || (ids.length === 1 && ids[0] === "all")) return all;
  const known = new Map(all.map((t) => [t.id, t]));
  for (const id of ids) {
    if (!known.has(id)) {
      throw new Error(`${definitions[benchmark].title} has no task "${id}"; tasks: ${all.map((t) => t.id).join(", ")}`);
    }
  }
  return all.filter((t) => ids.includes(t.id));
}

export function isBenchmarkName(name: string): name is BenchmarkName {
  return (BENCHMARKS as readonly string[]).includes(name);
}
