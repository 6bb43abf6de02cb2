import { checkHidden, pooledPositions, readMask, readMatrix, type CheckedHidden } from "./inputs.js";
import { normalizeRow, normalizeRowBackward } from "./normalize.js";
import type { Embeddings, HiddenGradient, HiddenStates, MaskInput, MatrixInput, PoolingMode, PoolOptions } from "./types.js";

type CanonicalMode = "mean" | "weighted_mean" | "last_token" | "first_token" | "max";

/**
 * Every mode but max is a fixed weighted sum over the pooled tokens: y = Σ_k w_k·h_{t_k}, so its backward
 * is dh_{t_k} = w_k·g. Max routes the gradient to the arg-max token of each dimension instead.
 */
type ModeRule = { readonly kind: "weighted"; readonly weights: (count: number) => Float64Array } | { readonly kind: "max" };

const RULES = {
  mean: { kind: "weighted", weights: (n) => new Float64Array(n).fill(1 / n) },
  // llm2vec: weights 1..n in position order, divided by their sum n(n+1)/2.
  weighted_mean: {
    kind: "weighted",
    weights: (n) => Float64Array.from({ length: n }, (_, k) => (k + 1) / ((n * (n + 1)) / 2)),
  },
  last_token: { kind: "weighted", weights: (n) => Float64Array.from({ length: n }, (_, k) => (k === n - 1 ? 1 : 0)) },
  first_token: { kind: "weighted", weights: (n) => Float64Array.from({ length: n }, (_, k) => (k === 0 ? 1 : 0)) },
  max: { kind: "max" },
} satisfies Record<CanonicalMode, ModeRule>;

const ALIASES = {
  mean: "mean",
  weighted_mean: "weighted_mean",
  last_token: "last_token",
  eos_token: "last_token",
  first_token: "first_token",
  bos_token: "first_token",
  cls: "first_token",
  max: "max",
} satisfies Record<PoolingMode, CanonicalMode>;

/** Every accepted mode name, aliases included. */
export const POOLING_MODES = Object.keys(ALIASES) as PoolingMode[];

function resolveMode(mode: string): ModeRule {
  if (!Object.hasOwn(ALIASES, mode)) {
    throw new RangeError(`pool: unknown mode "${mode}"; expected one of ${POOLING_MODES.join(", ")}`);
  }
  return RULES[ALIASES[mode as PoolingMode]];
}

interface Prepared {
  readonly hidden: CheckedHidden;
  readonly rule: ModeRule;
  readonly positions: Int32Array[];
  readonly normalize: boolean;
}

function prepare(hidden: HiddenStates, attentionMask: MaskInput, options: PoolOptions): Prepared {
  const rule = resolveMode(options.mode ?? "mean");
  const checked = checkHidden(hidden);
  const { batch, tokens } = checked;
  const attention = readMask("attention mask", attentionMask, batch, tokens);
  const embed = options.embedMask === undefined ? undefined : readMask("embed mask", options.embedMask, batch, tokens);
  return { hidden: checked, rule, positions: pooledPositions(attention, embed, batch, tokens), normalize: options.normalize ?? false };
}

/** Un-normalized pooled rows in float64 (accumulated in double so long inputs keep their precision). */
function poolRaw({ hidden, rule, positions }: Prepared): Float64Array {
  const { data, tokens, hidden: size } = hidden;
  const out = new Float64Array(hidden.batch * size);
  positions.forEach((rowPositions, b) => {
    const base = b * size;
    if (rule.kind === "max") {
      out.fill(-Infinity, base, base + size);
      for (const t of rowPositions) {
        const src = (b * tokens + t) * size;
        for (let h = 0; h < size; h++) if (data[src + h]! > out[base + h]!) out[base + h] = data[src + h]!;
      }
      return;
    }
    const weights = rule.weights(rowPositions.length);
    rowPositions.forEach((t, k) => {
      const w = weights[k]!;
      if (w === 0) return;
      const src = (b * tokens + t) * size;
      for (let h = 0; h < size; h++) out[base + h] = out[base + h]! + w * data[src + h]!;
    });
  });
  return out;
}

/**
 * Pools `[B, T, H]` hidden states into `[B, H]` embeddings (see {@link PoolingMode} for the modes).
 * Padding side does not matter: tokens are chosen by mask, never by position. Throws, naming the row, when
 * a row has no token to pool.
 */
export function pool(hidden: HiddenStates, attentionMask: MaskInput, options: PoolOptions = {}): Embeddings {
  const prepared = prepare(hidden, attentionMask, options);
  const { batch, hidden: size } = prepared.hidden;
  const raw = poolRaw(prepared);
  const out = new Float32Array(batch * size);
  for (let b = 0; b < batch; b++) {
    if (prepared.normalize) normalizeRow(raw, out, b * size, size);
    else for (let h = 0; h < size; h++) out[b * size + h] = raw[b * size + h]!;
  }
  return { data: out, dims: [batch, size] };
}

/**
 * Backward of {@link pool}: given dLoss/dEmbeddings (`[B, H]`, with the same options as the forward,
 * normalization included), returns dLoss/dHidden laid out like the hidden states (`[B, T, H]`); tokens
 * that were not pooled get zero. Max sends each dimension's gradient to its first arg-max token.
 */
export function poolBackward(
  hidden: HiddenStates,
  attentionMask: MaskInput,
  gradEmbeddings: MatrixInput,
  options: PoolOptions = {},
): HiddenGradient {
  const prepared = prepare(hidden, attentionMask, options);
  const { data, batch, tokens, hidden: size } = prepared.hidden;
  let grad = readMatrix("gradient", gradEmbeddings, batch, size);
  if (prepared.normalize) {
    const raw = poolRaw(prepared);
    const through = new Float64Array(batch * size);
    for (let b = 0; b < batch; b++) normalizeRowBackward(raw, grad, through, b * size, size);
    grad = through;
  }
  const out = new Float32Array(batch * tokens * size);
  const { rule } = prepared;
  prepared.positions.forEach((rowPositions, b) => {
    const base = b * size;
    if (rule.kind === "max") {
      for (let h = 0; h < size; h++) {
        let best = rowPositions[0]!;
        for (const t of rowPositions) if (data[(b * tokens + t) * size + h]! > data[(b * tokens + best) * size + h]!) best = t;
        out[(b * tokens + best) * size + h] = grad[base + h]!;
      }
      return;
    }
    const weights = rule.weights(rowPositions.length);
    rowPositions.forEach((t, k) => {
      const w = weights[k]!;
      if (w === 0) return;
      const dst = (b * tokens + t) * size;
      for (let h = 0; h < size; h++) out[dst + h] = w * grad[base + h]!;
    });
  });
  return { data: out, dims: [batch, tokens, size] };
}

/** Row views (no copy) of a `[B, H]` result, for code that wants one Float32Array per item. */
export function rows(embeddings: Embeddings): Float32Array[] {
  const [batch, size] = embeddings.dims;
  return Array.from({ length: batch }, (_, b) => embeddings.data.subarray(b * size, (b + 1) * size));
}
