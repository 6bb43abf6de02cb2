import type { Command } from "commander";
import { register as metrics } from "./metrics.js";

export type RegisterCommand = (program: Command) => void;

// One line per command file; each file exports `register`.
export const commands: RegisterCommand[] = [
  metrics,
];
