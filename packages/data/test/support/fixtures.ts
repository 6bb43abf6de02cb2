import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** datasets/fixtures at the repository root. */
export const FIXTURES = fileURLToPath(new URL("../../../../datasets/fixtures/", import.meta.url));
export const E5_DIR = join(FIXTURES, "e5");
export const MSMARCO_DIR = join(FIXTURES, "msmarco-w-instructions");
export const MSMARCO_PARQUET = join(MSMARCO_DIR, "data", "train-00000-of-00001.parquet");
export const REASONAUG_JSONL = join(FIXTURES, "reasonaug", "reasonaug.jsonl");
export const CUSTOM_JSONL = join(FIXTURES, "custom", "train.jsonl");

/** A fresh temp folder, and a function that removes it. */
export async function tempDir(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), "dembed-data-"));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}
