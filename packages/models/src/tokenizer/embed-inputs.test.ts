import { beforeAll, describe, expect, it } from "vitest";
import { encodeForEmbedding, profileWithTemplate } from "./embed-inputs.js";
import { padBatch } from "./encode.js";
import { packagedTokenizerDir } from "./files.js";
import type { TokenizerProfile } from "./profile.js";
import { loadTokenizer, type Tokenizer } from "./tokenizer.js";

const LLAMA: TokenizerProfile = { padToken: "<|end_of_text|>", eosToken: "<|end_of_text|>", bosToken: "<|begin_of_text|>", paddingSide: "left", appendEos: false };
const INSTRUCTION = "Retrieve text based on user query:";

let llama: Tokenizer;
beforeAll(async () => {
  llama = await loadTokenizer(packagedTokenizerDir("llama"));
});

describe("profileWithTemplate", () => {
  it("splits at {input}, replaces the profile's template, and drops it for a bare {input}", () => {
    const withOwn = { ...LLAMA, template: { prefix: "A", suffix: "B" } };
    expect(profileWithTemplate(withOwn, "Q: {input}!").template).toEqual({ prefix: "Q: ", suffix: "!" });
    expect(profileWithTemplate(withOwn, "{input}")).not.toHaveProperty("template");
    expect(() => profileWithTemplate(LLAMA, "no marker")).toThrow(/prompt template "no marker" must contain \{input\} exactly once/);
    expect(() => profileWithTemplate(LLAMA, "{input}{input}")).toThrow(/exactly once/);
  });
});

describe("encodeForEmbedding", () => {
  const texts = ["the grass is green", "unbelievable"];
  const base = { profile: LLAMA, maxLength: 64, pooling: "mean" } as const;

  it("marks the text only by default, and every real token (BOS, instruction, template) without skipInstruction", () => {
    const textOnly = padBatch(...args(encodeForEmbedding(llama, texts, INSTRUCTION, { ...base, promptTemplate: "In: {input} End" })));
    const all = padBatch(...args(encodeForEmbedding(llama, texts, INSTRUCTION, { ...base, promptTemplate: "In: {input} End", skipInstruction: false })));
    expect(Array.from(all.inputIds)).toEqual(Array.from(textOnly.inputIds));
    expect(Array.from(all.embedMask)).toEqual(Array.from(all.attentionMask, Number));
    const [, seq] = textOnly.dims;
    for (let b = 0; b < 2; b++) {
      const marked = Array.from(textOnly.inputIds.subarray(b * seq, (b + 1) * seq)).filter((_, i) => textOnly.embedMask[b * seq + i] === 1);
      // The text and the template's suffix, never the prefix or the instruction.
      expect(llama.decode(marked.map(Number))).toBe(` ${texts[b]} End`);
    }
  });

  it("wraps inputs in the template and appends EOS for last-token pooling", () => {
    const plain = encodeForEmbedding(llama, ["hello"], undefined, base).rows[0]!;
    const wrapped = encodeForEmbedding(llama, ["hello"], undefined, { ...base, promptTemplate: "In: {input} End", pooling: "last_token" }).rows[0]!;
    expect(llama.decode(plain.ids)).toBe("<|begin_of_text|>hello");
    expect(llama.decode(wrapped.ids)).toBe("<|begin_of_text|>In: hello End<|end_of_text|>");
  });

  it("keeps the tokenizer's truncation and errors", () => {
    const long = "word ".repeat(40);
    const encoded = encodeForEmbedding(llama, [long, "short"], INSTRUCTION, { ...base, maxLength: 16, skipInstruction: false });
    expect(encoded.truncated).toBe(1);
    expect(encoded.rows[0]!.ids).toHaveLength(16);
    expect(encoded.rows.every((r) => r.textStart === 0)).toBe(true);
    expect(() => encodeForEmbedding(llama, [""], undefined, base)).toThrow(/text 0 is empty/);
  });
});

const args = (encoded: ReturnType<typeof encodeForEmbedding>) => [encoded.rows, encoded.profile] as const;
