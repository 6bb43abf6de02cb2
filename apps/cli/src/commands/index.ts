import type { Command } from "commander";
import { register as metrics } from "./metrics.js";
import { register as bench } from "./bench.js";
import { register as evaluate } from "./eval.js";
import { register as forward } from "./forward.js";
import { register as embed } from "./embed.js";
import { register as exportCommand } from "./export.js";
import { register as train } from "./train.js";
import { register as worker } from "./worker.js";

export type RegisterCommand = (program: Command) => void;

// One line per command file; each file exports `register`.
export const commands: RegisterCommand[] = [
  forward,
  embed,
  exportCommand,
  train,
  metrics,
  bench,
  evaluate,
  worker,
];
