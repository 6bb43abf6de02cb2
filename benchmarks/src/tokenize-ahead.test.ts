import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createTinyModel, Embedder, type EncodedRows } from "@dembed/models";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { embedTexts } from "./embed.js";
import { embedderEncoder } from "./embedder-encoder.js";
import { EncoderMeter } from "./stages.js";
import { TokenizeAhead } from "./tokenize-ahead.js";

/** A stand-in tokenizer: one id per character, and a record of what it was asked. */
function fakeTokenizer() {
  const asked: string[] = [];
  const tokenize = (texts: string[], _instruction: string | undefined, maxLength: number): EncodedRows => {
    asked.push(...texts);
    if (texts.some((t) => t === "")) throw new RangeError("empty");
    const rows = texts.map((t) => ({ ids: [...t].slice(0, maxLength).map((c) => c.charCodeAt(0)), textStart: 0, truncated: t.length > maxLength }));
    return { rows, profile: { padId: 0, eosId: 1, paddingSide: "right", padToken: 0, eosToken: 1, appendEos: false }, truncated: rows.filter((r) => r.truncated).length };
  };
  return { asked, tokenize };
}

const doc = { role: "document" as const };

describe("TokenizeAhead", () => {
  it("names the planned texts after a call's, first occurrences only, and nothing without a matching plan", () => {
    const ahead = new TokenizeAhead(fakeTokenizer().tokenize);
    expect(ahead.next(["a"], doc, 10, 2)).toEqual([]);
    ahead.setPlan(["a", "b", "a", "c", "d", "e"], doc, 10);
    expect(ahead.next(["a", "b"], doc, 10, 2)).toEqual(["c", "d"]);
    expect(ahead.next(["b", "c"], doc, 10, 5)).toEqual(["d", "e"]);
    expect(ahead.next(["e"], doc, 10, 2)).toEqual([]);
    expect(ahead.next(["zzz"], doc, 10, 2)).toEqual([]);
    expect(ahead.next(["a"], { role: "query" }, 10, 2)).toEqual([]);
    expect(ahead.next(["a"], doc, 11, 2)).toEqual([]);
    expect(ahead.next(["a"], { role: "document", instruction: "x" }, 10, 2)).toEqual([]);
  });

  it("hands over rows only for exactly the texts prepared, under the same options, once", async () => {
    const { asked, tokenize } = fakeTokenizer();
    const ahead = new TokenizeAhead(tokenize);
    ahead.setPlan(["ab", "cde", "fghij"], doc, 4);
    expect(await ahead.prepare(["cde", "fghij"], undefined, 4)).toBeGreaterThanOrEqual(0);
    expect(asked).toEqual(["cde", "fghij"]);
    expect(ahead.take(["cde", "fghij"], { role: "query" }, 4)).toBeUndefined(); // other options: and the rows are dropped
    expect(ahead.take(["cde", "fghij"], doc, 4)).toBeUndefined();

    await ahead.prepare(["cde", "fghij"], undefined, 4);
    const rows = ahead.take(["fghij", "cde"], doc, 4)!;
    expect(rows.rows.map((r) => r.ids.length)).toEqual([4, 3]);
    expect(rows.truncated).toBe(1);
    expect(ahead.take(["fghij", "cde"], doc, 4)).toBeUndefined();

    await ahead.prepare(["cde"], undefined, 4);
    expect(ahead.take(["cde", "fghij"], doc, 4)).toBeUndefined(); // one text missing: the call tokenizes itself
  });

  it("stops quietly at a text it cannot tokenize, leaving it to the call that owns it", async () => {
    const { asked, tokenize } = fakeTokenizer();
    const ahead = new TokenizeAhead(tokenize);
    ahead.setPlan(["a", "", "b"], doc, 4);
    await expect(ahead.prepare(["", "b"], undefined, 4)).resolves.toBeGreaterThanOrEqual(0);
    expect(asked).toEqual([""]);
  });
});

describe("embedderEncoder tokenizing ahead", () => {
  let dir: string;
  let embedder: Embedder;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "dembed-ahead-"));
    embedder = await Embedder.load(await createTinyModel("Dream", join(dir, "model")), { threads: 1, worker: true, maxLength: 64 });
  }, 60_000);
  afterAll(async () => {
    await embedder?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  const info = { model: "tiny", weights: "w", maxLength: { query: 16, document: 64 }, dtype: "float32", device: "cpu", ortVersion: null };
  const texts = Array.from({ length: 9 }, (_, i) => `Document ${i}: ${"the grass is green and the sky is blue. ".repeat(1 + 3 * (i % 4))}`);
  texts.push(texts[2]!); // a repeat, embedded once

  it("gives the same vectors as tokenizing in each call, with all but the first batch tokenized ahead", async () => {
    const plain = new EncoderMeter(embedderEncoder(embedder, info));
    const expected = await embedTexts(plain.encoder, texts, { role: "document", batchSize: 3 });

    // The same embedder, recording which calls came with their rows already made.
    const given: boolean[] = [];
    const watched = {
      model: embedder.model,
      pooling: embedder.pooling,
      attention: embedder.attention,
      skipInstruction: embedder.skipInstruction,
      promptTemplate: embedder.promptTemplate,
      tokenize: embedder.tokenize.bind(embedder),
      dispose: () => Promise.resolve(),
      encodeDetailed: (inputs: readonly string[], options: Parameters<Embedder["encodeDetailed"]>[1] = {}) => {
        given.push(options.tokenized !== undefined);
        return embedder.encodeDetailed(inputs, options);
      },
    };
    const planned = new EncoderMeter(embedderEncoder(watched, info));
    planned.encoder.plan!(texts, { role: "document" });
    const got = await embedTexts(planned.encoder, texts, { role: "document", batchSize: 3 });

    expect(got.vectors).toEqual(expected.vectors);
    expect(got.truncated).toBe(expected.truncated);
    expect(expected.truncated).toBeGreaterThan(0); // some documents exceed 64 tokens, so truncation went through both paths
    // 9 distinct texts in batches of 3: the second and third batches were tokenized while the model ran the one before.
    expect(given).toEqual([false, true, true]);
    expect(plain.seconds.tokenizeAhead).toBe(0);
    expect(planned.seconds.tokenizeAhead + planned.seconds.tokenize).toBeGreaterThan(0);
  });

  it("queries under an instruction and a wrong plan still give the vectors of plain calls", async () => {
    const queries = ["what is green?", "what is blue?", "who has the key?", "where is it?"];
    const options = { role: "query" as const, instruction: "Retrieve text based on user query:", batchSize: 2 };
    const expected = await embedTexts(embedderEncoder(embedder, info), queries, options);
    const encoder = embedderEncoder(embedder, info);
    encoder.plan!([...queries].reverse(), { role: "query", instruction: options.instruction });
    expect((await embedTexts(encoder, queries, options)).vectors).toEqual(expected.vectors);
    encoder.plan!(queries, { role: "query", instruction: "another instruction" });
    expect((await embedTexts(encoder, queries, options)).vectors).toEqual(expected.vectors);
  });
});
