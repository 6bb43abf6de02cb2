// Reads ../shared/data/reasonaug-raw: concepts, six generated problems per concept, and a definition
// of each concept, all in batch-API response envelopes.
import { readFile } from "node:fs/promises";
import { join } from "node:path";

export interface Concept {
  id: string;
  domain: string;
  instance: string;
  kind: string;
  /** "problem\nsolution" texts split into their parts; entries without a solution are left out. */
  problems: { problem: string; solution: string }[];
  definition: string;
}

const PROBLEM = /\*\*Problem:?\*\*/;
const SOLUTION = /\*\*Solution:?\*\*/;

function lines(text: string): Record<string, unknown>[] {
  return text.split("\n").filter((l) => l.trim() !== "").map((l) => JSON.parse(l) as Record<string, unknown>);
}

function content(envelope: Record<string, unknown>): string | undefined {
  const response = envelope.response as { status_code?: number; body?: { choices?: { message?: { content?: string } }[] } } | undefined;
  if (envelope.error || response?.status_code !== 200) return undefined;
  return response.body?.choices?.[0]?.message?.content;
}

export async function loadReasonAugRaw(dir: string): Promise<Map<string, Concept>> {
  const concepts = new Map<string, Concept>();
  for (const c of lines(await readFile(join(dir, "concepts.jsonl"), "utf8"))) {
    const id = String(c.custom_id);
    concepts.set(id, { id, domain: String(c.domain), instance: String(c.instance), kind: String(c.problem_kind), problems: [], definition: "" });
  }
  for (let k = 1; k <= 6; k++) {
    for (const envelope of lines(await readFile(join(dir, `problem_solution_output_${k}.jsonl`), "utf8"))) {
      const text = content(envelope);
      const concept = concepts.get(String(envelope.custom_id));
      if (text === undefined || concept === undefined || !SOLUTION.test(text)) continue;
      const [problem = "", solution = ""] = text.split(SOLUTION);
      concept.problems.push({ problem: problem.replace(PROBLEM, "").trim(), solution: solution.trim() });
    }
  }
  for (const envelope of lines(await readFile(join(dir, "instance_definition_output.jsonl"), "utf8"))) {
    const text = content(envelope);
    const concept = concepts.get(String(envelope.custom_id));
    if (text === undefined || concept === undefined) continue;
    // "**Concept** name **Definition** paragraph **Implementation Code** ..." → the paragraph
    const definition = text.split("**Definition**")[1] ?? text;
    concept.definition = definition.split(/\*\*Implementation Code\*\*|\*\*Example/)[0]!.trim();
  }
  return concepts;
}

/** The instructions ReasonAug's generator wrote per task type (typo "Gievn" included: it is the data's text). */
export function reasonAugTask(taskType: "p2i" | "p2ps" | "i2ps" | "ps2ps", domain: string): string {
  switch (taskType) {
    case "p2i":
      return `Gievn a problem, retrieve the relevant ${domain} that help solve the given problem.`;
    case "i2ps":
      return `Given a ${domain}, retrieve the relevant problems that apply the given ${domain}.`;
    case "p2ps":
    case "ps2ps":
      return `Given a problem, retrieve the relevant problems that can be solved by the similar ${domain}.`;
  }
}
