/**
 * How the adapter was trained to be used: attention, pooling and prompt. Saved next to the PEFT files (PEFT
 * itself would refuse unknown keys in adapter_config.json on older versions), so evaluation embeds exactly as
 * training did. The reference kept these apart from its adapters, and its Dream evaluation wrapped inputs in a
 * chat template that training never used.
 */
export const SETTINGS_FILE = "dembed_adapter.json";

export interface AdapterSettings {
  readonly attention: "bidirectional" | "causal";
  readonly pooling: "mean" | "weighted_mean" | "last_token" | "eos_token" | "bos_token";
  /** Pool only the text's tokens (true) or also the instruction's (false). */
  readonly skipInstruction: boolean;
  /** Wraps instruction + text; `{input}` marks where it goes. */
  readonly promptTemplate: string;
  /** Token limits used in training, as a default for evaluation. */
  readonly maxLength?: { readonly query: number; readonly document: number };
}

const POOLING = ["mean", "weighted_mean", "last_token", "eos_token", "bos_token"] as const;

export function settingsJson(s: AdapterSettings): Record<string, unknown> {
  return {
    format: "dembed-adapter-settings",
    version: 1,
    attention: s.attention,
    pooling: s.pooling,
    skip_instruction: s.skipInstruction,
    prompt_template: s.promptTemplate,
    ...(s.maxLength === undefined ? {} : { max_length: { query: s.maxLength.query, document: s.maxLength.document } }),
  };
}

export function parseSettings(value: unknown, source = SETTINGS_FILE): AdapterSettings {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new Error(`${source}: expected a JSON object`);
  const v = value as Record<string, unknown>;
  const fail = (field: string, expected: string): never => {
    throw new Error(`${source}: ${field} is ${JSON.stringify(v[field])}; expected ${expected}`);
  };
  if (v.format !== "dembed-adapter-settings") fail("format", `"dembed-adapter-settings"`);
  if (v.version !== 1) fail("version", "1");
  if (v.attention !== "bidirectional" && v.attention !== "causal") fail("attention", `"bidirectional" or "causal"`);
  if (!(POOLING as readonly unknown[]).includes(v.pooling)) fail("pooling", `one of ${POOLING.join(", ")}`);
  if (typeof v.skip_instruction !== "boolean") fail("skip_instruction", "a boolean");
  if (typeof v.prompt_template !== "string" || v.prompt_template.split("{input}").length !== 2) fail("prompt_template", "a string containing {input} once");
  let maxLength: AdapterSettings["maxLength"];
  if (v.max_length !== undefined) {
    const m = v.max_length as Record<string, unknown> | null;
    const ok = (x: unknown): boolean => Number.isInteger(x) && (x as number) > 0;
    if (m === null || typeof m !== "object" || !ok(m.query) || !ok(m.document)) fail("max_length", "{query, document} positive integers");
    maxLength = { query: (m as Record<string, number>).query as number, document: (m as Record<string, number>).document as number };
  }
  return {
    attention: v.attention as AdapterSettings["attention"],
    pooling: v.pooling as AdapterSettings["pooling"],
    skipInstruction: v.skip_instruction as boolean,
    promptTemplate: v.prompt_template as string,
    ...(maxLength === undefined ? {} : { maxLength }),
  };
}
