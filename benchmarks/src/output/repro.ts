import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { packageFile } from "../package-dir.js";
import type { EmbedStats } from "../embed.js";
import type { System } from "../systems.js";
import type { DatasetSource } from "../types.js";

/** Everything needed to rerun a result: code, runtime, model settings, data and seed. */
export interface ReproducibilityRecord {
  dembed_version: string;
  git_commit: string | null;
  git_dirty: boolean | null;
  node_version: string;
  platform: string;
  ort_version: string | null;
  system: string;
  /** The encoder's own description (model, adapter, attention, pooling, max length, dtype, …); null for BM25. */
  encoder: Record<string, unknown> | null;
  device: string | null;
  dtype: string | null;
  batch_size: number | null;
  max_length: number | string | null;
  instructions: { query: string; document: string };
  truncated_inputs: number;
  /** Cached inputs whose truncation was not recorded when they were embedded. */
  truncation_unknown: number;
  embedded_inputs: number;
  cached_inputs: number;
  dataset: DatasetSource;
  /** The revision read (null: generated data, or a local copy without a REVISION file). */
  dataset_revision: string | null;
  /** The revision tasks.json pins (null: generated data, or none known). */
  pinned_revision: string | null;
  /** How the revision was accepted (see DatasetSource.revisionPolicy); null for generated data. */
  revision_policy: NonNullable<DatasetSource["revisionPolicy"]> | null;
  seed: number | null;
  bm25: Record<string, unknown> | null;
  created_at: string;
}

const here = fileURLToPath(new URL(".", import.meta.url));

function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(packageFile("package.json"), "utf8")) as { version: string }).version;
  } catch {
    return "unknown";
  }
}

let gitCache: { commit: string | null; dirty: boolean | null } | undefined;
/** The checkout's commit and whether it has uncommitted changes; null outside a git checkout. */
export function gitState(): { commit: string | null; dirty: boolean | null } {
  if (gitCache) return gitCache;
  try {
    const commit = execFileSync("git", ["rev-parse", "HEAD"], { cwd: here, stdio: ["ignore", "pipe", "ignore"] }).toString().trim();
    const status = execFileSync("git", ["status", "--porcelain"], { cwd: here, stdio: ["ignore", "pipe", "ignore"] }).toString();
    gitCache = { commit, dirty: status.trim().length > 0 };
  } catch {
    gitCache = { commit: null, dirty: null };
  }
  return gitCache;
}

const str = (v: unknown): string | null => (typeof v === "string" || typeof v === "number" ? String(v) : null);

export function reproducibilityRecord(
  system: System,
  source: DatasetSource,
  stats: EmbedStats,
  instruction: string,
  batchSize: number | undefined,
): ReproducibilityRecord {
  const described = system.kind === "dense" ? system.encoder.describe() : null;
  const git = gitState();
  const maxLength = described?.maxLength;
  return {
    dembed_version: packageVersion(),
    git_commit: git.commit,
    git_dirty: git.dirty,
    node_version: process.version,
    platform: `${process.platform}-${process.arch}`,
    ort_version: str(described?.ortVersion),
    system: system.name,
    encoder: described,
    device: system.kind === "dense" ? str(described?.device) : "cpu",
    dtype: str(described?.dtype),
    batch_size: system.kind === "dense" ? (batchSize ?? 8) : null,
    max_length: typeof maxLength === "number" || typeof maxLength === "string" ? maxLength : null,
    instructions: { query: instruction, document: "" },
    truncated_inputs: stats.truncated,
    truncation_unknown: stats.truncationUnknown,
    embedded_inputs: stats.encoded,
    cached_inputs: stats.cached,
    dataset: source,
    dataset_revision: source.revision,
    pinned_revision: source.pinnedRevision ?? null,
    revision_policy: source.revisionPolicy ?? null,
    seed: source.seed ?? null,
    bm25: system.kind === "bm25" ? { k1: 0.9, b: 0.4, stopwords: "lucene-english", stemmer: "porter", ...system.options } : null,
    created_at: new Date().toISOString(),
  };
}
