import { z } from "zod";
import { resolveHfDataset, type ResolveOptions } from "../resolve.js";
import type { TrainingSource } from "../sample.js";
import { checkRecord, textField } from "../validate.js";
import { IndexedSource, type IndexOptions, type RecordKind } from "./indexed.js";

const ReasonAugRecord = z.object({
  id: z.union([z.string(), z.number()]),
  domain: z.string().nullish(),
  instance: z.union([z.string(), z.array(z.string())]).nullish(),
  task_type: z.string().nullish(),
  task: z.string().min(1, "the task (instruction) is empty"),
  user_query: textField(),
  positive_document: textField(),
  hard_negative_document: z.string().nullable(),
  negative_instance: z.string().nullish(),
});
type ReasonAugRecord = z.output<typeof ReasonAugRecord>;

export const REASONAUG_SOURCE = "reasonaug";
export const NULL_NEGATIVE = "hard_negative_document is null";

export const reasonAugKind: RecordKind<ReasonAugRecord> = {
  kind: REASONAUG_SOURCE,
  columns: ["id", "domain", "instance", "task_type", "task", "user_query", "positive_document", "hard_negative_document", "negative_instance"],
  parse: (value, at) => checkRecord(ReasonAugRecord, value, at),
  skipReason: (record) => (record.hard_negative_document === null ? NULL_NEGATIVE : undefined),
  task: (record) => record.task,
  toSample: (record) => ({
    id: String(record.id),
    source: REASONAUG_SOURCE,
    task: record.task,
    instruction: record.task,
    query: record.user_query,
    positive: record.positive_document,
    negatives: [record.hard_negative_document!],
  }),
};

/**
 * ReasonAug (siyue/ReasonAug): jsonl (or parquet/Arrow) records whose `task` is the instruction and
 * the by-task batching key. Records with a null hard negative are skipped and counted in the report.
 */
export async function openReasonAug(ref: string, options: IndexOptions & ResolveOptions = {}): Promise<TrainingSource> {
  const found = await resolveHfDataset(ref, options);
  const files = found.files.map((path) => ({ path, format: found.format, label: REASONAUG_SOURCE }));
  return IndexedSource.open(reasonAugKind, files, options);
}
