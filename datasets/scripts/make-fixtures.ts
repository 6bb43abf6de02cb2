// Regenerates datasets/fixtures/ from ../shared/data/reasonaug-raw (real generated problems and
// definitions) and a few hand-written pairs. Deterministic: the same inputs give the same bytes.
//   npx tsx datasets/scripts/make-fixtures.ts [--raw ../shared/data/reasonaug-raw]
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Rng } from "../../packages/data/src/index.js";
import { writeMsmarcoParquet, type MsmarcoRow, type Passage } from "../../packages/data/test/support/parquet-writer.js";
import { toJsonl, writeFileAtomic } from "./fs-atomic.js";
import { loadReasonAugRaw, reasonAugTask, type Concept } from "./reasonaug-raw.js";

const here = fileURLToPath(new URL(".", import.meta.url));
const fixtures = resolve(here, "../fixtures");
const rawArg = process.argv.indexOf("--raw");
const rawDir = rawArg > 0 ? resolve(process.argv[rawArg + 1]!) : resolve(here, "../../../shared/data/reasonaug-raw");

const firstSentences = (text: string, n: number) => text.replace(/\s+/g, " ").split(/(?<=[.!?])\s+/).slice(0, n).join(" ");

/** The `count` concepts of a domain with the shortest problems (keeps fixtures small), in id order. */
function pick(concepts: Concept[], domain: string, count: number): Concept[] {
  const length = (c: Concept) => c.problems.reduce((sum, p) => sum + p.problem.length + p.solution.length, 0) / c.problems.length;
  return concepts
    .filter((c) => c.domain === domain && c.problems.length >= 5 && c.definition !== "")
    .sort((a, b) => length(a) - length(b))
    .slice(0, count);
}

function reasonAug(concepts: Concept[]): Record<string, unknown>[] {
  const records: Record<string, unknown>[] = [];
  const ps = (c: Concept, k: number) => `${c.problems[k]!.problem}\n${c.problems[k]!.solution}`;
  const add = (taskType: "p2i" | "p2ps" | "i2ps" | "ps2ps", concept: Concept, query: string, positive: string, negative: Concept | null, negativeText: string | null) =>
    records.push({
      id: `reasonaug-${String(records.length + 1).padStart(4, "0")}`,
      domain: concept.domain,
      instance: [concept.instance],
      task_type: taskType,
      task: reasonAugTask(taskType, concept.domain),
      user_query: query,
      positive_document: positive,
      hard_negative_document: negativeText,
      negative_instance: negative?.instance ?? null,
    });
  // problems of the same concept are positives; the same-domain neighbour concept supplies hard negatives
  const math = pick(concepts, "math theorem", 3);
  math.forEach((c, i) => [0, 1].forEach((k) => add("p2ps", c, c.problems[k]!.problem, ps(c, k + 2), math[(i + 1) % 3]!, ps(math[(i + 1) % 3]!, k))));
  const algorithms = pick(concepts, "algorithm", 3);
  algorithms.forEach((c, i) => [0, 1].forEach((k) => add("i2ps", c, c.instance, ps(c, k), algorithms[(i + 1) % 3]!, ps(algorithms[(i + 1) % 3]!, k))));
  add("i2ps", algorithms[0]!, algorithms[0]!.instance, ps(algorithms[0]!, 4), null, null); // the null-negative record
  const physics = pick(concepts, "physics theorem", 2);
  physics.forEach((c, i) => [0, 1].forEach((k) => add("ps2ps", c, ps(c, k), ps(c, k + 2), physics[(i + 1) % 2]!, ps(physics[(i + 1) % 2]!, k))));
  const finance = pick(concepts, "finance formula", 3);
  finance.forEach((c, i) => [0, 1].forEach((k) => add("p2i", c, c.problems[k]!.problem, c.definition, finance[(i + 1) % 3]!, finance[(i + 1) % 3]!.definition)));
  return records;
}

const ALLNLI = [
  ["A man is playing a guitar on a stage.", "A musician performs in front of an audience.", "A man is sleeping in his bed."],
  ["Two children are building a sandcastle at the beach.", "Kids are playing with sand.", "The children are inside doing homework."],
  ["A woman is slicing onions in a kitchen.", "Someone is preparing food.", "A woman is swimming in a lake."],
  ["A dog runs through a snowy field.", "An animal is outside in the snow.", "A cat sleeps on a warm couch."],
  ["The old bridge was closed for repairs last spring.", "The bridge could not be used for a while.", "The bridge has never needed any work."],
  ["A group of cyclists climbs a steep mountain road.", "People are riding bikes uphill.", "The cyclists are resting at a café."],
];
const QUORA = [
  ["How do I learn Python quickly?", "What is the fastest way to learn Python?", "Is Python slower than C++?"],
  ["Why is the sky blue?", "What makes the sky look blue?", "Why are sunsets red?"],
  ["How can I improve my sleep?", "What are good ways to sleep better?", "How many hours should a teenager sleep?"],
  ["What is the best way to save money?", "How do I save more money each month?", "What is a good credit score?"],
  ["How do airplanes stay in the air?", "What keeps a plane flying?", "How fast does a jet fly?"],
  ["Is it healthy to drink coffee every day?", "Is daily coffee bad for you?", "How is decaf coffee made?"],
];

function e5Files(concepts: Concept[]): Record<string, Record<string, string>[]> {
  const triple = ([query, positive, negative]: string[]) => ({ query: query!, positive: positive!, negative: negative! });
  const defs = (domain: string, n: number) => pick(concepts, domain, n + 1);
  const qa = (domain: string, n: number, query: (c: Concept) => string) => {
    const cs = defs(domain, n);
    return cs.slice(0, n).map((c, i) => ({ query: query(c), positive: firstSentences(c.definition, 2), negative: firstSentences(cs[i + 1]!.definition, 2) }));
  };
  return {
    allnli: ALLNLI.map(triple),
    quora_duplicates: QUORA.map(triple),
    nq: qa("data structure", 6, (c) => `what is a ${c.instance.toLowerCase()} in computer science`),
    fever: qa("physics theorem", 5, (c) => `${c.instance} is a principle of physics.`),
    hotpot_qa: qa("math theorem", 5, (c) => `Which theorem is known as ${c.instance}, and what does it state?`),
    msmarco_passage: qa("finance formula", 6, (c) => `${c.instance.toLowerCase()} definition`),
  };
}

function msmarco(concepts: Concept[]): MsmarcoRow[] {
  const rng = Rng.seeded(20240818);
  const pool: Passage[] = concepts
    .filter((c) => c.definition !== "")
    .map((c, i) => ({ docid: String(7_000_000 + i * 37), title: i % 3 === 0 ? "" : c.instance, text: firstSentences(c.definition, 2) }));
  const draw = (n: number, except: Set<string>) => {
    const out: Passage[] = [];
    while (out.length < n) {
      const p = pool[rng.nextInt(pool.length)]!;
      if (!except.has(p.docid)) (except.add(p.docid), out.push(p));
    }
    return out;
  };
  const negativeCounts = [30, 20, 8, 3, 15, 25, 12, 30];
  return Array.from({ length: 32 }, (_, r) => {
    const concept = pool[(r * 7) % pool.length]!;
    const instance = concepts.find((c) => firstSentences(c.definition, 2) === concept.text)!.instance;
    const hasInstruction = r % 2 === 0;
    const onlyQuery = `what is ${instance.toLowerCase()}`;
    const onlyInstruction = hasInstruction ? `A relevant document defines ${instance} and says where it is used; documents that only mention it are not relevant.` : "";
    const used = new Set([concept.docid]);
    const negatives = draw(negativeCounts[r % negativeCounts.length]!, used);
    let newNegatives: Passage[] | null = hasInstruction ? draw(1 + (r % 3), used) : r % 4 === 1 ? null : [];
    if (r === 3) newNegatives = []; // 3 negatives, nothing new: drawn with replacement
    if (r === 6) newNegatives = draw(18, used); // more new negatives than the 15 a sample takes
    if (r === 10 && newNegatives !== null) newNegatives.push(negatives[0]!); // also among negative_passages
    return {
      query_id: String(1_000_000 + r * 101),
      query: hasInstruction ? `${onlyQuery} ${onlyInstruction}` : onlyQuery,
      positive_passages: [concept],
      negative_passages: negatives,
      only_instruction: onlyInstruction,
      only_query: onlyQuery,
      has_instruction: hasInstruction,
      new_negatives: newNegatives,
    };
  });
}

function custom(concepts: Concept[]): Record<string, unknown>[] {
  const cs = pick(concepts, "data structure", 7);
  return cs.slice(0, 6).flatMap((c, i) => {
    const other = cs[i + 1]!;
    const base = { positive: firstSentences(c.definition, 2), negatives: [firstSentences(other.definition, 2), other.problems[0]!.problem.slice(0, 300)] };
    return [
      { id: `ds-${i}-def`, query: `What is a ${c.instance}?`, ...base, instruction: "Given a question, retrieve the definition that answers it", task: "definitions" },
      i % 2 === 0 ? { query: c.problems[0]!.problem.slice(0, 300), ...base, task: "problems" } : { id: `ds-${i}-p`, query: c.problems[0]!.problem.slice(0, 300), ...base },
    ];
  });
}

async function main(): Promise<void> {
  const concepts = [...(await loadReasonAugRaw(rawDir)).values()];
  await writeFileAtomic(join(fixtures, "reasonaug", "reasonaug.jsonl"), toJsonl(reasonAug(concepts)));
  for (const [name, lines] of Object.entries(e5Files(concepts))) await writeFileAtomic(join(fixtures, "e5", `${name}.jsonl`), toJsonl(lines));
  await writeMsmarcoParquet(join(fixtures, "msmarco-w-instructions", "data", "train-00000-of-00001.parquet"), msmarco(concepts), { rowGroupSize: 10 });
  await writeFileAtomic(join(fixtures, "custom", "train.jsonl"), toJsonl(custom(concepts)));
  console.log(`fixtures written to ${fixtures}`);
}

await main();
