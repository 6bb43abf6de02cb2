import { BENCHMARKS, isBenchmarkName, type BenchmarkName } from "@dembed/benchmarks";
import type { Command } from "commander";
import { recordedCommand } from "@dembed/files";
import { addEvalOptions, mergeOptionsFor, runFromOptions } from "./bench.js";
import type { RegisterCommand } from "./index.js";

/** "bright:biology" → { benchmark, task }; a bare benchmark name means all of its tasks. */
function parseTaskRef(ref: string): { benchmark: BenchmarkName; task?: string } {
  const [benchmark, task, extra] = ref.split(":");
  if (!benchmark || !isBenchmarkName(benchmark) || extra !== undefined) {
    throw new Error(`"${ref}" is not <benchmark>[:<task>] with benchmark one of ${BENCHMARKS.join(", ")}`);
  }
  return task ? { benchmark, task } : { benchmark };
}

/** `dembed eval <benchmark:task ...>`: any tasks of any benchmarks, in one call. */
export const register: RegisterCommand = (program) => {
  addEvalOptions(
    program
      .command("eval")
      .description("Evaluate models on benchmark tasks, e.g. `dembed eval longembed:passkey bright:biology --model bm25`.")
      .argument("<tasks...>", "tasks as <benchmark>:<task> (or a bare benchmark for all its tasks)"),
  ).action(async (refs: string[], _flags: Record<string, unknown>, cmd: Command) => {
    const byBenchmark = new Map<BenchmarkName, Set<string> | "all">();
    for (const { benchmark, task } of refs.map(parseTaskRef)) {
      const current = byBenchmark.get(benchmark);
      if (!task || current === "all") byBenchmark.set(benchmark, "all");
      else byBenchmark.set(benchmark, (current ?? new Set<string>()).add(task));
    }
    const { tasks: _fromFlags, ...options } = mergeOptionsFor(cmd);
    if (_fromFlags !== undefined) throw new Error("eval takes its tasks as arguments (<benchmark>:<task>), not --tasks");
    const work = [...byBenchmark].map(([benchmark, tasks]) => (tasks === "all" ? { benchmark } : { benchmark, tasks: [...tasks] }));
    await runFromOptions(options, work, recordedCommand());
  });
};
