import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { EncodedBatch } from "./encode.js";
import { copyTokenizerFiles, packagedTokenizerDir } from "./files.js";
import type { TokenizerProfile } from "./profile.js";
import { Tokenizer, loadTokenizer } from "./tokenizer.js";

const ENDOFTEXT = 151643;
const QWEN: TokenizerProfile = { padToken: "<|endoftext|>", eosToken: "<|im_end|>", paddingSide: "left", appendEos: false };
const LLAMA: TokenizerProfile = { padToken: "<|end_of_text|>", eosToken: "<|end_of_text|>", bosToken: "<|begin_of_text|>", paddingSide: "left", appendEos: true };
const INSTRUCTION = "Retrieve text based on user query:";

let qwen: Tokenizer;
let llama: Tokenizer;
let scratch: string;
let fetchSpy: ReturnType<typeof vi.spyOn>;

beforeAll(async () => {
  fetchSpy = vi.spyOn(globalThis, "fetch");
  [qwen, llama] = await Promise.all([loadTokenizer(packagedTokenizerDir("qwen")), loadTokenizer(packagedTokenizerDir("llama"))]);
  scratch = await mkdtemp(join(tmpdir(), "dembed-tok-"));
});
afterAll(async () => {
  fetchSpy.mockRestore();
  await rm(scratch, { recursive: true, force: true });
});

/** Row b of a [B, T] batch as plain numbers. */
function row(batch: EncodedBatch, field: "inputIds" | "attentionMask" | "embedMask", b: number): number[] {
  const [, seq] = batch.dims;
  return Array.from(batch[field].subarray(b * seq, (b + 1) * seq), Number);
}

describe("loading", () => {
  it("loads the real Qwen and Llama 3 tokenizers offline", () => {
    expect(qwen.encode("Hello world")).toEqual([9707, 1879]);
    expect(qwen.decode([9707, 1879])).toBe("Hello world");
    expect(qwen.vocabSize).toBe(151669);
    expect(qwen.tokenId("<|endoftext|>")).toBe(ENDOFTEXT);
    expect(llama.encode("Hello world")).toEqual([9906, 1917]);
    expect(llama.vocabSize).toBe(128256);
    expect(fetchSpy).not.toHaveBeenCalled();
  });

  it("derives a default profile from tokenizer_config.json", () => {
    expect(qwen.defaultProfile()).toEqual({ padToken: "<|endoftext|>", eosToken: "<|im_end|>", paddingSide: "right", appendEos: false });
    // Llama 3 has no pad token: eos stands in, and the attention mask keeps a real EOS apart from padding.
    expect(llama.defaultProfile()).toMatchObject({ padToken: "<|end_of_text|>", eosToken: "<|end_of_text|>" });
  });

  it("names the file when tokenizer files are missing or corrupt, or a token is unknown", async () => {
    const dir = join(scratch, "broken");
    await mkdir(dir);
    await expect(loadTokenizer(dir)).rejects.toThrow(`${join(dir, "tokenizer.json")}: cannot read tokenizer file`);
    await writeFile(join(dir, "tokenizer.json"), "{ not json");
    await expect(loadTokenizer(dir)).rejects.toThrow(/broken\/tokenizer.json: not valid JSON/);
    expect(() => qwen.tokenId("<|nope|>")).toThrow(/tokenizer-qwen3\/models\/tokenizer.json: has no token "<\|nope\|>"/);
    expect(() => qwen.resolveProfile({ ...QWEN, padToken: 999_999 })).toThrow(/padToken id 999999 is outside the vocabulary .* \(0..151668\)/);
  });

  it("copies the packaged files into a model folder, with config overrides", async () => {
    const dir = join(scratch, "model");
    await copyTokenizerFiles("qwen", dir, { eos_token: "<|endoftext|>" });
    const copied = await loadTokenizer(dir);
    expect(copied.encode("Hello world")).toEqual([9707, 1879]);
    expect(copied.config.eos_token).toBe("<|endoftext|>");
    expect(copied.config.pad_token).toBe("<|endoftext|>");
    await copyTokenizerFiles("llama", join(scratch, "llama-model"));
    const [copiedBytes, packagedBytes] = await Promise.all([
      readFile(join(scratch, "llama-model", "tokenizer.json")),
      readFile(join(packagedTokenizerDir("llama"), "tokenizer.json")),
    ]);
    expect(copiedBytes.equals(packagedBytes)).toBe(true); // not toEqual: a deep compare of 9 MB takes a minute
    await expect(copyTokenizerFiles("gpt" as "qwen", dir)).rejects.toThrow(/kind must be "qwen" or "llama", got "gpt"/);
  });
});

describe("encodeBatch", () => {
  it("pads on the left or the right, with identical real tokens", () => {
    const texts = ["Hello world", "Hi"];
    const left = qwen.encodeBatch(texts, { profile: QWEN, maxLength: 16 });
    const right = qwen.encodeBatch(texts, { profile: { ...QWEN, paddingSide: "right" }, maxLength: 16 });
    expect(left.dims).toEqual([2, 2]);
    expect(row(left, "inputIds", 1)).toEqual([ENDOFTEXT, 13048]);
    expect(row(left, "attentionMask", 1)).toEqual([0, 1]);
    expect(row(right, "inputIds", 1)).toEqual([13048, ENDOFTEXT]);
    expect(row(right, "attentionMask", 1)).toEqual([1, 0]);
    expect(row(right, "embedMask", 1)).toEqual([1, 0]);
    expect(row(left, "inputIds", 0)).toEqual([9707, 1879]);
    expect([...left.lengths]).toEqual([2, 1]);
    expect(left.truncated).toBe(0);
  });

  it("truncates from the right, counts every cut row, and keeps an appended EOS", () => {
    const long = "The grass is green. The sky is blue. ".repeat(20);
    const batch = llama.encodeBatch([long, "short", long], { profile: LLAMA, maxLength: 12 });
    expect(batch.truncated).toBe(2);
    expect(batch.truncatedRows).toEqual([0, 2]);
    const ids = row(batch, "inputIds", 0);
    expect(ids).toHaveLength(12);
    expect(ids[0]).toBe(128000);
    expect(ids[11]).toBe(128001);
    expect(ids.slice(1, 11)).toEqual(llama.encode(long).slice(0, 10));
    expect(row(batch, "embedMask", 0)).toEqual([0, ...Array(11).fill(1)]);
    // The short row: BOS + "short" + EOS, left-padded with the EOS id as pad.
    expect(row(batch, "inputIds", 1).slice(-3)).toEqual([128000, ...llama.encode("short"), 128001]);
    expect(row(batch, "attentionMask", 1).filter((m) => m === 1)).toHaveLength(2 + llama.encode("short").length);
  });

  it("keeps the real EOS unmasked when pad == eos", () => {
    const profile: TokenizerProfile = { padToken: "<|endoftext|>", eosToken: "<|endoftext|>", paddingSide: "right", appendEos: true };
    const batch = qwen.encodeBatch(["Hello world", "Hi"], { profile, maxLength: 8 });
    expect(row(batch, "inputIds", 1)).toEqual([13048, ENDOFTEXT, ENDOFTEXT]);
    expect(row(batch, "attentionMask", 1)).toEqual([1, 1, 0]);
    expect(row(batch, "embedMask", 1)).toEqual([1, 1, 0]);
    expect(qwen.encodeBatch(["Hi"], { profile, maxLength: 8, addEos: false }).dims).toEqual([1, 1]);
  });

  it("marks only the text's tokens after an instruction (llm2vec embed mask)", () => {
    const batch = qwen.encodeBatch(["Hello world"], { profile: QWEN, maxLength: 32, instruction: INSTRUCTION });
    const ids = row(batch, "inputIds", 0);
    expect(ids).toEqual(qwen.encode(`${INSTRUCTION} Hello world`));
    const marked = ids.filter((_, i) => row(batch, "embedMask", 0)[i] === 1);
    expect(marked).toHaveLength(qwen.encode("Hello world").length); // llm2vec's n when nothing merges
    expect(qwen.decode(marked)).toBe(" Hello world");
  });

  it("finds the text's tokens when BPE merges across the join, where llm2vec's count is wrong", () => {
    const joined = qwen.encode(`${INSTRUCTION} unbelievable`);
    expect(qwen.encode("unbelievable")).toHaveLength(3); // llm2vec would mark 3 tokens, two of them the instruction's
    const batch = qwen.encodeBatch(["unbelievable"], { profile: QWEN, maxLength: 32, instruction: INSTRUCTION });
    const mask = row(batch, "embedMask", 0);
    expect(mask.filter((m) => m === 1)).toHaveLength(1);
    expect(qwen.decode(joined.slice(-1))).toBe(" unbelievable");
    // A separator-free join that fuses into one word: the straddling token counts as text.
    const fused = qwen.encodeBatch([":)"], { profile: { ...QWEN, instructionSeparator: "" }, maxLength: 32, instruction: "Query:" });
    const pieces = row(fused, "inputIds", 0).map((id) => qwen.decode([id]));
    expect(pieces).toEqual(["Query", "::", ")"]);
    expect(row(fused, "embedMask", 0)).toEqual([0, 1, 1]); // "::" holds the instruction's ":" and the text's ":"
  });

  it("takes one instruction per text, a template around both, and keeps the instruction when truncating", () => {
    const profile: TokenizerProfile = { ...QWEN, template: { prefix: "<|im_start|>user\n", suffix: "<|im_end|>" } };
    const batch = qwen.encodeBatch(["Hello world", "Hello world"], { profile, maxLength: 64, instruction: ["Find it:", undefined] });
    const withInstruction = row(batch, "inputIds", 0).filter((_, i) => row(batch, "attentionMask", 0)[i] === 1);
    expect(withInstruction).toEqual(qwen.encode("<|im_start|>user\nFind it: Hello world<|im_end|>"));
    const marked = (b: number) => row(batch, "inputIds", b).filter((_, i) => row(batch, "embedMask", b)[i] === 1);
    expect(qwen.decode(marked(0))).toBe(" Hello world<|im_end|>");
    expect(qwen.decode(marked(1))).toBe("Hello world<|im_end|>");

    const cut = qwen.encodeBatch(["a b c d e f g h"], { profile: QWEN, maxLength: 9, instruction: INSTRUCTION });
    const instructionLength = qwen.encode(`${INSTRUCTION} `).length - 1; // its trailing space fuses with " a"
    expect(cut.truncated).toBe(1);
    expect(row(cut, "inputIds", 0).slice(0, instructionLength)).toEqual(qwen.encode(INSTRUCTION));
    expect(row(cut, "embedMask", 0).filter((m) => m === 1)).toHaveLength(9 - instructionLength);
  });

  it("encodeRows leaves padding to the caller, for length-sorted batches", () => {
    const { rows, profile, truncated } = qwen.encodeRows(["Hi", "Hello world"], { profile: QWEN, maxLength: 8 });
    expect(rows.map((r) => r.ids)).toEqual([[13048], [9707, 1879]]);
    expect(profile.padId).toBe(ENDOFTEXT);
    expect(truncated).toBe(0);
  });

  it("rejects bad input with the row and the reason", () => {
    const options = { profile: QWEN, maxLength: 16 };
    expect(() => qwen.encodeBatch(["ok", ""], options)).toThrow(/text 1 is empty/);
    expect(() => qwen.encodeBatch(["ok", 3 as unknown as string], options)).toThrow(/text 1 is number, not a string/);
    expect(() => qwen.encodeBatch([], options)).toThrow(/no rows to pad \(empty input\)/);
    expect(() => llama.encodeBatch(["ok"], { profile: LLAMA, maxLength: 2 })).toThrow(/maxLength must be an integer above 2/);
    expect(() => qwen.encodeBatch(["ok"], { ...options, maxLength: 4, instruction: INSTRUCTION })).toThrow(
      /text 0: the instruction side takes \d+ tokens and leaves no room for the text within maxLength 4/,
    );
    expect(() => qwen.encodeBatch(["a", "b"], { ...options, instruction: ["x"] })).toThrow(/1 instructions given for 2 texts/);
    expect(() => qwen.encodeBatch(["a"], { ...options, profile: { ...QWEN, paddingSide: "middle" as "left" } })).toThrow(/paddingSide must be/);
  });
});
