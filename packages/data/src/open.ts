import type { Batching } from "./sampler.js";
import type { TrainingSource } from "./sample.js";
import { openCustomJsonl, type CustomOptions } from "./sources/custom.js";
import { openE5, type E5Options } from "./sources/e5.js";
import { MSMARCO_SOURCE, openMsmarcoInstructions, type MsmarcoOptions } from "./sources/msmarco.js";
import { openReasonAug, REASONAUG_SOURCE } from "./sources/reasonaug.js";
import type { IndexOptions } from "./sources/indexed.js";
import type { ResolveOptions } from "./resolve.js";

export type SourceKind = "e5" | typeof MSMARCO_SOURCE | typeof REASONAUG_SOURCE | "custom";

/** A source as a config file or CLI flags name it: a kind, where the data is, and that kind's options. */
export type SourceSpec =
  | ({ kind: "e5"; path: string } & E5Options)
  | ({ kind: typeof MSMARCO_SOURCE; path: string } & MsmarcoOptions)
  | ({ kind: typeof REASONAUG_SOURCE; path: string } & IndexOptions & ResolveOptions)
  | ({ kind: "custom"; path: string } & CustomOptions);

export const SOURCE_KINDS: readonly SourceKind[] = ["e5", MSMARCO_SOURCE, REASONAUG_SOURCE, "custom"];

/** Open any source from a spec. */
export async function openSource(spec: SourceSpec): Promise<TrainingSource> {
  const { kind, path, ...options } = spec;
  switch (kind) {
    case "e5":
      return openE5(path, options);
    case MSMARCO_SOURCE:
      return openMsmarcoInstructions(path, options);
    case REASONAUG_SOURCE:
      return openReasonAug(path, options);
    case "custom":
      return openCustomJsonl(path, options);
    default:
      throw new Error(`unknown source kind "${kind as string}" (known: ${SOURCE_KINDS.join(", ")})`);
  }
}

/** The batching each recipe uses: E5 one file per batch, ReasonAug one task per batch, the rest shuffled. */
export function defaultBatching(kind: string): Batching {
  if (kind === "e5") return "by-source";
  if (kind === REASONAUG_SOURCE) return "by-task";
  return "shuffled";
}
