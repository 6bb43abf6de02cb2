import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { hfCacheLocations } from "@dembed/data";
import type { DatasetSource } from "../types.js";
import { DatasetError } from "./fields.js";

/** A dataset folder found on disk, laid out as its Hugging Face repository. */
export interface ResolvedDataset {
  root: string;
  source: DatasetSource;
}

/** "pinned" (default): only the revision tasks.json pins; "any": whatever copy is on disk, recorded as such. */
export type RevisionPolicy = "pinned" | "any";
export const REVISION_POLICIES: readonly RevisionPolicy[] = ["pinned", "any"];

/** A copy of the dataset is on disk, but at another revision than the pinned one: the run must stop, not skip. */
export class RevisionMismatch extends DatasetError {
  override name = "RevisionMismatch";
}

export interface ResolveOptions {
  /** A folder holding datasets (see resolveDataset). */
  dataDir?: string;
  /** The commit tasks.json pins; null or absent when none is known. */
  pin?: string | null;
  policy?: RevisionPolicy;
  env?: Record<string, string | undefined>;
}

const ANY_HINT = "pass --revision any to use it";

/**
 * Finds a dataset on disk, never downloading. With a data folder, tries `<data>/<org>/<name>`, `<data>/<name>`,
 * `<data>/<org>--<name>` and `<data>` itself; then the Hugging Face hub cache (HF_HUB_CACHE, HF_HOME, …), whose
 * `snapshots/<commit>` folders name their revision. A folder counts only where `looksRight` (the loader's check for
 * its files) holds. Under the "pinned" policy a copy at another revision than `pin` throws RevisionMismatch (one
 * line naming the dataset, the pin and what was found); a local folder is checked only when it has a REVISION file.
 * Undefined when nothing fits.
 */
export async function resolveDataset(datasetId: string, looksRight: (root: string) => boolean, options: ResolveOptions = {}): Promise<ResolvedDataset | undefined> {
  const pin = options.pin ?? null;
  const policy = options.policy ?? "pinned";
  const local = options.dataDir ? localCopy(datasetId, options.dataDir, looksRight) : undefined;
  if (local) {
    const found = readRevisionFile(local);
    if (policy === "pinned" && pin !== null && found !== null && found !== pin) {
      throw new RevisionMismatch(`${datasetId}: ${join(local, "REVISION")} says revision ${found}, but tasks.json pins ${pin}; use a copy at the pinned revision or ${ANY_HINT}`);
    }
    const recorded = policy === "any" ? "any" : pin === null ? "unpinned" : found === null ? "unverified" : "pinned";
    return { root: local, source: { kind: "local", dataset: datasetId, path: local, revision: found, pinnedRevision: pin, revisionPolicy: recorded } };
  }

  const snapshots = hubSnapshots(datasetId, options.env).filter((s) => looksRight(s.dir));
  if (snapshots.length === 0) return undefined;
  const hit = (s: Snapshot, recorded: DatasetSource["revisionPolicy"]): ResolvedDataset => ({
    root: s.dir,
    source: { kind: "hf-cache", dataset: datasetId, path: s.dir, revision: s.commit, pinnedRevision: pin, revisionPolicy: recorded },
  });
  const pinned = snapshots.find((s) => s.commit === pin);
  if (pinned) return hit(pinned, policy);
  if (policy === "any" || pin === null) {
    // refs/main is what a plain download last fetched; without it, the most recently written snapshot.
    const chosen = snapshots.find((s) => s.refs.includes("main")) ?? [...snapshots].sort((a, b) => b.mtime - a.mtime)[0]!;
    return hit(chosen, pin === null ? "unpinned" : "any");
  }
  const found = snapshots.map((s) => `${s.commit}${s.refs.length ? ` (${s.refs.join(", ")})` : ""}`).join(", ");
  throw new RevisionMismatch(`${datasetId}: the Hugging Face cache holds revision ${found}, but tasks.json pins ${pin}; download the pinned revision or ${ANY_HINT}`);
}

function localCopy(datasetId: string, dataDir: string, looksRight: (root: string) => boolean): string | undefined {
  const name = datasetId.split("/").pop() as string;
  const candidates = [join(dataDir, datasetId), join(dataDir, name), join(dataDir, datasetId.replace("/", "--")), dataDir];
  return candidates.find((root) => existsSync(root) && looksRight(root));
}

/** A local copy may carry its revision in a REVISION file (one line, the commit hash). */
function readRevisionFile(root: string): string | null {
  const file = join(root, "REVISION");
  return existsSync(file) ? readFileSync(file, "utf8").trim() || null : null;
}

interface Snapshot {
  dir: string;
  commit: string;
  /** Branch names under refs/ that point at this commit (e.g. "main"). */
  refs: string[];
  mtime: number;
}

/** Every `snapshots/<commit>` of the dataset in each hub cache location, with the refs that name it. */
function hubSnapshots(datasetId: string, env: Record<string, string | undefined> | undefined): Snapshot[] {
  const out: Snapshot[] = [];
  for (const hub of hfCacheLocations(env ?? process.env).hub) {
    const repoDir = join(hub, `datasets--${datasetId.split("/").join("--")}`);
    const refs = readRefs(join(repoDir, "refs"));
    for (const commit of subdirs(join(repoDir, "snapshots"))) {
      const dir = join(repoDir, "snapshots", commit);
      out.push({ dir, commit, refs: Object.keys(refs).filter((r) => refs[r] === commit), mtime: statSync(dir).mtimeMs });
    }
  }
  return out;
}

/** refs/<branch> files (branches may contain "/", e.g. refs/convert/parquet) → commit. */
function readRefs(dir: string, prefix = ""): Record<string, string> {
  const refs: Record<string, string> = {};
  for (const entry of safeReaddir(dir)) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) Object.assign(refs, readRefs(path, `${prefix}${entry}/`));
    else refs[`${prefix}${entry}`] = readFileSync(path, "utf8").trim();
  }
  return refs;
}

function subdirs(dir: string): string[] {
  return safeReaddir(dir).filter((name) => statSync(join(dir, name), { throwIfNoEntry: false })?.isDirectory() ?? false);
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir).sort();
  } catch {
    return [];
  }
}
