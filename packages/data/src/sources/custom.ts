import { basename, extname } from "node:path";
import { z } from "zod";
import { resolveHfDataset, type ResolveOptions } from "../resolve.js";
import type { TrainingSource } from "../sample.js";
import { checkRecord, textField } from "../validate.js";
import { IndexedSource, type IndexOptions, type RecordKind } from "./indexed.js";

const CustomRecord = z.object({
  id: z.union([z.string(), z.number()]).optional(),
  query: textField(),
  positive: textField(),
  negatives: z.array(textField()),
  instruction: z.string().optional(),
  task: z.string().optional(),
});
type CustomRecord = z.output<typeof CustomRecord>;

export const CUSTOM_SOURCE = "custom";

export interface CustomOptions extends IndexOptions, ResolveOptions {
  /** Instruction for records that carry none (default ""). */
  instruction?: string;
  /** Require exactly this many negatives per record (RepLlama needs a fixed count); default any number. */
  negatives?: number;
}

export function customKind(defaultInstruction: string, negatives?: number): RecordKind<CustomRecord> {
  const schema =
    negatives === undefined
      ? CustomRecord
      : CustomRecord.refine((r) => r.negatives.length === negatives, { message: `expected exactly ${negatives} negatives`, path: ["negatives"] });
  return {
    kind: CUSTOM_SOURCE,
    columns: ["id", "query", "positive", "negatives", "instruction", "task"],
    parse: (value, at) => checkRecord(schema, value, at),
    // records without a task share one task group, so by-task batching still works on mixed files
    task: (record) => record.task ?? "",
    toSample: (record, { file, position }) => ({
      id: record.id === undefined ? `${basename(file.path, extname(file.path))}:${position.line ?? position.row}` : String(record.id),
      source: CUSTOM_SOURCE,
      ...(record.task === undefined ? {} : { task: record.task }),
      instruction: record.instruction ?? defaultInstruction,
      query: record.query,
      positive: record.positive,
      negatives: record.negatives,
    }),
  };
}

/** Your own data: jsonl lines `{query, positive, negatives: [...], instruction?, task?, id?}` (or the same columns in parquet/Arrow). */
export async function openCustomJsonl(ref: string, options: CustomOptions = {}): Promise<TrainingSource> {
  const found = await resolveHfDataset(ref, options);
  const files = found.files.map((path) => ({ path, format: found.format, label: CUSTOM_SOURCE }));
  return IndexedSource.open(customKind(options.instruction ?? "", options.negatives), files, options);
}
