/** PEFT module names of the seven projections of a Llama / Qwen2 / Dream block. */
export const PROJECTIONS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"] as const;
export type Projection = (typeof PROJECTIONS)[number];

/** Short names accepted for convenience: q → q_proj, gate → gate_proj, … */
const SHORT: Record<string, Projection> = { q: "q_proj", k: "k_proj", v: "v_proj", o: "o_proj", gate: "gate_proj", up: "up_proj", down: "down_proj" };

export interface LoraConfig {
  readonly r: number;
  /** Scaling is alpha / r (alpha / √r with rsLoRA); a real setting, not fixed to 2r. */
  readonly alpha: number;
  /** Dropout on the adapter's input, in training graphs only. */
  readonly dropout: number;
  readonly targetModules: readonly Projection[];
  /** PEFT's `init_lora_weights`: true = A Kaiming-uniform (a = √5), B zero; "gaussian" = A ~ N(0, 1/r), B zero. */
  readonly init: true | "gaussian";
  /** PEFT's `use_rslora`. */
  readonly useRslora: boolean;
}

export type LoraConfigInput = Partial<Omit<LoraConfig, "targetModules">> & { readonly r: number; readonly targetModules?: readonly string[] };

/** Defaults: alpha 2r, dropout 0.05, all seven projections, PEFT's default init. Throws naming the bad field. */
export function loraConfig(input: LoraConfigInput): LoraConfig {
  const { r } = input;
  if (!Number.isInteger(r) || r < 1) throw new Error(`LoRA config: r must be an integer ≥ 1, got ${r}`);
  const alpha = input.alpha ?? 2 * r;
  if (!(alpha > 0) || !Number.isFinite(alpha)) throw new Error(`LoRA config: alpha must be a positive number, got ${alpha}`);
  const dropout = input.dropout ?? 0.05;
  if (!(dropout >= 0 && dropout < 1)) throw new Error(`LoRA config: dropout must be in [0, 1), got ${dropout}`);
  const init = input.init ?? true;
  if (init !== true && init !== "gaussian") throw new Error(`LoRA config: init must be true or "gaussian", got ${JSON.stringify(init)}`);
  const targets = (input.targetModules ?? PROJECTIONS).map((name) => {
    const full = SHORT[name] ?? name;
    if (!(PROJECTIONS as readonly string[]).includes(full)) {
      throw new Error(`LoRA config: unknown target module "${name}"; expected some of ${PROJECTIONS.join(", ")} (or q, k, v, o, gate, up, down)`);
    }
    return full as Projection;
  });
  if (targets.length === 0) throw new Error("LoRA config: targetModules is empty");
  const targetModules = PROJECTIONS.filter((p) => targets.includes(p));
  return { r, alpha, dropout, targetModules, init, useRslora: input.useRslora ?? false };
}

/** The factor multiplying B·A: alpha / r, or alpha / √r with rsLoRA. */
export function loraScaling(config: Pick<LoraConfig, "r" | "alpha" | "useRslora">): number {
  return config.useRslora ? config.alpha / Math.sqrt(config.r) : config.alpha / config.r;
}
