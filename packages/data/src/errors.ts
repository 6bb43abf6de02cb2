/** Where a record sits: a jsonl line (1-based) or a table row (0-based, as parquet and Arrow count). */
export interface RecordPosition {
  file: string;
  line?: number;
  row?: number;
}

export function describePosition(at: RecordPosition): string {
  if (at.line !== undefined) return `${at.file} line ${at.line}`;
  if (at.row !== undefined) return `${at.file} row ${at.row}`;
  return at.file;
}

/** A malformed file or record: names the file, the line or row, and the field when there is one. */
export class DataError extends Error {
  override readonly name = "DataError";

  constructor(
    readonly position: RecordPosition,
    readonly field: string | undefined,
    readonly problem: string,
  ) {
    super(`${describePosition(position)}${field === undefined ? "" : `, field "${field}"`}: ${problem}`);
  }
}

/** A short description of a value for error messages ("a number (3)", "null", "missing"). */
export function describeValue(value: unknown): string {
  if (value === undefined) return "missing";
  if (value === null) return "null";
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (typeof value === "string") return `a string (${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)})`;
  if (typeof value === "number" || typeof value === "boolean" || typeof value === "bigint") return `a ${typeof value} (${String(value)})`;
  return `an ${typeof value}`;
}

/** What a pass over a source kept, skipped on purpose, and (in lenient mode) dropped as malformed. */
export interface ValidationReport {
  /** Records read, including those skipped or dropped. */
  records: number;
  kept: number;
  /** Malformed records dropped in lenient mode (always 0 in strict mode, which throws instead). */
  invalid: number;
  /** Valid records left out on purpose, by reason (e.g. "hard_negative_document is null"). */
  skipped: Record<string, number>;
  /** The first few malformed-record messages, for the summary. */
  examples: string[];
  /** True when a sample cap stopped reading before the end of the files. */
  capped: boolean;
  /** Files left out whole (e.g. E5 files without a known instruction), with the reason. */
  skippedFiles: string[];
}

const MAX_EXAMPLES = 5;

export function emptyReport(): ValidationReport {
  return { records: 0, kept: 0, invalid: 0, skipped: {}, examples: [], capped: false, skippedFiles: [] };
}

export function noteInvalid(report: ValidationReport, error: DataError): void {
  report.invalid++;
  if (report.examples.length < MAX_EXAMPLES) report.examples.push(error.message);
}

export function noteSkipped(report: ValidationReport, reason: string): void {
  report.skipped[reason] = (report.skipped[reason] ?? 0) + 1;
}

/** One paragraph for logs: "reasonaug: kept 30 of 32 records; skipped 1 (…); 1 malformed: …". */
export function formatReport(name: string, report: ValidationReport): string {
  const parts = [`${name}: kept ${report.kept} of ${report.records} records read${report.capped ? " (sample cap reached)" : ""}`];
  for (const [reason, count] of Object.entries(report.skipped)) parts.push(`skipped ${count} (${reason})`);
  for (const file of report.skippedFiles) parts.push(`skipped file ${file}`);
  if (report.invalid > 0) {
    parts.push(`dropped ${report.invalid} malformed`);
    for (const example of report.examples) parts.push(`  e.g. ${example}`);
  }
  return parts.join("\n");
}
