#!/usr/bin/env node
// Runs the built CLI in ../dist (`npx -y pnpm@10.34.8 build`). `npx -y pnpm@10.34.8 dembed …` runs the TypeScript
// sources through tsx instead: seconds slower to start, but always current.
import { existsSync, readFileSync, statSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { hugePagesEnv, relaunch } from "./huge-pages.mjs";

const dist = new URL("../dist/", import.meta.url);
const main = new URL("main.js", dist);
if (!existsSync(main)) {
  process.stderr.write(
    `dembed: the CLI is not built (${fileURLToPath(main)} is missing); run \`npx -y pnpm@10.34.8 build\` in the repository, ` +
      "or `npx -y pnpm@10.34.8 dembed …` to run the sources\n",
  );
  process.exit(1);
}
const relaunchEnv = hugePagesEnv(process.argv.slice(2), process.env);
if (relaunchEnv) await relaunch(relaunchEnv); // the child warns about a stale build, once
warnIfStale();
await import(main.href);

/** A dist/ older than a source it was built from would run yesterday's code without a word; name the newest such file. */
function warnIfStale() {
  let inputs;
  try {
    inputs = JSON.parse(readFileSync(new URL("inputs.json", dist), "utf8"));
  } catch {
    return; // a build without the list (or a packed copy): nothing to compare
  }
  const built = statSync(main).mtimeMs;
  const repo = new URL("../../../", import.meta.url);
  for (const input of inputs) {
    const changed = statSync(new URL(input, repo), { throwIfNoEntry: false });
    if (changed === undefined || changed.mtimeMs > built) {
      process.stderr.write(
        `dembed: warning: ${input} is ${changed ? "newer than" : "gone since"} the build in apps/cli/dist; ` +
          "run `npx -y pnpm@10.34.8 build` to pick up source changes\n",
      );
      return;
    }
  }
}
