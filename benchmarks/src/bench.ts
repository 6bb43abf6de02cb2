import { existsSync, mkdirSync, renameSync, rmSync } from "node:fs";
import { join, relative } from "node:path";
import { lockOutput, removeDeadTemps } from "@dembed/files";
import { formatRun } from "@dembed/metrics";
import { describeHnsw, describeIvf, type Run } from "@dembed/retrieval";
import { loadTask, TaskDataMissing, type LoadOptions } from "./load.js";
import { writeFileAtomic } from "./output/files.js";
import { MTEB_VERSION, mtebFollowIrResult, mtebModelMeta, mtebResultFolder, mtebRetrievalResult } from "./output/mteb.js";
import { contextLengthPlot, type Panel } from "./output/plot.js";
import { markdownReport, type SystemRun, type TaskResult } from "./output/report.js";
import { reproducibilityRecord } from "./output/repro.js";
import { runFollowIrTask } from "./runners/followir.js";
import { runRetrievalTask, type RetrievalTaskResult } from "./runners/retrieval.js";
import { formatSeconds, formatTotals, StageClock, stageTotals, type StageTime } from "./stages.js";
import { slug, type RunSettings, type System } from "./systems.js";
import { benchmarkDefinition, mtebTaskName, selectTasks, sourcesOf, type BenchmarkName, type TaskDefinition } from "./tasks.js";
import type { DatasetSource } from "./types.js";

export interface BenchmarkOptions {
  benchmark: BenchmarkName;
  /** Task ids. Given: each must load (missing data is an error). Absent: every task whose data is found or generated. */
  tasks?: string[];
  systems: System[];
  /** Results go to `<outDir>/<benchmark>/`. */
  outDir: string;
  load?: LoadOptions;
  settings?: RunSettings;
  /** Replaces the benchmark's query instruction ("" for none). */
  instruction?: string;
  /** The command line, for the report. */
  command?: string;
  /** Lines for the report's notes (e.g. a default model that could not be loaded). */
  notes?: string[];
}

export interface BenchmarkOutcome {
  dir: string;
  /** Per system name: its MTEB results folder, `<dir>/<model>/<revision>`. */
  resultDirs: Record<string, string>;
  reportFile: string;
  plotFile?: string;
  systems: SystemRun[];
  skipped: Array<{ task: string; reason: string }>;
  warnings: string[];
  /** Where the run's time went: data, each split's stages per system, result files, report. */
  stages: StageTime[];
}

const writeJson = (path: string, value: unknown) => writeFileAtomic(path, `${JSON.stringify(value, null, 2)}\n`);
const writeRunFile = (path: string, run: Run, tag: string) => writeFileAtomic(path, formatRun(run, tag));

/**
 * Runs a benchmark for every system: loads each task once (real data, or generated passkey/needle), runs each system
 * on it, and writes per system, in MTEB's results layout `<outDir>/<benchmark>/<model>/<revision>/`, model_meta.json,
 * one result JSON per MTEB task, TREC run files (runs/) and the reproducibility records (reproducibility.dembed, JSON
 * under a name MTEB's *.json glob skips), then the markdown report (and for LongEmbed the context-length plot). Results are written as each task finishes, so an interrupted
 * run keeps what it finished; with an embedding cache, a rerun re-embeds nothing it already has.
 */
export async function runBenchmark(options: BenchmarkOptions): Promise<BenchmarkOutcome> {
  if (options.systems.length === 0) throw new Error("no systems to run");
  const finalDir = join(options.outDir, options.benchmark);
  const log = options.settings?.log ?? (() => {});
  // One run per results folder; the run is assembled in a staging folder and swapped in whole at the end, so no
  // file of an earlier run sits beside this run's, and a killed run leaves the last complete results in place.
  const lock = await lockOutput(finalDir, { onTakeover: (m) => log(`warning: ${m}`) });
  try {
    for (const name of await removeDeadTemps(options.outDir)) log(`removed ${join(options.outDir, name)}, left by a run that is gone`);
    const staging = `${finalDir}.tmp-${process.pid}`;
    rmSync(staging, { recursive: true, force: true });
    mkdirSync(staging, { recursive: true });
    try {
      const outcome = await runInto(staging, finalDir, options);
      const aside = `${finalDir}.old-${process.pid}`;
      if (existsSync(finalDir)) renameSync(finalDir, aside);
      renameSync(staging, finalDir);
      rmSync(aside, { recursive: true, force: true });
      return outcome;
    } catch (error) {
      rmSync(staging, { recursive: true, force: true });
      throw error;
    }
  } finally {
    await lock.release();
  }
}

/** The benchmark run proper: every file goes to `dir`; the outcome names the paths they will have in `finalDir`. */
async function runInto(dir: string, finalDir: string, options: BenchmarkOptions): Promise<BenchmarkOutcome> {
  const names = options.systems.map((s) => s.name);
  const duplicate = names.find((n, i) => names.indexOf(n) !== i);
  if (duplicate) throw new Error(`two systems are named "${duplicate}"; names must differ`);
  const def = benchmarkDefinition(options.benchmark);
  const explicit = options.tasks !== undefined && options.tasks.length > 0 && !(options.tasks.length === 1 && options.tasks[0] === "all");
  const tasks = selectTasks(options.benchmark, options.tasks);
  const instruction = options.instruction ?? def.instruction;
  const log = options.settings?.log ?? (() => {});
  const runs: SystemRun[] = options.systems.map((system) => ({ system, results: [], records: {} }));
  const folders = resultFolders(dir, runs, instruction);
  const sources: Record<string, DatasetSource> = {};
  const skipped: Array<{ task: string; reason: string }> = [];
  const warnings: string[] = [];
  const clock = new StageClock();
  const started = performance.now();

  for (const task of tasks) {
    let data;
    const loadStarted = performance.now();
    try {
      data = await loadTask(options.benchmark, task, options.load);
    } catch (err) {
      if (explicit || !(err instanceof TaskDataMissing)) throw err;
      skipped.push({ task: task.id, reason: (err as Error).message });
      log(`skipped ${task.id}: data not found`);
      continue;
    }
    const loadSeconds = (performance.now() - loadStarted) / 1000;
    clock.add({ stage: "data", task: task.id, seconds: loadSeconds });
    log(`${def.title} ${task.id}: data ${data.source.kind === "generated" ? "generated" : "read"} in ${formatSeconds(loadSeconds)}`);
    sources[task.id] = data.source;
    warnings.push(...data.warnings);
    data.warnings.forEach((w) => log(`warning: ${w}`));
    for (const run of runs) {
      log(`${def.title} ${task.id}: ${run.system.name}`);
      const result: TaskResult =
        data.benchmark === "followir"
          ? await runFollowIrTask(data, task.secondaryMetric ?? "map_at_1000", run.system, instruction, options.settings)
          : await runRetrievalTask(data, task.mainMetric, run.system, instruction, options.settings);
      run.results.push(result);
      run.records[task.id] = reproducibilityRecord(run.system, data.source, result.embedding, result.instruction, options.settings?.batchSize);
      clock.addAll(result.stages);
      clock.timeSync({ stage: "files", task: task.id, system: run.system.name }, () => writeTaskOutputs(folders.get(run)!, options.benchmark, task, run));
    }
  }
  if (runs.every((r) => r.results.length === 0)) {
    throw new Error(`${def.title}: no task could be run. ${skipped.map((s) => s.reason).join(" ")}`);
  }

  const reportStarted = performance.now();
  let plotFile: string | undefined;
  if (options.benchmark === "longembed") plotFile = writePlot(dir, runs);
  const reportFile = join(dir, "report.md");
  writeFileAtomic(
    reportFile,
    markdownReport({
      stages: [...clock.entries],
      runSeconds: (reportStarted - started) / 1000,
      benchmark: options.benchmark,
      systems: runs,
      sources,
      skipped,
      warnings,
      ...(plotFile ? { plotFile } : {}),
      ...(options.command ? { command: options.command } : {}),
      ...(options.settings?.brightProtocol ? { protocol: options.settings.brightProtocol } : {}),
      ...(options.settings?.followirScoring ? { followirScoring: options.settings.followirScoring } : {}),
      ...(options.settings && options.benchmark !== "followir" ? approximateSearch(options.settings) : {}),
      ...(options.settings?.corpusStorage && options.settings.corpusStorage !== "f32" ? { corpusStorage: options.settings.corpusStorage } : {}),
      ...(options.notes?.length ? { notes: options.notes } : {}),
      resultDirs: Object.fromEntries(runs.map((r) => [r.system.name, relative(dir, folders.get(r)!)])),
    }),
  );
  clock.add({ stage: "report", seconds: (performance.now() - reportStarted) / 1000 });
  log(`${def.title} stage times: ${formatTotals(stageTotals(clock.entries))}; ${formatSeconds((performance.now() - started) / 1000)} in all`);
  const resultDirs = Object.fromEntries(runs.map((r) => [r.system.name, join(finalDir, relative(dir, folders.get(r)!))]));
  return { dir: finalDir, resultDirs, reportFile: join(finalDir, "report.md"), ...(plotFile ? { plotFile: join(finalDir, plotFile) } : {}), systems: runs, skipped, warnings, stages: [...clock.entries] };
}

/** The report's line on how dense search found its top k, when it did not score every document. */
function approximateSearch(settings: RunSettings): { approximateSearch?: string } {
  if (settings.index === "hnsw") return { approximateSearch: describeHnsw(settings.hnsw ?? {}) };
  if (settings.index === "ivf") return { approximateSearch: describeIvf(settings.ivf ?? {}) };
  return {};
}

/** Each system's MTEB results folder, with its model_meta.json written; two systems may not share one. */
function resultFolders(dir: string, runs: SystemRun[], instruction: string): Map<SystemRun, string> {
  const folders = new Map<SystemRun, string>();
  for (const run of runs) {
    const meta = mtebModelMeta(run.system, instruction);
    const folder = join(dir, mtebResultFolder(meta));
    const clash = [...folders].find(([, f]) => f === folder);
    if (clash) throw new Error(`systems "${clash[0].system.name}" and "${run.system.name}" would share the results folder ${relative(dir, folder)}`);
    folders.set(run, folder);
    writeJson(join(folder, "model_meta.json"), meta);
  }
  return folders;
}

/** Writes one system's files for the task just finished (BRIGHT's merged BrightRetrieval.json is rewritten each time). */
function writeTaskOutputs(sysDir: string, benchmark: BenchmarkName, task: TaskDefinition, run: SystemRun): void {
  const tag = slug(run.system.name);
  const result = run.results[run.results.length - 1] as TaskResult;
  const name = mtebTaskName(benchmark, task);
  // MTEB knows passkey and needle: generated data still names the dataset revision MTEB's task reads.
  const mtebRevision = sourcesOf(benchmark, task).find((s) => s.readBy.includes(`MTEB ${MTEB_VERSION}`))?.revision ?? null;
  const ctx = { taskName: name, system: run.system.name, record: run.records[task.id]!, mtebRevision };
  if (result.kind === "followir") {
    writeRunFile(join(sysDir, "runs", `${task.id}_og.trec`), result.runOg, tag);
    writeRunFile(join(sysDir, "runs", `${task.id}_changed.trec`), result.runChanged, tag);
    writeJson(join(sysDir, `${name}.json`), mtebFollowIrResult(ctx, result));
  } else {
    for (const s of result.splits) {
      writeRunFile(join(sysDir, "runs", result.splits.length > 1 ? `${task.id}_${s.split}.trec` : `${task.id}.trec`), s.run, tag);
    }
    // BRIGHT is one MTEB task with a subset per domain: its file gathers every domain run so far.
    const sameFile = run.results.filter((r): r is RetrievalTaskResult => r.kind === "retrieval" && (benchmark === "bright" || r.taskId === task.id));
    writeJson(join(sysDir, `${name}.json`), mtebRetrievalResult(ctx, sameFile, (r) => (benchmark === "bright" ? r.taskId : "default")));
  }
  // JSON, but not named *.json: MTEB loads every *.json beside model_meta.json as a task result.
  writeJson(join(sysDir, "reproducibility.dembed"), run.records);
}

function writePlot(dir: string, runs: SystemRun[]): string | undefined {
  const def = benchmarkDefinition("longembed");
  const panels: Panel[] = def.tasks
    .filter((t) => t.perContextLength)
    .map((t) => ({
      title: `${t.label} (${t.mainMetric === "ndcg_at_1" ? "nDCG@1" : t.mainMetric})`,
      series: runs.flatMap((run) => {
        const r = run.results.find((x): x is RetrievalTaskResult => x.taskId === t.id && x.kind === "retrieval");
        return r ? [{ name: run.system.name, points: r.splits.map((s) => ({ x: s.contextLength as number, y: s.mainScore * 100 })) }] : [];
      }),
    }))
    .filter((p) => p.series.length > 0);
  if (panels.length === 0) return undefined;
  const file = "context-length.svg";
  writeFileAtomic(join(dir, file), contextLengthPlot(panels, "LongEmbed synthetic tasks: score against context length"));
  return file;
}
