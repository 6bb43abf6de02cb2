import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { AdamW, type AdamWState } from "./adamw.js";
import type { TrainConfig } from "./config.js";
import type { RngState } from "@dembed/data";
import type { NamedTensors } from "./tensors.js";

/** Reads and writes named float32 tensors as files (safetensors in production). */
export interface TensorStore {
  write(path: string, tensors: NamedTensors): Promise<void>;
  read(path: string): Promise<NamedTensors>;
}

/** Where each part of the training state lives inside a checkpoint folder. */
export const STATE_FILES = {
  adapter: "adapter",
  optimizer: "optimizer.safetensors",
  trainer: "trainer_state.json",
  config: "train_config.json",
} as const;

/** Everything besides the adapter weights that a run needs to continue exactly. */
export interface TrainerState {
  /** Optimizer steps completed. */
  readonly step: number;
  readonly rng: RngState;
  /** The sampler's own JSON state (its position in the data). */
  readonly sampler: unknown;
  /** Micro-batch losses of the last completed step, for the log. */
  readonly lastLoss: number;
}

interface TrainerStateFile extends TrainerState {
  readonly format: "dembed-trainer-state";
  readonly version: 1;
  readonly optimizer: Omit<AdamWState, "m" | "v">;
}

/** Writes optimizer moments, trainer state and config into a (temp) checkpoint folder. */
export async function writeTrainState(dir: string, store: TensorStore, state: TrainerState, optimizer: AdamW, config: TrainConfig): Promise<void> {
  const { m, v, ...scalars } = optimizer.exportState();
  const moments: NamedTensors = {};
  for (const [name, t] of Object.entries(m)) moments[`m.${name}`] = t;
  for (const [name, t] of Object.entries(v)) moments[`v.${name}`] = t;
  await store.write(join(dir, STATE_FILES.optimizer), moments);
  const file: TrainerStateFile = { format: "dembed-trainer-state", version: 1, ...state, optimizer: scalars };
  await writeFile(join(dir, STATE_FILES.trainer), JSON.stringify(file, null, 2) + "\n");
  await writeFile(join(dir, STATE_FILES.config), JSON.stringify(config, null, 2) + "\n");
}

async function readJson(path: string): Promise<unknown> {
  const text = await readFile(path, "utf8");
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new Error(`${path}: not valid JSON: ${(error as Error).message}`);
  }
}

/**
 * Reads a checkpoint's trainer state and rebuilds its optimizer over `params` (which must already hold the
 * checkpoint's adapter weights). Returns the saved config too, for the caller to compare.
 */
export async function readTrainState(
  dir: string,
  store: TensorStore,
  params: NamedTensors,
): Promise<{ state: TrainerState; optimizer: AdamW; config: unknown }> {
  const path = join(dir, STATE_FILES.trainer);
  const file = (await readJson(path)) as Partial<TrainerStateFile>;
  if (file.format !== "dembed-trainer-state" || file.version !== 1 || !Number.isInteger(file.step) || file.optimizer === undefined || file.rng === undefined) {
    throw new Error(`${path}: expected a dembed trainer state (format "dembed-trainer-state", version 1, step, rng, optimizer)`);
  }
  const moments = await store.read(join(dir, STATE_FILES.optimizer));
  const m: NamedTensors = {};
  const v: NamedTensors = {};
  for (const [key, t] of Object.entries(moments)) {
    if (key.startsWith("m.")) m[key.slice(2)] = t;
    else if (key.startsWith("v.")) v[key.slice(2)] = t;
    else throw new Error(`${join(dir, STATE_FILES.optimizer)}: unexpected tensor "${key}" (expected m.<param> / v.<param>)`);
  }
  let optimizer: AdamW;
  try {
    optimizer = AdamW.fromState(params, { ...file.optimizer, m, v });
  } catch (error) {
    throw new Error(`${join(dir, STATE_FILES.optimizer)}: ${(error as Error).message}`);
  }
  const state: TrainerState = { step: file.step as number, rng: file.rng, sampler: file.sampler, lastLoss: file.lastLoss ?? NaN };
  return { state, optimizer, config: await readJson(join(dir, STATE_FILES.config)) };
}

/**
 * Fields that may change between a checkpoint and its resumption without changing the result. Anything else
 * differing would make the resumed run silently not the run that was started.
 */
const RESUMABLE_CHANGES = new Set(["notes", "keep_checkpoints", "log_steps"]);

/** Lists config fields (dotted paths) that differ and would break an exact resume. */
export function configDifferences(saved: unknown, current: TrainConfig): string[] {
  const out: string[] = [];
  const walk = (a: unknown, b: unknown, path: string): void => {
    if (RESUMABLE_CHANGES.has(path)) return;
    if (typeof a === "object" && a !== null && typeof b === "object" && b !== null && !Array.isArray(a) && !Array.isArray(b)) {
      for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
        walk((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key], path === "" ? key : `${path}.${key}`);
      }
      return;
    }
    if (JSON.stringify(a) !== JSON.stringify(b)) out.push(path);
  };
  walk(saved, JSON.parse(JSON.stringify(current)), "");
  return out;
}
