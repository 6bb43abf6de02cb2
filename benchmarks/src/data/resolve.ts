import { existsSync, readFileSync } from "node:fs";
import { basename, join } from "node:path";
import { resolveHfDatasetDir } from "@dembed/data";
import type { DatasetSource } from "../types.js";

/** A dataset folder found on disk, laid out as its Hugging Face repository. */
export interface ResolvedDataset {
  root: string;
  source: DatasetSource;
}

/**
 * Finds a dataset on disk, never downloading. With a data folder, tries `<data>/<org>/<name>`, `<data>/<name>`,
 * `<data>/<org>--<name>` and `<data>` itself; then the local Hugging Face hub cache (HF_HUB_CACHE, HF_HOME, …).
 * A folder counts only where `looksRight` (the loader's check for its files) holds. Undefined when nothing fits.
 */
export async function resolveDataset(
  datasetId: string,
  looksRight: (root: string) => boolean,
  options: { dataDir?: string; revision?: string; env?: Record<string, string | undefined> } = {},
): Promise<ResolvedDataset | undefined> {
  const name = datasetId.split("/").pop() as string;
  if (options.dataDir) {
    const candidates = [join(options.dataDir, datasetId), join(options.dataDir, name), join(options.dataDir, datasetId.replace("/", "--")), options.dataDir];
    for (const root of candidates) {
      if (existsSync(root) && looksRight(root)) {
        return { root, source: { kind: "local", dataset: datasetId, path: root, revision: readRevisionFile(root) } };
      }
    }
  }
  let found: { root: string; via: "path" | "hub-cache" };
  try {
    found = await resolveHfDatasetDir(datasetId, { ...(options.revision ? { revision: options.revision } : {}), ...(options.env ? { env: options.env } : {}) });
  } catch {
    return undefined;
  }
  if (found.via !== "hub-cache" || !looksRight(found.root)) return undefined;
  // A hub snapshot folder is named by its commit.
  return { root: found.root, source: { kind: "hf-cache", dataset: datasetId, path: found.root, revision: basename(found.root) } };
}

/** A local copy may carry its revision in a REVISION file (one line, the commit hash). */
function readRevisionFile(root: string): string | null {
  const file = join(root, "REVISION");
  return existsSync(file) ? readFileSync(file, "utf8").trim() || null : null;
}
