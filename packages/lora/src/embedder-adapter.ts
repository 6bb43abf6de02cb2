/**
 * An adapter folder, ready for the Embedder: the PEFT weights as a LinearAdapter, the settings it was trained with
 * (dembed_adapter.json) merged under the user's explicit choices, and a fingerprint of the files that change the
 * vectors, for embedding caches and reproducibility records. Evaluation then embeds exactly as training did unless
 * the user says otherwise, and says which settings came from where.
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import type { EmbedderOptions, LinearAdapter } from "@dembed/models";
import type { LoraAdapter } from "./adapter.js";
import { loraLinearAdapter } from "./inject.js";
import { loadAdapter } from "./io.js";
import { ADAPTER_CONFIG_FILE, ADAPTER_WEIGHTS_FILE } from "./peft-config.js";
import { SETTINGS_FILE, type AdapterSettings } from "./settings.js";

type PoolingMode = NonNullable<EmbedderOptions["pooling"]>;
type AttentionMode = NonNullable<EmbedderOptions["attention"]>;

/** Settings that decide how texts become vectors; every field is optional where it is a user choice. */
export interface EmbedSettingChoices {
  readonly attention?: AttentionMode;
  readonly pooling?: PoolingMode;
  readonly skipInstruction?: boolean;
  readonly promptTemplate?: string;
  /** One limit for queries and documents alike. */
  readonly maxLength?: number;
}

export interface EmbedSettingDefaults {
  readonly pooling: PoolingMode;
  readonly maxLength: number;
}

/** What the Embedder should use, and where each setting came from. */
export interface EffectiveEmbedSettings {
  /** undefined: the architecture's own mode (neither the adapter nor the user chose). */
  readonly attention: AttentionMode | undefined;
  readonly pooling: PoolingMode;
  readonly skipInstruction: boolean;
  /** undefined: the architecture's profile, no template. */
  readonly promptTemplate: string | undefined;
  readonly maxLength: { readonly query: number; readonly document: number };
  /** Names (as in dembed_adapter.json) of the settings taken from the adapter. */
  readonly fromAdapter: readonly string[];
  /** Names of the settings the user's choices set against what the adapter says. */
  readonly overridden: readonly string[];
}

/** The adapter's settings, except where the user chose otherwise; then defaults. */
export function effectiveEmbedSettings(
  trained: AdapterSettings | undefined,
  chosen: EmbedSettingChoices,
  defaults: EmbedSettingDefaults,
): EffectiveEmbedSettings {
  const fromAdapter: string[] = [];
  const overridden: string[] = [];
  const pick = <T>(name: string, user: T | undefined, adapter: T | undefined, fallback: T): T => {
    if (user !== undefined) {
      if (adapter !== undefined && JSON.stringify(adapter) !== JSON.stringify(user)) overridden.push(name);
      return user;
    }
    if (adapter !== undefined) {
      fromAdapter.push(name);
      return adapter;
    }
    return fallback;
  };
  const trainedLength = trained?.maxLength;
  const userLength = chosen.maxLength === undefined ? undefined : { query: chosen.maxLength, document: chosen.maxLength };
  return {
    attention: pick<AttentionMode | undefined>("attention", chosen.attention, trained?.attention, undefined),
    pooling: pick("pooling", chosen.pooling, trained?.pooling, defaults.pooling),
    skipInstruction: pick("skip_instruction", chosen.skipInstruction, trained?.skipInstruction, true),
    // "{input}" is no template at all; kept as given so the record shows what training saved.
    promptTemplate: pick<string | undefined>("prompt_template", chosen.promptTemplate, trained?.promptTemplate, undefined),
    maxLength: pick("max_length", userLength, trainedLength, { query: defaults.maxLength, document: defaults.maxLength }),
    fromAdapter,
    overridden,
  };
}

/** Embedder options for these settings (the adapter itself is added by the caller). */
export function embedderSettingOptions(s: EffectiveEmbedSettings): Pick<EmbedderOptions, "attention" | "pooling" | "skipInstruction" | "promptTemplate" | "maxLength"> {
  return {
    ...(s.attention === undefined ? {} : { attention: s.attention }),
    pooling: s.pooling,
    skipInstruction: s.skipInstruction,
    ...(s.promptTemplate === undefined ? {} : { promptTemplate: s.promptTemplate }),
    maxLength: Math.max(s.maxLength.query, s.maxLength.document),
  };
}

/** A loaded adapter folder with what evaluation needs to know about it. */
export interface EmbedderAdapter {
  /** Absolute path of the folder. */
  readonly dir: string;
  readonly adapter: LoraAdapter;
  /** For `Embedder.load(base, { adapter: linear })`. */
  readonly linear: LinearAdapter;
  /** dembed_adapter.json, or undefined for a plain PEFT folder (e.g. an llm2vec checkpoint). */
  readonly settings: AdapterSettings | undefined;
  /** "sha256:<hex>" over adapter_config.json and adapter_model.safetensors: changes whenever the vectors can. */
  readonly fingerprint: string;
  readonly weightsBytes: number;
}

async function hashFiles(paths: readonly string[]): Promise<string> {
  const hash = createHash("sha256");
  for (const path of paths) {
    // Length-prefixed, so moving bytes between the two files cannot give the same digest.
    hash.update(`${(await stat(path)).size}:`);
    for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  }
  return `sha256:${hash.digest("hex")}`;
}

/** Reads a PEFT adapter folder (with or without dembed_adapter.json) for the Embedder. */
export async function loadAdapterForEmbedder(dir: string, name = "lora"): Promise<EmbedderAdapter> {
  const absolute = resolve(dir);
  const adapter = await loadAdapter(absolute);
  const weightsPath = join(absolute, ADAPTER_WEIGHTS_FILE);
  const fingerprint = await hashFiles([join(absolute, ADAPTER_CONFIG_FILE), weightsPath]);
  return {
    dir: absolute,
    adapter,
    linear: loraLinearAdapter(adapter, name),
    settings: adapter.settings,
    fingerprint,
    weightsBytes: (await stat(weightsPath)).size,
  };
}

const show = (name: string, s: EffectiveEmbedSettings): string => {
  switch (name) {
    case "attention":
      return `attention ${s.attention ?? "(architecture default)"}`;
    case "pooling":
      return `pooling ${s.pooling}`;
    case "skip_instruction":
      return `skip_instruction ${s.skipInstruction}`;
    case "prompt_template":
      return `prompt_template ${JSON.stringify(s.promptTemplate ?? "{input}")}`;
    default:
      return s.maxLength.query === s.maxLength.document ? `max_length ${s.maxLength.query}` : `max_length query ${s.maxLength.query} / document ${s.maxLength.document}`;
  }
};

/** One line for the user: which settings came from the adapter and which the user's flags replaced. */
export function settingSourcesLine(loaded: Pick<EmbedderAdapter, "dir" | "settings">, s: EffectiveEmbedSettings): string {
  if (loaded.settings === undefined) return `adapter ${loaded.dir}: no ${SETTINGS_FILE}; settings come from flags and defaults`;
  const taken = s.fromAdapter.length === 0 ? "none" : s.fromAdapter.map((n) => show(n, s)).join(", ");
  const replaced = s.overridden.length === 0 ? "" : `; flags replaced ${s.overridden.map((n) => show(n, s)).join(", ")}`;
  return `adapter ${loaded.dir}: from ${SETTINGS_FILE}: ${taken}${replaced}`;
}
