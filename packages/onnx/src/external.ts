// Where ORT may read external data from, as probed with onnxruntime-node 1.30 (see README "External data"):
// locations must be relative, must not contain "..", and must resolve (after following symlinks) inside the allowed
// folder: the model file's folder, or the session config entry session.model_external_initializers_file_folder_path,
// which also works for models given as bytes. So dembed writes locations relative to a folder that contains the real
// files (symlinks resolved) and hands that folder to the session.
import { realpathSync, statSync } from "node:fs";
import { dirname, isAbsolute, relative, resolve, sep } from "node:path";
import { GraphBuildError, type Graph, type Initializer } from "./graph.js";

/** The session config key that sets the folder external-data locations are relative to. */
export const EXTERNAL_FOLDER_CONFIG = "session.model_external_initializers_file_folder_path";

function realpathOf(path: string, init: Initializer): string {
  try {
    return realpathSync(path);
  } catch {
    throw new GraphBuildError(`initializer '${init.value.name}': external data file '${path}' does not exist`);
  }
}

/** The real (symlink-free) path of every absolute external location, checked to exist and to hold the bytes. */
export function externalFiles(graph: Graph): Map<string, string> {
  const real = new Map<string, string>();
  for (const init of graph.initializers.values()) {
    const ext = init.external;
    if (!ext || !isAbsolute(ext.location)) continue;
    let path = real.get(ext.location);
    if (!path) real.set(ext.location, (path = realpathOf(ext.location, init)));
    const size = statSync(path).size;
    if (ext.offset + ext.length > size) {
      throw new GraphBuildError(
        `initializer '${init.value.name}': needs bytes ${ext.offset}..${ext.offset + ext.length} of '${ext.location}', which has ${size}`,
      );
    }
  }
  return real;
}

/** The deepest folder holding every absolute external file (real paths), or undefined when there are none. */
export function externalDataRoot(graph: Graph): string | undefined {
  const paths = [...externalFiles(graph).values()];
  if (paths.length === 0) return undefined;
  let root = dirname(paths[0]!);
  for (const p of paths) {
    while (!isInside(p, root)) {
      const up = dirname(root);
      if (up === root) {
        throw new GraphBuildError(`external data files share no common folder (different drives?): ${paths.join(", ")}`);
      }
      root = up;
    }
  }
  return root;
}

export const isInside = (path: string, folder: string): boolean => {
  const rel = relative(folder, path);
  return rel !== "" && !rel.startsWith("..") && !isAbsolute(rel);
};

/**
 * A location rewriter for toModelProto: absolute locations become relative to `folder` (which must contain their
 * real paths); relative ones are kept, as they are already relative to the model's folder.
 */
export function relocateExternal(graph: Graph, folder: string): (init: Initializer) => string {
  const real = externalFiles(graph);
  const base = realpathSync(resolve(folder));
  return (init) => {
    const location = init.external!.location;
    if (!isAbsolute(location)) return location;
    const path = real.get(location)!;
    if (!isInside(path, base)) {
      throw new GraphBuildError(
        `initializer '${init.value.name}': '${location}' (really '${path}') is outside the external data folder '${base}'; ORT refuses paths that leave it`,
      );
    }
    return relative(base, path).split(sep).join("/");
  };
}

/** Absolute locations cannot be written without a folder: ORT refuses absolute paths. */
export function hasAbsoluteExternal(graph: Graph): boolean {
  for (const init of graph.initializers.values()) if (init.external && isAbsolute(init.external.location)) return true;
  return false;
}

export function hasRelativeExternal(graph: Graph): boolean {
  for (const init of graph.initializers.values()) if (init.external && !isAbsolute(init.external.location)) return true;
  return false;
}
