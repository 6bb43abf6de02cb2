import { z } from "zod";
import { MSMARCO_INSTRUCTION } from "../instructions.js";
import { resolveHfDataset, type ResolveOptions } from "../resolve.js";
import { Rng } from "../rng.js";
import type { TrainingSample, TrainingSource } from "../sample.js";
import { checkRecord } from "../validate.js";
import { IndexedSource, type IndexOptions, type RecordKind } from "./indexed.js";

const id = z.union([z.string(), z.number()]);
const Passage = z.object({ docid: id.nullish(), title: z.string().nullish(), text: z.string() });
type Passage = z.output<typeof Passage>;
// parquet readers give undefined for a null list; both mean "none"
const Passages = z.array(Passage).nullish();

const MsmarcoRow = z
  .object({
    query_id: id,
    query: z.string(),
    positive_passages: z.array(Passage).min(1, "needs at least one positive passage"),
    negative_passages: Passages,
    new_negatives: Passages,
  })
  .refine((row) => (row.negative_passages?.length ?? 0) + (row.new_negatives?.length ?? 0) > 0, {
    message: "needs at least one negative (negative_passages and new_negatives are both empty)",
    path: ["negative_passages"],
  });
type MsmarcoRow = z.output<typeof MsmarcoRow>;

export const MSMARCO_SOURCE = "msmarco-w-instructions";

/**
 * title + " " + text, exactly as the reference builds documents: with an empty title the text keeps its leading
 * space, which changes the first token, so it is kept for comparable training data.
 */
export function passageText(passage: Passage): string {
  return `${passage.title ?? ""} ${passage.text}`;
}

/** The reference takes at most this many instruction-aware negatives, then samples the rest from negative_passages. */
export const MAX_NEW_NEGATIVES = 3;

/**
 * `count` negatives: up to `maxNew` new_negatives first (in order), then passages drawn from negative_passages without
 * replacement. Only when too few distinct passages exist is the rest drawn with replacement, after
 * every available passage has been used once. Passages already among new_negatives (same docid) are not drawn again.
 */
export function pickNegatives(newNegatives: readonly Passage[], pool: readonly Passage[], count: number, rng: Rng, maxNew = MAX_NEW_NEGATIVES): string[] {
  const chosen = newNegatives.slice(0, Math.min(count, maxNew)).map(passageText);
  const taken = new Set(newNegatives.map((p) => p.docid).filter((d) => d !== null && d !== undefined).map(String));
  const candidates = pool.filter((p) => p.docid === null || p.docid === undefined || !taken.has(String(p.docid)));
  const need = count - chosen.length;
  if (need <= 0) return chosen;
  const order = rng.shuffle(candidates.map((_, i) => i));
  for (const i of order.slice(0, need)) chosen.push(passageText(candidates[i]!));
  const fallback = candidates.length > 0 ? candidates : newNegatives;
  while (chosen.length < count) chosen.push(passageText(fallback[rng.nextInt(fallback.length)]!));
  return chosen;
}

export interface MsmarcoOptions extends IndexOptions, ResolveOptions {
  /** Hard negatives per sample (default 15, as the instruction-following recipe). */
  negatives?: number;
  /** Query instruction (default "Retrieve text based on user query"). */
  instruction?: string;
  /** At most this many of them from new_negatives (default 3, as the reference). */
  newNegatives?: number;
}

export function msmarcoKind(negatives: number, instruction: string, maxNew = MAX_NEW_NEGATIVES): RecordKind<MsmarcoRow> {
  if (!Number.isInteger(negatives) || negatives < 0) throw new RangeError(`negatives must be a non-negative integer, got ${negatives}`);
  return {
    kind: MSMARCO_SOURCE,
    columns: ["query_id", "query", "positive_passages", "negative_passages", "new_negatives"],
    parse: (value, at) => checkRecord(MsmarcoRow, value, at),
    toSample(row, { seed, epoch, index }): TrainingSample {
      // negatives depend on (seed, epoch, record) only, so any batch can be rebuilt exactly on resume
      const rng = Rng.seeded(seed, epoch, index);
      return {
        id: String(row.query_id),
        source: MSMARCO_SOURCE,
        instruction,
        query: row.query,
        positive: passageText(row.positive_passages[0]!),
        negatives: pickNegatives(row.new_negatives ?? [], row.negative_passages ?? [], negatives, rng, maxNew),
      };
    },
  };
}

/**
 * msmarco-w-instructions (samaya-ai/msmarco-w-instructions): parquet shards, a `datasets` Arrow cache,
 * or jsonl with the same columns. `ref` is a file, folder, or `org/name` in the local caches.
 */
export async function openMsmarcoInstructions(ref: string, options: MsmarcoOptions = {}): Promise<TrainingSource> {
  const found = await resolveHfDataset(ref, options);
  const kind = msmarcoKind(options.negatives ?? 15, options.instruction ?? MSMARCO_INSTRUCTION, options.newNegatives ?? MAX_NEW_NEGATIVES);
  const files = found.files.map((path) => ({ path, format: found.format, label: MSMARCO_SOURCE }));
  return IndexedSource.open(kind, files, options);
}
