// saveModel: the .onnx file, a data file beside it for large inline initializers, and hard links for external
// weights that live elsewhere. Hard links because ORT 1.30 resolves symlinks and refuses files whose real path
// leaves the model's folder (probed; see README "External data"). Every file is written to a temp name and renamed.
import { randomBytes } from "node:crypto";
import { linkSync, mkdirSync, realpathSync, renameSync, rmSync, statSync } from "node:fs";
import { open, rename, rm, writeFile } from "node:fs/promises";
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import { GraphBuildError, type Graph, type Initializer } from "./graph.js";
import { externalFiles, isInside } from "./external.js";
import { toModelProto, type SerializeOptions } from "./serialize.js";
import { bytesOf } from "./tensor.js";

export interface SaveOptions extends Pick<SerializeOptions, "producer" | "producerVersion" | "docString"> {
  /** Inline initializers of at least this many bytes go to the data file (default 1024, as onnx does). */
  externalThreshold?: number;
}

export interface SavedModel {
  modelPath: string;
  /** `<model file>.data`, when some initializer went there. */
  dataPath?: string;
  /** Hard links made in `<model file>.weights/` for external files outside the model's folder. */
  links: string[];
}

/** mmap-friendly offsets: ORT maps external data only at page-aligned offsets. */
const ALIGN = 4096;

const tempName = (path: string): string => `${path}.tmp-${process.pid}-${randomBytes(4).toString("hex")}`;

export async function saveModel(graph: Graph, path: string, options: SaveOptions = {}): Promise<SavedModel> {
  const modelPath = resolve(path);
  const dir = dirname(modelPath);
  mkdirSync(dir, { recursive: true });
  const threshold = options.externalThreshold ?? 1024;
  const locate = linkExternalFiles(graph, modelPath);

  const moved = new Map<string, { location: string; offset: number; length: number }>();
  const dataPath = `${modelPath}.data`;
  const large = [...graph.initializers.values()].filter((i) => i.data && i.data.byteLength >= threshold);
  if (large.length > 0) {
    const tmp = tempName(dataPath);
    const file = await open(tmp, "w");
    try {
      let offset = 0;
      for (const init of large) {
        const bytes = bytesOf(init.data!);
        offset = Math.ceil(offset / ALIGN) * ALIGN;
        await file.write(bytes, 0, bytes.byteLength, offset);
        moved.set(init.value.name, { location: basename(dataPath), offset, length: bytes.byteLength });
        offset += bytes.byteLength;
      }
      await file.close();
      await rename(tmp, dataPath);
    } catch (e) {
      await file.close().catch(() => undefined);
      await rm(tmp, { force: true });
      throw e;
    }
  }

  const proto = toModelProto(graph, { ...options, moveToExternal: moved, externalLocation: locate.location });
  const tmp = tempName(modelPath);
  try {
    await writeFile(tmp, proto);
    await rename(tmp, modelPath);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
  return { modelPath, ...(large.length > 0 ? { dataPath } : {}), links: locate.links };
}

/**
 * Absolute external locations inside the model's folder become relative; the others get a hard link in
 * `<model file>.weights/` (no bytes copied). Relative locations are kept (already relative to the model's folder).
 */
function linkExternalFiles(graph: Graph, modelPath: string): { location: (init: Initializer) => string; links: string[] } {
  const dir = dirname(modelPath);
  const real = externalFiles(graph);
  const linkDir = `${modelPath}.weights`;
  const byReal = new Map<string, string>();
  const taken = new Set<string>();
  const links: string[] = [];
  const realDir = realpathSync(dir);
  for (const [location, path] of real) {
    if (byReal.has(path)) continue;
    if (isInside(path, realDir)) {
      byReal.set(path, relative(realDir, path));
      continue;
    }
    let name = basename(path);
    for (let i = 1; taken.has(name); i++) name = `${i}-${basename(path)}`;
    taken.add(name);
    const target = join(linkDir, name);
    hardLink(path, target, location);
    links.push(target);
    byReal.set(path, relative(dir, target));
  }
  return {
    links,
    location: (init) => {
      const location = init.external!.location;
      if (!isAbsolute(location)) return location;
      return byReal.get(real.get(location)!)!.split(sep).join("/");
    },
  };
}

function hardLink(source: string, target: string, location: string): void {
  mkdirSync(dirname(target), { recursive: true });
  const [s, t] = [statSync(source), statSync(target, { throwIfNoEntry: false })];
  if (t && t.ino === s.ino && t.dev === s.dev) return;
  const tmp = tempName(target);
  try {
    linkSync(source, tmp);
    renameSync(tmp, target);
  } catch (e) {
    rmSync(tmp, { force: true });
    const code = (e as NodeJS.ErrnoException).code;
    throw new GraphBuildError(
      `saveModel: cannot hard-link external data '${location}' into '${dirname(target)}' (${code ?? (e as Error).message})` +
        (code === "EXDEV" ? "; save the model on the same filesystem as its weights, or run it in memory with createSession(graph)" : ""),
    );
  }
}
