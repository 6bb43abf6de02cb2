// configs/train/tiny.json with absolute fixture paths, for suites that train the tiny model.
import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { parseTrainConfig, type TrainConfig } from "../src/index.js";

export const REPO = resolve(import.meta.dirname, "../../..");

export async function tinyConfig(overrides: Record<string, unknown> = {}): Promise<TrainConfig> {
  const raw = JSON.parse(await readFile(join(REPO, "configs/train/tiny.json"), "utf8")) as Record<string, unknown> & { data: Record<string, unknown>; optim: Record<string, unknown> };
  // Tests run a few dozen steps: a short warmup keeps the schedule valid and the lr up.
  return parseTrainConfig({ ...raw, data: { ...raw.data, path: join(REPO, "datasets/fixtures/e5") }, optim: { ...raw.optim, warmup_steps: 3 }, ...overrides });
}
