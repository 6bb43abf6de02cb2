import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { Rng } from "@dembed/data";
import { HardNegativeNLL, RepLlama, type ContrastiveLoss } from "@dembed/losses";
import { GradientAccumulator, planAccumulation } from "./accumulate.js";
import { AdamW } from "./adamw.js";
import { chunkByRole, layOutBatch, type ContrastiveExample, type TextRole } from "./batch-layout.js";
import { checkpointDir, latestCheckpoint, listCheckpoints, writeCheckpoint } from "./checkpoint.js";
import { clipGradNorm } from "./clip.js";
import type { TrainConfig } from "./config.js";
import { gradCacheStep, type ChunkEncoder } from "./gradcache.js";
import { JsonlLog } from "./log.js";
import { checkSchedule, learningRateAt, type ScheduleOptions } from "./schedule.js";
import { assertFinite, NonFiniteError, type NamedTensors } from "./tensors.js";
import { configDifferences, readTrainState, STATE_FILES, writeTrainState, type TensorStore } from "./train-state.js";

/** Training examples in a fixed order that depends only on its state (position, epoch, seed). */
export interface ExampleSampler<T> {
  /** The next `count` examples (one micro-batch). */
  next(count: number): Promise<ContrastiveExample<T>[]>;
  /** JSON-serializable position of the next batch. */
  state(): unknown;
  /** Continues from a position state() returned, in this or another process. */
  restore(state: unknown): void;
}

export interface TrainerParts<T, Chunk> {
  readonly config: TrainConfig;
  /** The trainable tensors (LoRA A/B), updated in place. */
  readonly params: NamedTensors;
  readonly encoder: ChunkEncoder<Chunk>;
  /** Turns a run of texts of one role into what the encoder takes (e.g. tokenized, padded ids). */
  readonly makeChunk: (texts: readonly { readonly text: T; readonly role: TextRole }[]) => Chunk;
  /** Tokens in a chunk, for the tokens/s figure. */
  readonly chunkTokens?: (chunk: Chunk) => number;
  readonly sampler: ExampleSampler<T>;
  readonly store: TensorStore;
  /** Writes the current params as a PEFT adapter folder (config, weights, dembed settings). */
  readonly saveAdapter: (dir: string) => Promise<void>;
  /** Reads a PEFT adapter folder written by saveAdapter back into `params` (same names and sizes). */
  readonly loadAdapter: (dir: string) => Promise<NamedTensors>;
  readonly outputDir: string;
}

export interface StepReport {
  readonly step: number;
  readonly steps: number;
  readonly loss: number;
  readonly lr: number;
  readonly gradNorm: number;
  readonly tokens: number;
  /** Wall time of the step, and the part spent in the encoder's forward and VJP calls. */
  readonly seconds: number;
  readonly encoderSeconds: number;
  /** Set when this step wrote a checkpoint. */
  readonly checkpoint?: string;
}

export interface TrainOptions {
  readonly resume?: boolean;
  readonly onStep?: (report: StepReport) => void | Promise<void>;
  /** Told about a damaged checkpoint skipped while resuming. */
  readonly onWarning?: (message: string) => void;
}

export function lossFromConfig(config: TrainConfig["loss"]): ContrastiveLoss {
  return config.type === "hard-negative-nll"
    ? new HardNegativeNLL({ scale: config.scale })
    : new RepLlama({ scaleByDim: config.scale_by_dim, inBatchNegatives: config.in_batch_negatives });
}

export const checkpointsDir = (outputDir: string): string => join(outputDir, "checkpoints");
export const logPath = (outputDir: string): string => join(outputDir, "train_log.jsonl");

/**
 * Runs the GradCache loop from step 0, or from the newest good checkpoint with `resume`, up to config.steps.
 * Each optimizer step: for every micro-batch, sample → lay out → GradCache (dropout seeds drawn from the run's
 * RNG) → accumulate; then clip, AdamW at the scheduled lr, log, and checkpoint every save_steps and at the end.
 * Finally the adapter is written to the output folder itself.
 */
export async function train<T, Chunk>(parts: TrainerParts<T, Chunk>, options: TrainOptions = {}): Promise<{ step: number; loss: number }> {
  const { config, params } = parts;
  const schedule: ScheduleOptions = { kind: config.optim.schedule, peakLr: config.optim.lr, warmupSteps: config.optim.warmup_steps, stopStep: config.steps };
  checkSchedule(schedule);
  const plan = planAccumulation(config.batch.global, config.batch.accumulation_steps);
  const lossFn = lossFromConfig(config.loss);
  await mkdir(parts.outputDir, { recursive: true });

  let step = 0;
  let lastLoss = NaN;
  let rng = Rng.seeded(config.seed);
  let optimizer = new AdamW(params, { beta1: config.optim.beta1, beta2: config.optim.beta2, eps: config.optim.eps, weightDecay: config.optim.weight_decay });
  const found = options.resume
    ? await latestCheckpoint(checkpointsDir(parts.outputDir), (dir, reason) => options.onWarning?.(`skipping damaged checkpoint ${dir}: ${reason}`))
    : undefined;
  if (found !== undefined) {
    const restored = await parts.loadAdapter(join(found.dir, STATE_FILES.adapter));
    for (const [name, t] of Object.entries(params)) {
      const saved = restored[name];
      if (saved === undefined || saved.length !== t.length) throw new Error(`${found.dir}: adapter tensor ${name} is missing or has another size`);
      t.set(saved);
    }
    const { state, optimizer: opt, config: saved } = await readTrainState(found.dir, parts.store, params);
    const diff = configDifferences(saved, config);
    if (diff.length > 0) throw new Error(`cannot resume from ${found.dir}: the config differs in ${diff.join(", ")}; resuming would not continue the same run`);
    optimizer = opt;
    rng = Rng.fromState(state.rng);
    parts.sampler.restore(state.sampler);
    step = state.step;
    lastLoss = state.lastLoss;
  } else if (options.resume) {
    options.onWarning?.(`no checkpoint in ${checkpointsDir(parts.outputDir)}; starting from step 0`);
  } else {
    // A fresh run must not mix its checkpoints with an earlier run's: pruning and resume go by step number.
    const earlier = await listCheckpoints(checkpointsDir(parts.outputDir));
    if (earlier.length > 0) {
      throw new Error(`${parts.outputDir} already holds checkpoints of a run (newest: step ${earlier[0]!.step}); resume it, or train into another folder`);
    }
  }
  const log = await JsonlLog.open(logPath(parts.outputDir), found === undefined ? {} : { resumeFromStep: step });

  while (step < config.steps) {
    const started = performance.now();
    const lr = learningRateAt(step, schedule);
    const acc = new GradientAccumulator();
    let loss = 0;
    let tokens = 0;
    let encoderMs = 0;
    for (let micro = 0; micro < plan.accumulationSteps; micro++) {
      const batch = layOutBatch(await parts.sampler.next(plan.microBatchSize), lossFn);
      const grouped = chunkByRole(batch.texts, config.batch.chunk_size);
      const chunks = grouped.map(parts.makeChunk);
      if (parts.chunkTokens !== undefined) for (const c of chunks) tokens += parts.chunkTokens(c);
      const result = await gradCacheStep({
        chunks,
        chunkSizes: grouped.map((g) => g.length),
        encoder: parts.encoder,
        loss: batch.loss,
        seeds: chunks.map(() => rng.nextUint32()),
      }).catch((error: unknown) => {
        if (!(error instanceof NonFiniteError)) throw error;
        throw new NonFiniteError(`step ${step + 1}, micro-batch ${micro + 1}: ${error.message}; stopped before updating, the last checkpoint is kept`);
      });
      if (!Number.isFinite(result.loss)) {
        throw new NonFiniteError(`step ${step + 1}: the loss is ${result.loss} (micro-batch ${micro + 1}); stopped before updating, the last checkpoint is kept`);
      }
      loss += result.loss * plan.weight;
      encoderMs += result.timings.encode + result.timings.backward;
      acc.add(result.grads, plan.weight);
    }
    const grads = acc.result();
    const { norm } = clipGradNorm(grads, config.optim.max_grad_norm);
    if (!Number.isFinite(norm)) {
      try {
        assertFinite(grads, `step ${step + 1}: gradient`);
      } catch (error) {
        throw new NonFiniteError(`${(error as Error).message}; stopped before updating, the last checkpoint is kept`);
      }
      throw new NonFiniteError(`step ${step + 1}: the gradient norm overflowed; stopped before updating, the last checkpoint is kept`);
    }
    optimizer.update(grads, lr);
    step += 1;
    lastLoss = loss;

    // The log line is made durable before the checkpoint claims the step: a kill between the two then resumes from
    // the previous checkpoint, which cuts the log back to it, so no step's line is ever lost.
    const saving = step % config.save_steps === 0 || step === config.steps;
    const checkpoint = saving ? checkpointDir(checkpointsDir(parts.outputDir), step) : undefined;
    const seconds = (performance.now() - started) / 1000;
    if (step % config.log_steps === 0 || step === config.steps || saving) {
      await log.write({ step, loss, lr, grad_norm: norm, tokens, seconds, encoder_seconds: encoderMs / 1000, ...(checkpoint === undefined ? {} : { checkpoint }) });
    }
    if (saving) {
      const state = { step, rng: rng.state(), sampler: parts.sampler.state(), lastLoss };
      const opt = optimizer;
      await writeCheckpoint(
        checkpointsDir(parts.outputDir),
        step,
        async (dir) => {
          await parts.saveAdapter(join(dir, STATE_FILES.adapter));
          await writeTrainState(dir, parts.store, state, opt, config);
        },
        { keep: config.keep_checkpoints },
      );
    }
    await options.onStep?.({
      step,
      steps: config.steps,
      loss,
      lr,
      gradNorm: norm,
      tokens,
      seconds,
      encoderSeconds: encoderMs / 1000,
      ...(checkpoint === undefined ? {} : { checkpoint }),
    });
  }
  await parts.saveAdapter(parts.outputDir);
  return { step, loss: lastLoss };
}
