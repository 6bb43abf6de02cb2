// Truncation reads a bounded prefix of a long text: the kept tokens equal those of tokenizing the whole text.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { packagedTokenizerDir } from "./files.js";
import type { TokenizerProfile } from "./profile.js";
import { loadTokenizer } from "./tokenizer.js";

const QWEN: TokenizerProfile = { padToken: "<|endoftext|>", eosToken: "<|im_end|>", paddingSide: "left", appendEos: false };
const LLAMA: TokenizerProfile = { padToken: "<|end_of_text|>", eosToken: "<|end_of_text|>", bosToken: "<|begin_of_text|>", paddingSide: "left", appendEos: true };
const HAYSTACK = readFileSync(new URL("../../../../benchmarks/assets/haystack.txt", import.meta.url), "utf8");

describe("bounded tokenization of long texts", () => {
  it.each([
    ["qwen", QWEN],
    ["llama", LLAMA],
  ] as const)("%s: a long book keeps exactly the tokens full tokenization keeps", async (family, profile) => {
    const tokenizer = await loadTokenizer(packagedTokenizerDir(family));
    const text = HAYSTACK.slice(0, 200_000);
    const instruction = "Retrieve text based on user query:";
    for (const maxLength of [16, 128, 700]) {
      const { rows, truncated } = tokenizer.encodeRows([text], { profile, maxLength, instruction });
      const specials = (profile.bosToken === undefined ? 0 : 1) + (profile.appendEos ? 1 : 0);
      const whole = tokenizer.encode(`${instruction} ${text}`).slice(0, maxLength - specials);
      const kept = rows[0]!.ids.slice(profile.bosToken === undefined ? 0 : 1, (profile.bosToken === undefined ? 0 : 1) + whole.length);
      expect(kept).toEqual(whole);
      expect(rows[0]!.ids).toHaveLength(maxLength);
      expect(truncated).toBe(1);
    }
  });

  it("a 10 MB line without whitespace is cut and counted, without tokenizing all of it", async () => {
    const tokenizer = await loadTokenizer(packagedTokenizerDir("qwen"));
    const encode = tokenizer.encode.bind(tokenizer);
    let longest = 0;
    tokenizer.encode = (t: string) => {
      longest = Math.max(longest, t.length);
      return encode(t);
    };
    const text = "x".repeat(10 * 2 ** 20);
    const { rows, truncated } = tokenizer.encodeRows([text], { profile: QWEN, maxLength: 512 });
    expect(rows[0]!.ids).toHaveLength(512);
    expect(truncated).toBe(1);
    expect(longest).toBeLessThan(100_000); // read a prefix proportional to maxLength, not the 10 MB
  });

  it("a text that fits is tokenized whole, with its template suffix", async () => {
    const tokenizer = await loadTokenizer(packagedTokenizerDir("qwen"));
    const { rows, truncated } = tokenizer.encodeRows(["short text"], { profile: QWEN, maxLength: 512 });
    expect(rows[0]!.ids).toEqual(tokenizer.encode("short text"));
    expect(truncated).toBe(0);
  });
});
