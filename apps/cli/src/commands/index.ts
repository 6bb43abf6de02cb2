import type { Command } from "commander";

export type RegisterCommand = (program: Command) => void;

/**
 * One entry per command. `dembed --help` lists `name`, `args` and `summary` without loading any command file;
 * running a command (or `dembed help <name>`) imports only its file, whose `register` adds the full command. Command
 * files import their packages at top level, so this lazy import is what keeps `--help` from loading onnxruntime, arrow
 * and zod. A test checks each entry's name and arguments against what its file registers.
 */
export interface CommandEntry {
  name: string;
  /** The arguments as commander writes them in the command list, e.g. "<tasks...>"; "" for none. */
  args: string;
  /** One line for the command list; the command's own --help shows its full description. */
  summary: string;
  load: () => Promise<{ register: RegisterCommand }>;
}

export const commands: CommandEntry[] = [
  { name: "forward", args: "", summary: "Run a model on token ids; write last_hidden_state as JSON", load: () => import("./forward.js") },
  { name: "embed", args: "", summary: "Embed texts: JSONL in, JSONL embeddings out", load: () => import("./embed.js") },
  { name: "export", args: "", summary: "Write a model as an ONNX folder that transformers.js loads", load: () => import("./export.js") },
  { name: "train", args: "", summary: "LoRA-train an embedder with GradCache from a JSON config", load: () => import("./train.js") },
  { name: "metrics", args: "", summary: "Score a run against qrels with trec_eval semantics", load: () => import("./metrics.js") },
  { name: "bench", args: "<benchmark>", summary: "Run LongEmbed, BRIGHT or FollowIR; write results, a report", load: () => import("./bench.js") },
  { name: "eval", args: "<tasks...>", summary: "Evaluate models on tasks of any benchmarks", load: () => import("./eval.js") },
  { name: "worker", args: "", summary: "Embed queued shards for --queue runs (BullMQ on Redis)", load: () => import("./worker.js") },
];
