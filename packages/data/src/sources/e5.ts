import { readdir } from "node:fs/promises";
import { basename, join } from "node:path";
import { z } from "zod";
import { e5ExclusionReason, e5FileInstructions, E5_INSTRUCTIONS, E5_REFERENCE_FILES } from "../instructions.js";
import { resolveHfDatasetDir, type ResolveOptions } from "../resolve.js";
import type { TrainingSource } from "../sample.js";
import { checkRecord, textField } from "../validate.js";
import { IndexedSource, type IndexOptions, type RecordKind, type SourceFile } from "./indexed.js";

const E5Line = z.object({ query: textField(), positive: textField(), negative: textField() });
type E5Line = z.output<typeof E5Line>;

export interface E5Options extends IndexOptions, Pick<ResolveOptions, "revision" | "env"> {
  /** Instructions for file names the built-in table does not know (or to override it): name → one or two (alternating). */
  instructions?: Record<string, string | readonly string[]>;
  /** Only these files (names without .jsonl); default the reference's 12 (E5_REFERENCE_FILES). */
  files?: readonly string[];
  /** What to do with a file whose instruction is unknown: "error" (default) or "skip". */
  unknownFiles?: "error" | "skip";
}

export const e5Kind: RecordKind<E5Line> = {
  kind: "e5",
  parse: (value, at) => checkRecord(E5Line, value, at),
  toSample(record, { file, ordinal }) {
    const instructions = file.instructions ?? [];
    return {
      id: `${basename(file.path, ".jsonl")}:${ordinal + 1}`,
      source: file.label,
      instruction: instructions[ordinal % instructions.length] ?? "",
      query: record.query,
      positive: record.positive,
      negatives: [record.negative],
    };
  },
};

/**
 * E5 echo-data: a folder of `{name}.jsonl` files with `{query, positive, negative}` lines, each file
 * with its instruction from the E5 table (allnli and quora_duplicates alternate by line). `dir` is a
 * folder or an `org/name` in the local Hub cache. Skipped files are counted in `report.skipped`.
 */
export async function openE5(dir: string, options: E5Options = {}): Promise<TrainingSource> {
  const { root } = await resolveHfDatasetDir(dir, options);
  const onDisk = (await readdir(root)).filter((f) => f.endsWith(".jsonl")).map((f) => f.slice(0, -".jsonl".length));
  // By default the reference's file set: other files in the folder are reported, never silently mixed in.
  const names = options.files ? [...options.files] : E5_REFERENCE_FILES.filter((n) => onDisk.includes(n));
  const missing = names.filter((n) => !onDisk.includes(n));
  if (missing.length > 0) throw new Error(`${root}: no ${missing.map((n) => `${n}.jsonl`).join(", ")} (found: ${onDisk.join(", ") || "no .jsonl files"})`);
  const notRead = options.files
    ? []
    : [
        ...onDisk.filter((n) => !names.includes(n)).map((n) => `${join(root, `${n}.jsonl`)} (${e5ExclusionReason(n)})`),
        ...E5_REFERENCE_FILES.filter((n) => !onDisk.includes(n)).map((n) => `${join(root, `${n}.jsonl`)} (missing: a reference file)`),
      ];
  const files: SourceFile[] = [];
  const unknown: string[] = [];
  for (const name of names.sort()) {
    const given = options.instructions?.[name];
    const known = e5FileInstructions(name);
    const instructions = given === undefined ? known?.instructions : typeof given === "string" ? [given] : given;
    if (instructions === undefined || instructions.length === 0) {
      unknown.push(name);
      continue;
    }
    files.push({ path: join(root, `${name}.jsonl`), format: "jsonl", label: known?.label ?? name, instructions });
  }
  if (unknown.length > 0 && options.unknownFiles !== "skip") {
    throw new Error(
      `${root}: no instruction for ${unknown.map((n) => `${n}.jsonl`).join(", ")}. Known E5 files: ${Object.keys(E5_INSTRUCTIONS).join(", ")}. ` +
        `Give one with the instructions option ({ "${unknown[0]}": "…" }), or skip unknown files.`,
    );
  }
  if (files.length === 0) throw new Error(`${root}: no E5 files to read`);
  const skipped = [...notRead, ...unknown.map((name) => `${join(root, `${name}.jsonl`)} (no instruction known)`)];
  return IndexedSource.open(e5Kind, files, options, skipped);
}
