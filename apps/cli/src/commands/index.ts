import type { Command } from "commander";

export type RegisterCommand = (program: Command) => void;

// One line per command file; each file exports `register`.
export const commands: RegisterCommand[] = [];
