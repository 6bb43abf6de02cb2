import { z as zod } from "zod";
import type { z } from "zod";
import { DataError, describeValue, type RecordPosition } from "./errors.js";

function fieldName(path: readonly PropertyKey[]): string {
  let name = "";
  for (const key of path) {
    if (typeof key === "number") name += `[${key}]`;
    else name += name === "" ? String(key) : `.${String(key)}`;
  }
  return name;
}

function valueAt(value: unknown, path: readonly PropertyKey[]): unknown {
  let current = value;
  for (const key of path) {
    if (current === null || typeof current !== "object") return undefined;
    current = (current as Record<PropertyKey, unknown>)[key];
  }
  return current;
}

/**
 * Check a decoded record against a zod schema and return the parsed value, or throw a DataError that
 * names the record's position, the first failing field, what was expected and what was found.
 */
export function checkRecord<S extends z.ZodType>(schema: S, value: unknown, at: RecordPosition): z.output<S> {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new DataError(at, undefined, `expected a JSON object, got ${describeValue(value)}`);
  }
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  if (issue === undefined) throw new DataError(at, undefined, "record failed validation");
  const path = issue.path;
  const found = valueAt(value, path);
  const problem =
    issue.code === "invalid_type" || issue.code === "invalid_union"
      ? `expected ${expectedOf(issue)}, got ${describeValue(found)}`
      : `${issue.message} (got ${describeValue(found)})`;
  throw new DataError(at, path.length > 0 ? fieldName(path) : undefined, problem);
}

function expectedOf(issue: z.core.$ZodIssue): string {
  if (issue.code === "invalid_type") return issue.expected;
  // zod reports unions without one expected type; their members' messages say it
  if (issue.code === "invalid_union") {
    const expected = new Set<string>();
    for (const branch of issue.errors) for (const inner of branch) if (inner.code === "invalid_type") expected.add(inner.expected);
    if (expected.size > 0) return [...expected].join(" or ");
  }
  return "a different value";
}

/** A text to embed: an empty or all-whitespace one has nothing to embed, so it is a bad record at its file:line. */
export const textField = (): z.ZodType<string> =>
  zod.string().refine((s) => s.trim() !== "", "the text is empty") as unknown as z.ZodType<string>;
