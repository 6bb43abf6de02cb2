// `tiny` and `tiny:<arch>`: the built-in untrained models, accepted wherever a model reference is. They live in one
// place, $DEMBED_CACHE/tiny/<Arch> (default ~/.cache/dembed), generated once with deterministic weights.
import { rename, rm, stat } from "node:fs/promises";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { removeDeadTemps } from "@dembed/files";
import { createTinyModel } from "./tiny.js";

export const TINY_ARCHITECTURES = ["Dream", "qwen2", "llama", "qwen3"] as const;

/** Where dembed keeps what it generates (tiny models, caches): $DEMBED_CACHE, else ~/.cache/dembed. */
export const dembedCacheDir = (env: Readonly<Record<string, string | undefined>> = process.env): string =>
  env.DEMBED_CACHE ?? join(homedir(), ".cache", "dembed");

/** The architecture a `tiny[:<arch>]` reference names (bare `tiny` is Dream), or undefined for other references. */
export function parseTinyRef(ref: string): string | undefined {
  const match = /^tiny(?::(.*))?$/.exec(ref);
  if (match === null) return undefined;
  if (match[1] === undefined) return "Dream";
  const arch = TINY_ARCHITECTURES.find((a) => a.toLowerCase() === match[1]!.toLowerCase());
  if (arch === undefined) throw new Error(`model "${ref}": unknown tiny architecture; expected tiny or tiny:${TINY_ARCHITECTURES.join(", tiny:")}`);
  return arch;
}

const exists = (path: string): Promise<boolean> => stat(path).then(() => true, () => false);

/**
 * The folder of a tiny model, generated on first use. It is assembled under a temp name and renamed into place, so
 * concurrent runs never see half a model; temp folders of killed runs are removed first.
 */
export async function ensureTinyModel(arch: string, cacheDir = dembedCacheDir()): Promise<string> {
  const root = resolve(cacheDir, "tiny");
  const dir = join(root, arch);
  await removeDeadTemps(root); // a killed generation's half-written folder
  if (await exists(join(dir, "config.json"))) return dir;
  const temp = `${dir}.tmp-${process.pid}`;
  await rm(temp, { recursive: true, force: true });
  await createTinyModel(arch, temp, { seed: 0 });
  await rename(temp, dir).catch(async (error: NodeJS.ErrnoException) => {
    await rm(temp, { recursive: true, force: true });
    if (!(await exists(join(dir, "config.json")))) throw error; // another run finished first: use its copy
  });
  return dir;
}
