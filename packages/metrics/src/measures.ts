/**
 * Measure names as trec_eval spells them. `-m P.5,10` selects cutoffs 5 and 10 and prints `P_5`, `P_10`;
 * `-m P` prints trec_eval's default cutoffs.
 */
export type MeasureFamily =
  | "map"
  | "recip_rank"
  | "P"
  | "recall"
  | "ndcg"
  | "ndcg_cut"
  | "map_cut"
  | "success"
  | "recip_rank_cut";

const LONG_CUTOFFS = [5, 10, 15, 20, 30, 100, 200, 500, 1000] as const;

/**
 * In trec_eval's print order (its measures.c table); `recip_rank_cut` (MRR@k) is not in trec_eval and comes
 * last. `defaults` are the cutoffs used when a cut measure is named without parameters.
 */
const FAMILIES: readonly { readonly family: MeasureFamily; readonly defaults?: readonly number[] }[] = [
  { family: "map" },
  { family: "recip_rank" },
  { family: "P", defaults: LONG_CUTOFFS },
  { family: "recall", defaults: LONG_CUTOFFS },
  { family: "ndcg" },
  { family: "ndcg_cut", defaults: LONG_CUTOFFS },
  { family: "map_cut", defaults: LONG_CUTOFFS },
  { family: "success", defaults: [1, 5, 10] },
  { family: "recip_rank_cut", defaults: LONG_CUTOFFS },
];

const BY_NAME = new Map(FAMILIES.map((f) => [f.family as string, f]));

/** Other spellings: MRR@k is reciprocal rank cut at k, Hit@k is trec_eval's success_k. */
const NAME_ALIASES: Readonly<Record<string, MeasureFamily>> = { mrr: "recip_rank", mrr_cut: "recip_rank_cut" };

/** `ndcg@10`-style names (case-insensitive) and the cut family each maps to. */
const AT_ALIASES: Readonly<Record<string, MeasureFamily>> = {
  ndcg: "ndcg_cut",
  map: "map_cut",
  mrr: "recip_rank_cut",
  recall: "recall",
  r: "recall",
  p: "P",
  precision: "P",
  hit: "success",
  success: "success",
};

/** The help text listed by unknown-measure errors. */
export const KNOWN_MEASURES =
  "map, recip_rank, P.k, recall.k, ndcg, ndcg_cut.k, map_cut.k, success.k, recip_rank_cut.k " +
  "(cut measures take comma-separated cutoffs, e.g. ndcg_cut.5,10, or none for trec_eval's defaults; also " +
  "accepted: printed names like ndcg_cut_10, mrr (= recip_rank), mrr_cut.k, and ndcg@k, map@k, mrr@k, " +
  "recall@k, p@k, hit@k)";

/** A parsed, merged request: each family with its sorted cutoffs (empty for map, recip_rank, ndcg). */
export interface MeasureSet {
  readonly families: ReadonlyMap<MeasureFamily, readonly number[]>;
  /** Printed names in trec_eval order, e.g. `["map", "P_5", "P_10", "ndcg_cut_10"]`. */
  readonly names: readonly string[];
}

function parseCutoffs(spec: string, family: MeasureFamily, params: string): number[] {
  const cutoffs = params.split(",").map((part) => {
    if (!/^\d+$/.test(part) || Number(part) <= 0 || !Number.isSafeInteger(Number(part))) {
      throw new RangeError(`measure "${spec}": cutoff "${part}" is not a positive integer`);
    }
    return Number(part);
  });
  const seen = new Set<number>();
  for (const cutoff of cutoffs) {
    if (seen.has(cutoff)) throw new RangeError(`measure "${spec}": duplicate cutoff ${cutoff} for ${family}`);
    seen.add(cutoff);
  }
  return cutoffs;
}

function parseOne(spec: string): { family: MeasureFamily; cutoffs: readonly number[] } {
  const unknown = () => new RangeError(`unknown measure "${spec}"; known measures: ${KNOWN_MEASURES}`);
  const at = /^([A-Za-z]+)@(\d+)$/.exec(spec);
  if (at) {
    const family = AT_ALIASES[at[1]!.toLowerCase()];
    if (!family) throw unknown();
    return { family, cutoffs: parseCutoffs(spec, family, at[2]!) };
  }
  const dot = spec.indexOf(".");
  let name = dot < 0 ? spec : spec.slice(0, dot);
  let params = dot < 0 ? undefined : spec.slice(dot + 1);
  const printed = /^(.+)_(\d+)$/.exec(name);
  if (params === undefined && printed && !BY_NAME.has(name) && (BY_NAME.get(printed[1]!)?.defaults || printed[1] === "mrr_cut")) {
    [name, params] = [printed[1]!, printed[2]!];
  }
  const entry = BY_NAME.get(NAME_ALIASES[name] ?? name);
  if (!entry) throw unknown();
  if (params === undefined) return { family: entry.family, cutoffs: entry.defaults ?? [] };
  if (!entry.defaults) {
    throw new RangeError(`measure "${spec}": ${entry.family} takes no parameters (gain maps such as ndcg.1=3 are not supported)`);
  }
  return { family: entry.family, cutoffs: parseCutoffs(spec, entry.family, params) };
}

/**
 * Parses trec_eval `-m` style names into one set. Naming a family twice merges its cutoffs (trec_eval would
 * keep only the first `-m` of a family; the union is what a user asking twice means).
 */
export function parseMeasures(specs: readonly string[]): MeasureSet {
  if (specs.length === 0) throw new RangeError(`no measures given; known measures: ${KNOWN_MEASURES}`);
  const merged = new Map<MeasureFamily, Set<number>>();
  for (const raw of specs) {
    const { family, cutoffs } = parseOne(raw.trim());
    const set = merged.get(family) ?? new Set<number>();
    for (const cutoff of cutoffs) set.add(cutoff);
    merged.set(family, set);
  }
  const families = new Map<MeasureFamily, readonly number[]>();
  const names: string[] = [];
  for (const { family, defaults } of FAMILIES) {
    const cutoffs = merged.get(family);
    if (!cutoffs) continue;
    const sorted = [...cutoffs].sort((a, b) => a - b);
    families.set(family, sorted);
    if (defaults) for (const k of sorted) names.push(`${family}_${k}`);
    else names.push(family);
  }
  return { families, names };
}

/** trec_eval's default set (`official`) restricted to the measures implemented here. */
export const DEFAULT_MEASURES: readonly string[] = ["map", "recip_rank", "P"];
