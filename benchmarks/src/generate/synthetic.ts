import { readFileSync } from "node:fs";
import { packageFile } from "../package-dir.js";
import type { Doc, Qrels, Query, RetrievalSplit, RetrievalTaskData } from "../types.js";
import { deriveSeed, mulberry32, randomInt, shuffled } from "./rng.js";

/** LongEmbed's synthetic-task recipe, with every size explicit so tests and quick runs can shrink it. */
export interface SyntheticOptions {
  /** Default 42. */
  seed?: number;
  /** Context lengths in tokens; default LongEmbed's 256 … 32768. */
  contextLengths?: readonly number[];
  /** Queries per length (default 50); each asks about one document. */
  queriesPerLength?: number;
  /** Documents per length (default 100); the ones no query asks about are distractors. */
  docsPerLength?: number;
  /** Words per token when turning a token length into a word count (LongEmbed: 1 token ≈ 0.75 words). */
  wordsPerToken?: number;
}

export const LONGEMBED_CONTEXT_LENGTHS: readonly number[] = [256, 512, 1024, 2048, 4096, 8192, 16384, 32768];

const FILLER = "The grass is green. The sky is blue. The sun is yellow. Here we go. There and back again.";

function asset(name: string): string {
  return readFileSync(packageFile("assets", name), "utf8");
}

let haystackWords: string[] | undefined;
function haystack(): string[] {
  return (haystackWords ??= asset("haystack.txt").split(/\s+/).filter(Boolean));
}

interface Fact {
  fact: string;
  question: string;
}

function needles(): Fact[] {
  return (JSON.parse(asset("needles.json")) as { facts: Fact[] }).facts;
}

function names(): string[] {
  return (JSON.parse(asset("names.json")) as { names: string[] }).names;
}

const endsSentence = (word: string) => /[.!?]["')]*$/.test(word);

/**
 * `count` words read cyclically from `source` starting at `start`, with `insert` placed at a sentence boundary
 * chosen at random (or at the very start/end), so the document has exactly `count + words(insert)` words.
 */
function buildDocument(source: readonly string[], start: number, count: number, insert: string, rand: () => number): string {
  const words: string[] = [];
  for (let i = 0; i < count; i++) words.push(source[(start + i) % source.length] as string);
  const boundaries = [0];
  words.forEach((w, i) => endsSentence(w) && boundaries.push(i + 1));
  if (boundaries[boundaries.length - 1] !== words.length) boundaries.push(words.length);
  const at = boundaries[randomInt(rand, 0, boundaries.length)] as number;
  return [...words.slice(0, at), insert, ...words.slice(at)].join(" ");
}

const wordCount = (s: string) => s.split(/\s+/).filter(Boolean).length;

interface Item {
  needle: string;
  question: string;
}

function generate(
  task: "passkey" | "needle",
  items: (rand: () => number, count: number) => Item[],
  source: readonly string[],
  sentenceStarts: readonly number[],
  options: SyntheticOptions,
): RetrievalTaskData {
  const seed = options.seed ?? 42;
  const lengths = options.contextLengths ?? LONGEMBED_CONTEXT_LENGTHS;
  const nDocs = options.docsPerLength ?? 100;
  const nQueries = options.queriesPerLength ?? 50;
  const wordsPerToken = options.wordsPerToken ?? 0.75;
  if (!Number.isInteger(nDocs) || nDocs < 1) throw new Error(`${task} generator: docsPerLength must be a positive integer, got ${nDocs}`);
  if (!Number.isInteger(nQueries) || nQueries < 1 || nQueries > nDocs) {
    throw new Error(`${task} generator: queriesPerLength must be an integer in 1..docsPerLength (${nDocs}), got ${nQueries}`);
  }
  const splits: RetrievalSplit[] = lengths.map((length) => {
    const rand = mulberry32(deriveSeed(seed, task, length));
    const targetWords = Math.round(length * wordsPerToken);
    const chosen = items(rand, nDocs);
    const corpus: Doc[] = chosen.map((item, i) => {
      const fill = targetWords - wordCount(item.needle);
      if (fill < 1) throw new Error(`${task} generator: context length ${length} is too short for its needle ("${item.needle}")`);
      const start = sentenceStarts[randomInt(rand, 0, sentenceStarts.length)] as number;
      return { id: `${task}_${length}_doc${i}`, text: buildDocument(source, start, fill, item.needle, rand) };
    });
    const asked = shuffled(chosen.map((_, i) => i), rand).slice(0, nQueries).sort((a, b) => a - b);
    const queries: Query[] = [];
    const qrels: Qrels = {};
    asked.forEach((docIndex, qi) => {
      const id = `${task}_${length}_q${qi}`;
      queries.push({ id, text: (chosen[docIndex] as Item).question });
      qrels[id] = { [(corpus[docIndex] as Doc).id]: 1 };
    });
    return { split: `test_${length}`, contextLength: length, corpus, queries, qrels };
  });
  const generator = { contextLengths: [...lengths], docsPerLength: nDocs, queriesPerLength: nQueries, wordsPerToken };
  return { benchmark: "longembed", taskId: task, splits, source: { kind: "generated", dataset: `dembed ${task} generator`, revision: null, seed, generator }, warnings: [] };
}

/**
 * LongEmbed's passkey task: filler text ("The grass is green. …") with "{Name}'s pass key is {N}. Remember it. {N} is
 * the pass key for {Name}." at a random sentence boundary; the query is "what is the passkey for {Name}?". Every
 * document of a length has its own name and its own 5-digit key.
 */
export function generatePasskey(options: SyntheticOptions = {}): RetrievalTaskData {
  const allNames = names();
  const filler = FILLER.split(" ");
  const starts = filler.map((_, i) => i).filter((i) => i === 0 || endsSentence(filler[i - 1] as string));
  return generate(
    "passkey",
    (rand, count) => {
      if (count > allNames.length) throw new Error(`passkey generator: docsPerLength ${count} exceeds the ${allNames.length} names available`);
      const keys = new Set<number>();
      while (keys.size < count) keys.add(randomInt(rand, 10000, 100000));
      const keyList = [...keys];
      return shuffled(allNames, rand)
        .slice(0, count)
        .map((name, i) => ({
          needle: `${name}'s pass key is ${keyList[i]}. Remember it. ${keyList[i]} is the pass key for ${name}.`,
          question: `what is the passkey for ${name}?`,
        }));
    },
    filler,
    starts,
    options,
  );
}

/**
 * LongEmbed's needle task with a public-domain haystack (assets/haystack.txt) and facts written for dembed
 * (assets/needles.json): each document is a window of the haystack with one fact inside; the query is its question.
 */
export function generateNeedle(options: SyntheticOptions = {}): RetrievalTaskData {
  const facts = needles();
  const words = haystack();
  const starts = words.map((_, i) => i).filter((i) => i === 0 || endsSentence(words[i - 1] as string));
  return generate(
    "needle",
    (rand, count) => {
      if (count > facts.length) throw new Error(`needle generator: docsPerLength ${count} exceeds the ${facts.length} facts available`);
      return shuffled(facts, rand)
        .slice(0, count)
        .map((f) => ({ needle: f.fact, question: f.question }));
    },
    words,
    starts,
    options,
  );
}
