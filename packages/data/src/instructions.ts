// Query instructions per training source, as the reference (llm2vec's E5 table, the paper's recipes) uses them.

/** E5 echo-data file name → instruction; a pair alternates by line (line index 0 → first, 1 → second, …). */
export const E5_INSTRUCTIONS: Readonly<Record<string, string | readonly [string, string]>> = {
  allnli: ["Given a premise, retrieve a hypothesis that is entailed by the premise", "Retrieve semantically similar text"],
  eli5_question_answer: "Provided a user question, retrieve the highest voted answers on Reddit ELI5 forum",
  fever: "Given a claim, retrieve documents that support or refute the claim",
  hotpot_qa: "Given a multi-hop question, retrieve documents that can help answer the question",
  miracl: "Given a question, retrieve Wikipedia passages that answer the question",
  mrtydi: "Given a question, retrieve Wikipedia passages that answer the question",
  msmarco_passage: "Given a web search query, retrieve relevant passages that answer the query",
  msmarco_document: "Given a web search query, retrieve relevant documents that answer the query",
  nq: "Given a question, retrieve Wikipedia passages that answer the question",
  quora_duplicates: [
    "Given a question, retrieve questions that are semantically equivalent to the given question",
    "Find questions that have the same meaning as the input question",
  ],
  squad: "Retrieve Wikipedia passages that answer the question",
  trivia_qa: "Retrieve Wikipedia passages that answer the question",
  // Chinese sets that llm2vec's table also lists; REFERENCE.md's recipe does not name them.
  dureader: "Given a Chinese search query, retrieve web passages that answer the question",
  t2ranking: "Given a Chinese search query, retrieve web passages that answer the question",
};

/**
 * The files the reference training reads (llm2vec's E5 loader, as the paper's code calls it): these 12, and no
 * others. The split halves duplicate allnli and quora_duplicates; dureader and t2ranking (Chinese) were left out.
 */
export const E5_REFERENCE_FILES: readonly string[] = [
  "allnli",
  "eli5_question_answer",
  "fever",
  "hotpot_qa",
  "miracl",
  "mrtydi",
  "msmarco_document",
  "msmarco_passage",
  "nq",
  "quora_duplicates",
  "squad",
  "trivia_qa",
];

/** Why a file of the echo-data folder is not in the reference set (read only when named in `files`). */
export function e5ExclusionReason(name: string): string {
  if (E5_SPLIT_FILES[name] !== undefined) return `duplicates ${E5_SPLIT_FILES[name]!.label}.jsonl (the older split layout)`;
  if (name === "dureader" || name === "t2ranking") return "Chinese; the reference training excluded it";
  return E5_INSTRUCTIONS[name] === undefined ? "not an E5 file the reference reads (no instruction known)" : "not in the reference set";
}

/** llm2vec's older echo-data layout splits the alternating files in two; each half has one instruction. */
const E5_SPLIT_FILES: Readonly<Record<string, { label: string; pick: 0 | 1 }>> = {
  allnli_split1: { label: "allnli", pick: 0 },
  allnli_split2: { label: "allnli", pick: 1 },
  quora_duplicates_split1: { label: "quora_duplicates", pick: 0 },
  quora_duplicates_split2: { label: "quora_duplicates", pick: 1 },
};

/** The source label and instruction(s) of an E5 file name (without .jsonl), or undefined if unknown. */
export function e5FileInstructions(name: string): { label: string; instructions: readonly string[] } | undefined {
  const split = E5_SPLIT_FILES[name];
  if (split !== undefined) {
    const pair = E5_INSTRUCTIONS[split.label] as readonly [string, string];
    return { label: split.label, instructions: [pair[split.pick]] };
  }
  const entry = E5_INSTRUCTIONS[name];
  if (entry === undefined) return undefined;
  return { label: name, instructions: typeof entry === "string" ? [entry] : entry };
}

/** msmarco-w-instructions: the instruction the instruction-following recipe puts before every query. */
export const MSMARCO_INSTRUCTION = "Retrieve text based on user query";
