/**
 * Writes the small test fixtures under benchmarks/fixtures/ in the real Hugging Face layouts:
 *   dwzhu/LongEmbed/<config>/{corpus,queries,qrels}.jsonl
 *   xlangai/BRIGHT/{examples,documents}/<task>-00000-of-00001.parquet   (list<string> columns, as pyarrow writes them)
 *   jhu-clsp/<name>-instructions/{corpus,queries,top_ranked}.jsonl, qrels_{og,changed}/test.jsonl
 * and, with the same content, the layouts MTEB 2.x reads (one folder per config, `<split>-00000-of-00001.parquet`):
 *   mteb/LEMBPasskeyRetrieval/{corpus,queries,qrels}/test_<L>-*.parquet, mteb/LEMBNarrativeQARetrieval/…/test-*.parquet
 *   jhu-clsp/robust04-instructions-mteb/{corpus,queries,instruction,data,qrel_diff,top_ranked}/<config>-*.parquet
 *   mteb/Robust04InstructionRetrieval/{corpus,queries,qrels,top_ranked}/test-*.parquet, qrel_diff/qrel_diff-*.parquet
 * The texts are written for dembed; passkey and needle come from the generator at tiny sizes.
 * Run: npx tsx benchmarks/scripts/make-fixtures.ts
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { changedDocuments } from "@dembed/metrics";
import { parquetWriteBuffer } from "hyparquet-writer";
import { generateNeedle, generatePasskey } from "../src/generate/synthetic.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "fixtures");

function jsonl(path: string, rows: object[]): void {
  mkdirSync(dirname(join(root, path)), { recursive: true });
  writeFileSync(join(root, path), rows.map((r) => JSON.stringify(r)).join("\n") + "\n");
}

// LongEmbed: passkey and needle at two lengths, three documents and two queries each.
const passkey = generatePasskey({ seed: 7, contextLengths: [64, 128], docsPerLength: 3, queriesPerLength: 2 });
for (const [config, data] of [
  ["passkey", passkey],
  ["needle", generateNeedle({ seed: 7, contextLengths: [64, 128], docsPerLength: 3, queriesPerLength: 2 })],
] as const) {
  jsonl(`dwzhu/LongEmbed/${config}/corpus.jsonl`, data.splits.flatMap((s) => s.corpus.map((d) => ({ doc_id: d.id, text: d.text, context_length: s.contextLength }))));
  jsonl(`dwzhu/LongEmbed/${config}/queries.jsonl`, data.splits.flatMap((s) => s.queries.map((q) => ({ qid: q.id, text: q.text, context_length: s.contextLength }))));
  jsonl(
    `dwzhu/LongEmbed/${config}/qrels.jsonl`,
    data.splits.flatMap((s) => Object.entries(s.qrels).map(([qid, docs]) => ({ qid, doc_id: Object.keys(docs)[0], context_length: s.contextLength }))),
  );
}

const utf8 = { type: "BYTE_ARRAY", converted_type: "UTF8", repetition_type: "OPTIONAL" } as const;
const listOf = (name: string) => [
  { name, repetition_type: "OPTIONAL", converted_type: "LIST", num_children: 1 },
  { name: "list", repetition_type: "REPEATED", num_children: 1 },
  { name: "element", ...utf8 },
] as const;

function parquet(path: string, schema: object[], columns: Record<string, unknown[]>): void {
  const buffer = parquetWriteBuffer({
    schema: schema as never,
    columnData: Object.entries(columns).map(([name, data]) => ({ name, data })) as never,
  });
  mkdirSync(dirname(join(root, path)), { recursive: true });
  writeFileSync(join(root, path), new Uint8Array(buffer));
}

type Column = [name: string, kind: "string" | "int64" | "double" | "strings", values: unknown[]];

/** A flat parquet table as `datasets` writes MTEB's configs: strings, int64/double scores, list<string> id lists. */
function table(path: string, columns: Column[]): void {
  const field = ([name, kind]: Column): object[] =>
    kind === "strings" ? [...listOf(name)] : [{ name, ...(kind === "string" ? utf8 : { type: kind === "int64" ? "INT64" : "DOUBLE", repetition_type: "OPTIONAL" }) }];
  const schema = [{ name: "schema", num_children: columns.length }, ...columns.flatMap(field)];
  parquet(path, schema, Object.fromEntries(columns.map(([name, kind, values]) => [name, kind === "int64" ? values.map((v) => BigInt(v as number)) : values])));
}

const STORIES = [
  ["The lighthouse keeper of Skerry Point kept a log of every ship that passed in the storm of 1889, and counted forty-one masts before dawn.", "How many masts did the lighthouse keeper count before dawn?"],
  ["In the mill town the weavers went on strike when the owners cut wages; the strike ended after nine weeks with a new agreement on hours.", "How long did the weavers' strike last?"],
  ["The expedition crossed the salt flats on camels, lost two guides to fever, and reached the oasis of Siwa in the third month.", "Which oasis did the expedition reach?"],
  ["A committee met to review the school budget and agreed to repair the library roof before buying new desks for the classrooms.", "What did the committee agree to repair first?"],
];
for (const config of ["narrativeqa", "qmsum", "summ_screen_fd", "2wikimqa"]) {
  jsonl(`dwzhu/LongEmbed/${config}/corpus.jsonl`, STORIES.map(([text], i) => ({ doc_id: `${config}_doc${i}`, text })));
  jsonl(`dwzhu/LongEmbed/${config}/queries.jsonl`, STORIES.slice(0, 3).map(([, q], i) => ({ qid: `${config}_q${i}`, text: q })));
  jsonl(`dwzhu/LongEmbed/${config}/qrels.jsonl`, STORIES.slice(0, 3).map((_, i) => ({ qid: `${config}_q${i}`, doc_id: `${config}_doc${i}` })));
}

// The same passkey data and NarrativeQA stories as MTEB 2.x stores them (mteb/LEMB*Retrieval): a split per length.
for (const s of passkey.splits) {
  const split = `test_${s.contextLength}`;
  table(`mteb/LEMBPasskeyRetrieval/corpus/${split}-00000-of-00001.parquet`, [["_id", "string", s.corpus.map((d) => d.id)], ["text", "string", s.corpus.map((d) => d.text)], ["title", "string", s.corpus.map(() => "")]]);
  table(`mteb/LEMBPasskeyRetrieval/queries/${split}-00000-of-00001.parquet`, [["_id", "string", s.queries.map((q) => q.id)], ["text", "string", s.queries.map((q) => q.text)]]);
  const judged = Object.entries(s.qrels).flatMap(([qid, docs]) => Object.entries(docs).map(([doc, score]) => [qid, doc, score] as const));
  table(`mteb/LEMBPasskeyRetrieval/qrels/${split}-00000-of-00001.parquet`, [["query-id", "string", judged.map((j) => j[0])], ["corpus-id", "string", judged.map((j) => j[1])], ["score", "int64", judged.map((j) => j[2])]]);
}
table("mteb/LEMBNarrativeQARetrieval/corpus/test-00000-of-00001.parquet", [["_id", "string", STORIES.map((_, i) => `narrativeqa_doc${i}`)], ["text", "string", STORIES.map(([t]) => t)], ["title", "string", STORIES.map(() => "")]]);
table("mteb/LEMBNarrativeQARetrieval/queries/test-00000-of-00001.parquet", [["_id", "string", STORIES.slice(0, 3).map((_, i) => `narrativeqa_q${i}`)], ["text", "string", STORIES.slice(0, 3).map(([, q]) => q)]]);
table("mteb/LEMBNarrativeQARetrieval/qrels/test-00000-of-00001.parquet", [
  ["query-id", "string", STORIES.slice(0, 3).map((_, i) => `narrativeqa_q${i}`)],
  ["corpus-id", "string", STORIES.slice(0, 3).map((_, i) => `narrativeqa_doc${i}`)],
  ["score", "int64", STORIES.slice(0, 3).map(() => 1)],
]);

// BRIGHT: two tasks. Each query has gold documents; one has an excluded id, the other "N/A" as BRIGHT writes it.
const BRIGHT: Record<string, { docs: Array<[string, string]>; examples: Array<{ id: string; query: string; gold: string[]; excluded: string[] }> }> = {
  biology: {
    docs: [
      ["bio_photosynthesis.txt", "Chlorophyll absorbs red and blue light; plants reflect green light, which is why leaves look green."],
      ["bio_mitochondria.txt", "Mitochondria produce ATP through oxidative phosphorylation along the inner membrane."],
      ["bio_autumn.txt", "In autumn chlorophyll breaks down, revealing carotenoids that make leaves yellow and orange."],
      ["bio_duplicate_post.txt", "Why are leaves green? Leaves look green because chlorophyll reflects green light."],
      ["bio_enzymes.txt", "Enzymes lower the activation energy of reactions and are sensitive to temperature and pH."],
    ],
    examples: [
      { id: "0", query: "Why do leaves look green to us and change colour in autumn?", gold: ["bio_photosynthesis.txt", "bio_autumn.txt"], excluded: ["bio_duplicate_post.txt"] },
      { id: "1", query: "Where in the cell is most ATP made?", gold: ["bio_mitochondria.txt"], excluded: ["N/A"] },
    ],
  },
  pony: {
    docs: [
      ["pony_arrays.md", "Pony arrays are created with Array[U8] and grow with push; apply reads an element and can raise an error."],
      ["pony_actors.md", "Actors in Pony have behaviours, declared with be, that run asynchronously on the actor's queue."],
      ["pony_strings.md", "String in Pony is a mutable byte sequence; use clone to copy it and values to iterate bytes."],
    ],
    examples: [
      { id: "0", query: "Write a Pony program that sends messages between concurrent workers.", gold: ["pony_actors.md"], excluded: ["N/A"] },
      { id: "1", query: "Reverse the bytes of a text value in Pony.", gold: ["pony_strings.md"], excluded: ["pony_arrays.md"] },
    ],
  },
};
for (const [task, { docs, examples }] of Object.entries(BRIGHT)) {
  parquet(`xlangai/BRIGHT/documents/${task}-00000-of-00001.parquet`, [{ name: "schema", num_children: 2 }, { name: "id", ...utf8 }, { name: "content", ...utf8 }], {
    id: docs.map(([id]) => id),
    content: docs.map(([, text]) => text),
  });
  parquet(
    `xlangai/BRIGHT/examples/${task}-00000-of-00001.parquet`,
    [{ name: "schema", num_children: 6 }, { name: "query", ...utf8 }, { name: "reasoning", ...utf8 }, { name: "id", ...utf8 }, ...listOf("excluded_ids"), ...listOf("gold_ids_long"), ...listOf("gold_ids")],
    {
      query: examples.map((e) => e.query),
      reasoning: examples.map(() => "The answer needs the underlying principle, not the same words."),
      id: examples.map((e) => e.id),
      excluded_ids: examples.map((e) => e.excluded),
      gold_ids_long: examples.map((e) => e.gold),
      gold_ids: examples.map((e) => e.gold),
    },
  );
}

// FollowIR: two queries over six documents; the changed instruction makes one og-relevant document irrelevant per query.
const FOLLOWIR_DOCS = [
  ["d1", "Dam project", "The Three Gorges dam will be completed in 2009 at a cost of 25 billion dollars and generate 18,000 megawatts."],
  ["d2", "Dam protest", "Villagers displaced by the Three Gorges dam protested the social and ecological impact of the project."],
  ["d3", "River fish", "Sturgeon in the Yangtze river are threatened by the dam, ecologists said."],
  ["d4", "Tea harvest", "The spring tea harvest in Hangzhou was larger than expected this year."],
  ["d5", "Tunnel opens", "A new rail tunnel under the Alps opened, cutting travel time between Zurich and Milan."],
  ["d6", "Tunnel cost", "The Alpine rail tunnel cost 12 billion francs, and freight traffic is expected to double."],
] as const;
const FOLLOWIR_QUERIES = [
  { _id: "q1", text: "What is the status of the Three Gorges Project?", instruction_og: "Relevant documents give the completion date, cost or output of the dam, or its social impact.", instruction_changed: "Relevant documents give the completion date, cost or output of the dam. Social or ecological impact is not relevant.", keywords: "", short_query: "" },
  { _id: "q2", text: "What do we know about the new Alpine rail tunnel?", instruction_og: "Relevant documents describe its opening or its cost.", instruction_changed: "Relevant documents give its cost; reports of the opening alone are not relevant.", keywords: "", short_query: "" },
];
const QRELS = {
  og: [["q1", "d1", 1], ["q1", "d2", 1], ["q1", "d4", 0], ["q2", "d5", 1], ["q2", "d6", 1]],
  changed: [["q1", "d1", 1], ["q1", "d2", 0], ["q1", "d4", 0], ["q2", "d5", 0], ["q2", "d6", 1]],
} as const;
const qrelRows = (rows: (typeof QRELS)["og" | "changed"]) => rows.map(([q, d, score]) => ({ "query-id": q, "corpus-id": d, score }));
for (const name of ["robust04", "news21", "core17"]) {
  const base = `jhu-clsp/${name}-instructions`;
  jsonl(`${base}/corpus.jsonl`, FOLLOWIR_DOCS.map(([id, title, text]) => ({ _id: id, title, text })));
  jsonl(`${base}/queries.jsonl`, FOLLOWIR_QUERIES);
  jsonl(`${base}/qrels_og/test.jsonl`, qrelRows(QRELS.og));
  jsonl(`${base}/qrels_changed/test.jsonl`, qrelRows(QRELS.changed));
  jsonl(`${base}/top_ranked.jsonl`, ["q1", "q2"].flatMap((qid) => FOLLOWIR_DOCS.map(([id]) => ({ qid, pid: id }))));
}

// The same Robust04 data as jhu-clsp/robust04-instructions-mteb stores it (read by MTEB 2.0.1-2.10.6; the configs its
// dataset card lists): each query twice, "<qid>-og" and "<qid>-changed", with its instruction in a config of its own,
// both judgement sets in the default config (data/), and qrel_diff listing the documents whose judgement changed.
const mtebBase = "jhu-clsp/robust04-instructions-mteb";
const variants = FOLLOWIR_QUERIES.flatMap((q) => [{ id: `${q._id}-og`, text: q.text, instruction: q.instruction_og }, { id: `${q._id}-changed`, text: q.text, instruction: q.instruction_changed }]);
const both = [...QRELS.og.map(([q, d, s]) => [`${q}-og`, d, s] as const), ...QRELS.changed.map(([q, d, s]) => [`${q}-changed`, d, s] as const)];
const byQuery = (rows: (typeof QRELS)["og" | "changed"]) => Object.fromEntries(FOLLOWIR_QUERIES.map((q) => [q._id, Object.fromEntries(rows.filter((r) => r[0] === q._id).map((r) => [r[1], r[2]]))]));
const diff = [...changedDocuments(byQuery(QRELS.og), byQuery(QRELS.changed))];
table(`${mtebBase}/corpus/corpus-00000-of-00001.parquet`, [["_id", "string", FOLLOWIR_DOCS.map((d) => d[0])], ["title", "string", FOLLOWIR_DOCS.map((d) => d[1])], ["text", "string", FOLLOWIR_DOCS.map((d) => d[2])]]);
table(`${mtebBase}/queries/queries-00000-of-00001.parquet`, [["_id", "string", variants.map((v) => v.id)], ["text", "string", variants.map((v) => v.text)]]);
table(`${mtebBase}/instruction/instruction-00000-of-00001.parquet`, [["query-id", "string", variants.map((v) => v.id)], ["instruction", "string", variants.map((v) => v.instruction)]]);
table(`${mtebBase}/data/default-00000-of-00001.parquet`, [["query-id", "string", both.map((r) => r[0])], ["corpus-id", "string", both.map((r) => r[1])], ["score", "double", both.map((r) => r[2])]]);
table(`${mtebBase}/qrel_diff/qrel_diff-00000-of-00001.parquet`, [["query-id", "string", diff.map(([q]) => q)], ["corpus-ids", "strings", diff.map(([, docs]) => docs)]]);
table(`${mtebBase}/top_ranked/top_ranked-00000-of-00001.parquet`, [["query-id", "string", variants.map((v) => v.id)], ["corpus-ids", "strings", variants.map(() => FOLLOWIR_DOCS.map((d) => d[0]))]]);

// The mteb/Robust04InstructionRetrieval re-upload (MTEB 2.10.7+): one folder per config with a "test" split, `id`
// instead of `_id`, the instruction as a column of queries, both judgement sets in qrels/. File names as a public
// loader of this repo at the pinned revision 0495a5cb reads them (corpus/, queries/, qrels/ test-00000-of-00001.parquet,
// qrel_diff/qrel_diff-00000-of-00001.parquet); top_ranked/ named like the other configs.
const reupload = "mteb/Robust04InstructionRetrieval";
table(`${reupload}/corpus/test-00000-of-00001.parquet`, [["id", "string", FOLLOWIR_DOCS.map((d) => d[0])], ["title", "string", FOLLOWIR_DOCS.map((d) => d[1])], ["text", "string", FOLLOWIR_DOCS.map((d) => d[2])]]);
table(`${reupload}/queries/test-00000-of-00001.parquet`, [["id", "string", variants.map((v) => v.id)], ["text", "string", variants.map((v) => v.text)], ["instruction", "string", variants.map((v) => v.instruction)]]);
table(`${reupload}/qrels/test-00000-of-00001.parquet`, [["query-id", "string", both.map((r) => r[0])], ["corpus-id", "string", both.map((r) => r[1])], ["score", "int64", both.map((r) => r[2])]]);
table(`${reupload}/qrel_diff/qrel_diff-00000-of-00001.parquet`, [["query-id", "string", diff.map(([q]) => q)], ["corpus-ids", "strings", diff.map(([, docs]) => docs)]]);
table(`${reupload}/top_ranked/test-00000-of-00001.parquet`, [["query-id", "string", variants.map((v) => v.id)], ["corpus-ids", "strings", variants.map(() => FOLLOWIR_DOCS.map((d) => d[0]))]]);
console.log(`fixtures written under ${root}`);
