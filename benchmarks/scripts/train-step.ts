// Prints the GradCache training step's cost: step time, peak RSS and the share of the step spent outside ORT (loss,
// pooling, dropout masks, optimizer, data), for the tiny model and a Qwen2-0.5B-shaped one (random weights; hidden 896,
// 24 layers, 14 heads, 2 kv heads, intermediate 4864, vocab 151936), LoRA r 16 on all seven projections, 8 sequences
// × 256 tokens per step (4 queries + 4 documents), HardNegativeNLL, AdamW, the real train() loop.
//   npx tsx benchmarks/scripts/train-step.ts [--model tiny|qwen0.5b|both] [--chunk 1] [--steps 4] [--threads N]
//                                              [--prepack all|none|q_proj,…]  (whose weights ORT pre-packs; default the trainer's)
//                                              [--arena on|off]  (ORT's CPU memory arena; default on)
//                                              [--session-config key=value …] (ORT session entries, e.g. session.intra_op.allow_spinning=0)
//                                              [--profile]  (ORT's profiler on: the top 10 op types and forward/backward split;
//                                                            it slows the steps, so their times are not the step's cost)
//                                              [--anchor auto|off]  (the PyTorch anchor: auto runs it when Python has it)
//                                              [--model-dir <folder>]  (the 0.5B checkpoint; default $TMPDIR/dembed-bench-qwen2-0.5b,
//                                                                       written once and reused, as forward-speed.ts does)
// Each model runs in its own child process so its peak RSS is its own. Targets (0.5B): ≤ 24 s/step, ≤ 4 GiB,
// < 10 % outside ORT, ≥ 3× the PyTorch anchor.
// The anchor (anchors/train_step.py: PyTorch 2 + transformers + peft, SDPA, the same model files, LoRA, batch and loss)
// runs after each model when $DEMBED_PYTHON (default python3) imports torch, transformers and peft; the script then
// prints both figures and their ratio, measured minutes apart on the same machine.
import { spawnSync } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { createTinyModel } from "@dembed/models";
import { readProfile, withHugePages } from "@dembed/onnx";
import { DEFAULT_PREPACK, createModelRun, parsePrepack, parseTrainConfig, train, type ContrastiveExample, type PrepackChoice, type TrainText } from "@dembed/train";
import { QWEN2_05B_DIR, ensureQwen05b } from "./qwen-0.5b.js";
import { startRssSampler } from "./rss-sampler.js";

const { values } = parseArgs({
  options: {
    model: { type: "string", default: "both" },
    // One sequence per GradCache chunk keeps the backward's activations, and so the peak, smallest (3.15 GiB
    // against 4.1 GiB at chunk 2 on the 0.5B shape) at the same step time.
    chunk: { type: "string", default: "1" },
    steps: { type: "string", default: "4" },
    threads: { type: "string" },
    prepack: { type: "string" },
    arena: { type: "string", default: "on" },
    profile: { type: "boolean", default: false },
    "session-config": { type: "string", multiple: true, default: [] },
    anchor: { type: "string", default: "auto" },
    child: { type: "boolean", default: false },
    dir: { type: "string" },
    "model-dir": { type: "string", default: QWEN2_05B_DIR },
    result: { type: "string" },
  },
});

const TOKENS = 256;

interface StepResult {
  step_seconds: number;
  peak_rss_gib: number;
}

if (!values.child) {
  if (values.anchor !== "auto" && values.anchor !== "off") throw new Error(`--anchor: auto or off, got ${values.anchor}`);
  if (values.arena !== "on" && values.arena !== "off") throw new Error(`--arena: on or off, got ${values.arena}`);
  const python = values.anchor === "auto" ? pythonWithTorch() : undefined;
  const models = values.model === "both" ? ["tiny", "qwen0.5b"] : [values.model!];
  for (const model of models) {
    const root = await mkdtemp(join(tmpdir(), "dembed-train-step-"));
    try {
      const dir = await modelFolder(model, root);
      const resultFile = join(root, "dembed.json");
      const args = [process.argv[1]!, "--child", "--model", model, "--dir", dir, "--result", resultFile, "--chunk", values.chunk!, "--steps", values.steps!, ...(values.threads ? ["--threads", values.threads] : []), ...(values.prepack ? ["--prepack", values.prepack] : []), "--arena", values.arena!, ...(values.profile ? ["--profile"] : []), ...values["session-config"]!.flatMap((c) => ["--session-config", c])];
      const r = spawnSync(process.execPath, [...process.execArgv, ...args], { env: withHugePages(process.env), stdio: "inherit" });
      if (r.status !== 0) process.exit(r.status ?? 1);
      const ours = JSON.parse(await readFile(resultFile, "utf8")) as StepResult;
      if (python === undefined) continue; // --anchor off
      if (typeof python !== "string") {
        console.log(`${model}: PyTorch anchor not measured: ${python.why}`);
        continue;
      }
      // Gradient checkpointing is how llm2vec's supervised configs train; plain holds every activation (fewer FLOPs).
      for (const checkpointing of [true, false]) {
        const anchor = runAnchor(python, dir, checkpointing);
        if (!anchor) continue;
        const ratio = anchor.step_seconds / ours.step_seconds;
        console.log(
          `${model}: dembed ${ours.step_seconds.toFixed(2)} s/step at ${ours.peak_rss_gib.toFixed(2)} GiB; PyTorch ${checkpointing ? "with gradient checkpointing" : "plain"} ${anchor.step_seconds.toFixed(2)} s/step at ${anchor.peak_rss_gib.toFixed(2)} GiB → dembed is ${ratio.toFixed(2)}× as fast, load average ${loadavg()[0]!.toFixed(1)}`,
        );
      }
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  }
} else {
  await measure(values.model!, values.dir!, values.result!, Number(values.chunk), Number(values.steps));
}

/** $DEMBED_PYTHON (default python3) when it imports what the anchor needs; otherwise why not. */
function pythonWithTorch(): string | { why: string } {
  const python = process.env.DEMBED_PYTHON ?? "python3";
  const probe = spawnSync(python, ["-c", "import torch, transformers, peft; print(torch.__version__, transformers.__version__, peft.__version__)"], { encoding: "utf8" });
  if (probe.status === 0) {
    console.log(`PyTorch anchor: ${python} (torch, transformers, peft: ${probe.stdout.trim()})`);
    return python;
  }
  return { why: `${python} cannot import torch, transformers and peft (pip install torch transformers peft, or set DEMBED_PYTHON to a Python that has them)` };
}

/** The same step in PyTorch on the same model files, after ours: the two never share the cores. */
function runAnchor(python: string, dir: string, checkpointing: boolean): StepResult | undefined {
  const script = fileURLToPath(new URL("./anchors/train_step.py", import.meta.url));
  const args = [script, "--model-dir", dir, "--tokens", String(TOKENS), "--steps", values.steps!, ...(values.threads ? ["--threads", values.threads] : []), ...(checkpointing ? ["--checkpointing"] : [])];
  const r = spawnSync(python, args, {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, TRANSFORMERS_VERBOSITY: "error", HF_HUB_OFFLINE: "1" },
  });
  const lines = (r.stdout ?? "").split("\n");
  for (const line of lines) if (line.startsWith("  pytorch")) console.log(line);
  const result = lines.find((l) => l.startsWith("RESULT "));
  if (r.status !== 0 || !result) {
    console.log(`PyTorch anchor failed (exit ${r.status}):\n${r.stderr}`);
    return undefined;
  }
  return JSON.parse(result.slice("RESULT ".length)) as StepResult;
}

/**
 * The checkpoint to train: the tiny model in `root`, or the 0.5B shape in --model-dir, written once and reused. A
 * checkpoint written just before the run trained slower: its 2 GB of pages were still being written back while ORT
 * read them (none pre-packed: 26–34 s per step against 21–22 s on a settled file, 2026-12-04), and real runs start
 * from a downloaded checkpoint.
 */
async function modelFolder(model: string, root: string): Promise<string> {
  return model === "tiny" ? createTinyModel("qwen2", join(root, model), { seed: 1 }) : ensureQwen05b(values["model-dir"]!);
}

/** Where the training session's kernel time went, over every run of the steps (both GradCache passes). */
function printProfile(p: Awaited<ReturnType<typeof readProfile>>): void {
  const pct = (share: number) => `${(100 * share).toFixed(1)} %`;
  console.log(`ORT profile: ${p.runs} runs, ${(p.runMs / 1000).toFixed(1)} s in runs, ${(p.kernelMs / 1000).toFixed(1)} s in kernels (${pct(p.kernelMs / p.runMs)})`);
  const backward = p.byScope.find((r) => r.key === "vjp");
  console.log(`  backward (vjp/…) ${pct(backward?.share ?? 0)}, forward ${pct(1 - (backward?.share ?? 0))} of kernel time`);
  console.log("  top 10 op types by kernel time:");
  for (const r of p.byOp.slice(0, 10)) console.log(`    ${r.key.padEnd(24)} ${(r.ms / 1000).toFixed(2).padStart(8)} s  ${pct(r.share).padStart(7)}  ${r.calls} calls`);
}

function sessionConfigEntries(pairs: readonly string[]): Record<string, string> {
  return Object.fromEntries(pairs.map((pair) => {
    const at = pair.indexOf("=");
    if (at <= 0) throw new Error(`--session-config ${pair}: expected key=value, e.g. session.intra_op.allow_spinning=0`);
    return [pair.slice(0, at), pair.slice(at + 1)];
  }));
}

/** Endless synthetic batches: every text is long enough to fill 256 tokens, so rows carry no padding. */
function syntheticSampler() {
  let at = 0;
  const words = "retrieval embedding diffusion language model passage query document attention layer token gradient cache".split(" ");
  const text = (seed: number) => Array.from({ length: 400 }, (_, i) => words[(seed * 7 + i * 13 + ((i * i) % 11)) % words.length]).join(" ");
  return {
    next: async (n: number): Promise<ContrastiveExample<TrainText>[]> =>
      Array.from({ length: n }, () => {
        const i = at++;
        return { query: { text: text(2 * i), instruction: "" }, positive: { text: text(2 * i + 1), instruction: "" }, negatives: [], positiveKey: `d${i}`, negativeKeys: [] };
      }),
    state: () => at,
    restore: (s: unknown) => void (at = s as number),
  };
}

async function measure(which: string, dir: string, resultFile: string, chunk: number, steps: number): Promise<void> {
  const prepack: PrepackChoice = values.prepack === undefined ? DEFAULT_PREPACK : parsePrepack(values.prepack);
  const root = await mkdtemp(join(tmpdir(), "dembed-train-step-run-"));
  const sampler = startRssSampler();
  let sampling = true;
  try {
    const config = parseTrainConfig({
      model: { base: dir, attention: "bidirectional", pooling: "mean", skip_instruction: false },
      data: { source: "custom", path: "unused.jsonl" },
      loss: { type: "hard-negative-nll", scale: 50 },
      optim: { lr: 1e-4, warmup_steps: 0 },
      batch: { global: 4, chunk_size: chunk },
      max_length: { query: TOKENS, document: TOKENS },
      lora: { r: 16, alpha: 32, dropout: 0.05 },
      steps,
      save_steps: 1_000_000,
      seed: 1,
    });
    const run = await createModelRun(config, {
      outputDir: join(root, "out"),
      sampler: syntheticSampler(),
      ...(values.threads ? { threads: Number(values.threads) } : {}),
      ...(values.arena === "off" ? { memoryArena: false } : {}),
      prepack,
      sessionConfig: sessionConfigEntries(values["session-config"]!),
      ...(values.profile ? { profileFilePrefix: join(root, "profile") } : {}),
    });
    const params = Object.values(run.parts.params).reduce((s, t) => s + t.length, 0);
    console.log(`${which}: ${run.adapter.modules.length} adapted layers, ${(params / 1e6).toFixed(2)} M LoRA parameters; chunk ${chunk}; pre-packed: ${typeof prepack === "string" ? prepack : prepack.join(", ")}${values.arena === "off" ? "; memory arena off" : ""}${values["session-config"]!.length > 0 ? `; session config ${values["session-config"]!.join(", ")}` : ""}; load average ${loadavg()[0]!.toFixed(1)} on ${availableParallelism()} cores`);
    let ortBefore = run.encoder.ortMs;
    const rows: { seconds: number; ort: number; tokens: number }[] = [];
    await train(run.parts, {
      onStep: (r) => {
        const ort = (run.encoder.ortMs - ortBefore) / 1000;
        ortBefore = run.encoder.ortMs;
        rows.push({ seconds: r.seconds, ort, tokens: r.tokens });
        const peakSoFar = process.resourceUsage().maxRSS / 1024 / 1024;
        console.log(`  step ${r.step}: ${r.seconds.toFixed(2)} s, in ORT ${ort.toFixed(2)} s, outside ${(100 * (1 - ort / r.seconds)).toFixed(1)} %, ${r.tokens} tokens, loss ${r.loss.toFixed(4)}, peak RSS so far ${peakSoFar.toFixed(2)} GiB${r.checkpoint === undefined ? "" : " (with a checkpoint)"}`);
      },
    });
    await run.release();
    // The first step also plans the session's execution; the last one writes the end-of-run checkpoint (adapter,
    // optimizer state, fsync, manifest), which a real run does every save_steps. Report the steps between.
    const steady = rows.length > 2 ? rows.slice(1, -1) : rows.length > 1 ? rows.slice(1) : rows;
    const mean = (f: (r: (typeof rows)[number]) => number) => steady.reduce((s, r) => s + f(r), 0) / steady.length;
    const step = mean((r) => r.seconds);
    const outside = 1 - mean((r) => r.ort) / step;
    const peak = process.resourceUsage().maxRSS / 1024 / 1024; // KiB → GiB
    sampling = false;
    const split = await sampler.stop();
    const parts = split ? ` (peak anonymous ${(split.anonBytes / 2 ** 30).toFixed(2)}, file-backed ${(split.fileBytes / 2 ** 30).toFixed(2)} GiB)` : "";
    console.log(`${which}: step ${step.toFixed(2)} s (8 × ${TOKENS} tokens; mean of steps ${rows.indexOf(steady[0]!) + 1}–${rows.indexOf(steady.at(-1)!) + 1}), peak RSS ${peak.toFixed(2)} GiB${parts}, outside ORT ${(100 * outside).toFixed(1)} %, load average ${loadavg()[0]!.toFixed(1)}`);
    await writeFile(resultFile, JSON.stringify({ step_seconds: step, peak_rss_gib: peak } satisfies StepResult));
    if (values.profile) printProfile(await readProfile(join(root, "profile")));
  } finally {
    if (sampling) await sampler.stop(); // its worker thread would keep a failed run's process alive
    await rm(root, { recursive: true, force: true });
  }
}
