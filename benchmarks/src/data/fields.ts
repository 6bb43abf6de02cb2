/** Where a row came from, so an error can name the dataset, the file and the row. */
export interface RowContext {
  dataset: string;
  file: string;
  /** 1-based line (jsonl) or row (parquet). */
  row: number;
}

/** A task's data is absent (not malformed): a run over "every task whose data is found" skips it and says so. */
export class TaskDataMissing extends Error {
  override name = "TaskDataMissing";
}

export class DatasetError extends Error {
  override name = "DatasetError";
}

function where(ctx: RowContext): string {
  return `${ctx.dataset}: ${ctx.file} row ${ctx.row}`;
}

function describe(value: unknown): string {
  if (value === undefined) return "it is missing";
  if (value === null) return "it is null";
  return `got ${Array.isArray(value) ? "an array" : typeof value}`;
}

/** A string field; numbers (HF ids are often ints) are accepted and turned into strings. */
export function stringField(row: Record<string, unknown>, field: string, ctx: RowContext): string {
  const v = row[field];
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "bigint") return String(v);
  throw new DatasetError(`${where(ctx)}: field "${field}" should be a string, ${describe(v)}`);
}

export function optionalStringField(row: Record<string, unknown>, field: string, ctx: RowContext): string | undefined {
  return row[field] === undefined || row[field] === null ? undefined : stringField(row, field, ctx);
}

export function numberField(row: Record<string, unknown>, field: string, ctx: RowContext): number {
  const v = row[field];
  const n = typeof v === "bigint" ? Number(v) : typeof v === "string" && v.trim() !== "" ? Number(v) : v;
  if (typeof n === "number" && Number.isFinite(n)) return n;
  throw new DatasetError(`${where(ctx)}: field "${field}" should be a number, ${describe(v)}`);
}

export function stringListField(row: Record<string, unknown>, field: string, ctx: RowContext): string[] {
  const v = row[field];
  if (!Array.isArray(v)) throw new DatasetError(`${where(ctx)}: field "${field}" should be a list of strings, ${describe(v)}`);
  return v.map((x, i) => {
    if (typeof x === "string") return x;
    if (typeof x === "number") return String(x);
    throw new DatasetError(`${where(ctx)}: field "${field}"[${i}] should be a string, ${describe(x)}`);
  });
}
