// Synthetic training files of any size, in the real formats, written as streams (memory stays flat
// while writing too). Text is random words from a fixed vocabulary, so it compresses like prose.
import { once } from "node:events";
import { createWriteStream } from "node:fs";
import { mkdir, rename } from "node:fs/promises";
import { dirname } from "node:path";
import { Rng } from "../../packages/data/src/index.js";
import { MSMARCO_COLUMNS, MSMARCO_SCHEMA, openParquetSink, type MsmarcoRow, type Passage } from "../../packages/data/test/support/parquet-writer.js";

const SYLLABLES = ["ka", "lo", "mi", "ne", "ru", "ta", "vo", "si", "de", "pa", "gu", "re", "en", "ol", "am", "is"];

function vocabulary(rng: Rng, size = 4000): string[] {
  return Array.from({ length: size }, () => Array.from({ length: 1 + rng.nextInt(4) }, () => SYLLABLES[rng.nextInt(SYLLABLES.length)]).join(""));
}

function sentence(rng: Rng, words: readonly string[], n: number): string {
  return Array.from({ length: n }, () => words[rng.nextInt(words.length)]).join(" ");
}

/** Write `records` custom-format lines (query, positive, 3 negatives; ~1 KB each) to `path`. */
export async function writeSyntheticJsonl(path: string, records: number, seed = 1): Promise<void> {
  const rng = Rng.seeded(seed);
  const words = vocabulary(rng);
  await mkdir(dirname(path), { recursive: true });
  const temp = `${path}.tmp-${process.pid}`;
  const out = createWriteStream(temp);
  for (let i = 0; i < records; i++) {
    const line = JSON.stringify({
      id: `s${i}`,
      query: sentence(rng, words, 12),
      positive: sentence(rng, words, 60),
      negatives: [sentence(rng, words, 40), sentence(rng, words, 40), sentence(rng, words, 40)],
      task: `task-${i % 8}`,
    });
    if (!out.write(`${line}\n`)) await once(out, "drain");
  }
  out.end();
  await once(out, "finish");
  await rename(temp, path);
}

/** Write `rows` msmarco-w-instructions rows (1 positive, 20 negatives, 2 new negatives) in zstd row groups. */
export async function writeSyntheticMsmarcoParquet(path: string, rows: number, options: { rowGroupSize?: number; seed?: number } = {}): Promise<void> {
  const rng = Rng.seeded(options.seed ?? 1);
  const words = vocabulary(rng);
  const passage = (): Passage => ({ docid: String(rng.nextInt(9_000_000)), title: rng.nextInt(3) === 0 ? "" : sentence(rng, words, 3), text: sentence(rng, words, 45) });
  const sink = await openParquetSink(path, MSMARCO_SCHEMA, { level: 3 });
  const groupSize = options.rowGroupSize ?? 1000;
  for (let start = 0; start < rows; start += groupSize) {
    const group: MsmarcoRow[] = Array.from({ length: Math.min(groupSize, rows - start) }, (_, i) => {
      const onlyQuery = sentence(rng, words, 8);
      const onlyInstruction = sentence(rng, words, 20);
      return {
        query_id: String(start + i),
        query: `${onlyQuery} ${onlyInstruction}`,
        positive_passages: [passage()],
        negative_passages: Array.from({ length: 20 }, passage),
        only_instruction: onlyInstruction,
        only_query: onlyQuery,
        has_instruction: true,
        new_negatives: [passage(), passage()],
      };
    });
    sink.write(Object.fromEntries(MSMARCO_COLUMNS.map((c) => [c, group.map((r) => r[c])])));
  }
  await sink.finish();
}
