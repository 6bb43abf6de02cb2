#!/usr/bin/env node
import { Command } from "commander";
import { commands } from "./commands/index.js";
import { versionText } from "./version.js";

// The app only wires: each command file maps flags onto the typed options of one package call.
const program = new Command("dembed")
  .description("Language models as text embedders: export, embed, train and evaluate from Node.")
  // A bad value gets its error and one pointer, not 60 lines of help.
  .showHelpAfterError("(run with --help for usage)")
  .option("-V, --version", "print the dembed version, git commit and onnxruntime version")
  .on("option:version", () => {
    process.stdout.write(versionText());
    process.exit(0);
  });
for (const register of commands) register(program);

program.parseAsync(process.argv).catch((err: unknown) => {
  // Expected failures (bad input, missing files) are printed as one clear line, never a stack dump.
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`dembed: ${message}\n`);
  if (process.env.DEMBED_DEBUG && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
  process.exitCode = 1;
});
