#!/usr/bin/env node
// Builds the `dembed` CLI into apps/cli/dist: one esbuild bundle of src/main.ts with the workspace packages (@dembed/*)
// inlined from their TypeScript sources and every npm package left external, split so each command file is its own
// chunk that main.js imports only when that command runs. Usage: node scripts/build.mjs [--outdir <dir inside apps/cli>]
//
// Why a bundle and not `tsc` per package: the packages export their src/*.ts (tsx and vitest run them as they are), so
// built package dists would need a second export condition and a loader flag on every run; a bundle needs neither.
// What that costs, and how it is paid:
// - npm packages are resolved from apps/cli at run time, so the CLI must depend on every npm package the bundled
//   workspace packages depend on, at the same version spec (one installed copy). The build fails naming any missing.
// - code that finds files through import.meta.url now runs from dist/: the onnx worker script is copied beside the
//   chunks (createWorkerSession looks for ./worker.mjs first), and dist/ sits where src/ did, one level under apps/cli.
import { cpSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname, isAbsolute, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import * as esbuild from "esbuild";

const cliDir = fileURLToPath(new URL("..", import.meta.url));
const repoDir = resolve(cliDir, "../..");
const readJson = (file) => JSON.parse(readFileSync(file, "utf8"));

/** The package a bare import names: "protobufjs/light.js" → "protobufjs", "@scope/pkg/x" → "@scope/pkg". */
const packageOf = (specifier) => specifier.split("/").slice(0, specifier.startsWith("@") ? 2 : 1).join("/");

/** Bundle @dembed/* and relative imports; leave node builtins and npm packages to Node's resolver. */
const externalNpm = {
  name: "external-npm",
  setup(build) {
    build.onResolve({ filter: /^[^./]/ }, (args) => {
      if (args.path.startsWith("@dembed/")) return undefined;
      return { path: args.path, external: true };
    });
  },
};

/** Every npm dependency of a bundled workspace package must be one of the CLI's, with the same spec. */
function checkDependencies(metafile) {
  const cli = readJson(join(cliDir, "package.json")).dependencies ?? {};
  const packageDirs = new Set();
  for (const input of Object.keys(metafile.inputs)) {
    let dir = dirname(resolve(repoDir, input));
    while (dir.startsWith(repoDir) && dir !== repoDir && !existsSync(join(dir, "package.json"))) dir = dirname(dir);
    if (dir !== repoDir) packageDirs.add(dir);
  }
  const problems = [];
  for (const dir of packageDirs) {
    const { name, dependencies = {} } = readJson(join(dir, "package.json"));
    for (const [dep, spec] of Object.entries(dependencies)) {
      if (dep.startsWith("@dembed/")) continue;
      if (cli[dep] !== spec) problems.push(`${dep}@${spec} (needed by ${name}; apps/cli has ${cli[dep] ?? "none"})`);
    }
  }
  if (problems.length > 0) {
    throw new Error(
      `apps/cli/package.json must depend on what the bundled packages import, at the same spec:\n  ${problems.join("\n  ")}\n` +
        "add them with: npx -y pnpm@10.34.8 add --filter @dembed/cli <name>@<spec>",
    );
  }
}

export async function buildCli(outdir) {
  if (!resolve(outdir).startsWith(cliDir)) throw new Error(`--outdir ${outdir} must be inside ${cliDir}, where its npm packages resolve`);
  // Build beside the target and swap, so a half-written dist/ is never run.
  const staging = `${resolve(outdir)}.building-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  try {
    const result = await esbuild.build({
      absWorkingDir: repoDir,
      entryPoints: [join(cliDir, "src/main.ts")],
      outdir: staging,
      bundle: true,
      splitting: true,
      format: "esm",
      platform: "node",
      target: "node20",
      sourcemap: true,
      metafile: true,
      logLevel: "warning",
      plugins: [externalNpm],
    });
    checkDependencies(result.metafile);
    const onnxSrc = dirname(fileURLToPath(import.meta.resolve("@dembed/onnx")));
    cpSync(join(onnxSrc, "worker.mjs"), join(staging, "worker.mjs"));
    // bin/dembed.mjs compares these files' times with the build's, to warn when dist/ is older than the sources.
    const inputs = [...Object.keys(result.metafile.inputs), relative(repoDir, join(onnxSrc, "worker.mjs"))];
    writeFileSync(join(staging, "inputs.json"), `${JSON.stringify(inputs.filter((f) => !isAbsolute(f)), null, 1)}\n`);
    rmSync(outdir, { recursive: true, force: true });
    mkdirSync(dirname(resolve(outdir)), { recursive: true });
    renameSync(staging, outdir);
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { outdir: { type: "string", default: join(cliDir, "dist") } } });
  const started = performance.now();
  try {
    await buildCli(resolve(values.outdir));
    process.stdout.write(`built ${relative(process.cwd(), resolve(values.outdir)) || "."} in ${Math.round(performance.now() - started)} ms\n`);
  } catch (err) {
    process.stderr.write(`dembed build: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  }
}
