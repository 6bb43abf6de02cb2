import { DEFAULT_MEASURES, evaluate, formatTrecEval, readQrels, readRun } from "@dembed/metrics";
import { InvalidArgumentError, Option } from "commander";
import type { RegisterCommand } from "./index.js";

function nonNegativeInteger(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError("expected a non-negative integer");
  return Number(value);
}

function positiveInteger(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) === 0) throw new InvalidArgumentError("expected a positive integer");
  return Number(value);
}

interface MetricsFlags {
  qrels: string;
  run: string;
  measure?: string[];
  q?: boolean;
  c?: boolean;
  level: number;
  maxDocs?: number;
}

/** `dembed metrics`: trec_eval's report for a run, from @dembed/metrics. */
export const register: RegisterCommand = (program) => {
  program
    .command("metrics")
    .description(
      "Score a run against qrels with trec_eval semantics and print trec_eval's lines (measure<TAB>qid|all<TAB>value).\n" +
        "Files: TREC qrels 'qid 0 docid rel', TREC runs 'qid Q0 docid rank score tag', or JSON {qid: {docid: value}}.",
    )
    .requiredOption("--qrels <file>", "relevance judgements")
    .requiredOption("--run <file>", "the run to score")
    .addOption(
      new Option("-m, --measure <name>", "trec_eval measure, repeatable: ndcg_cut.10, map_cut.100, recip_rank, P.10, recall.100, success.10, ...")
        .argParser((value: string, previous: string[] | undefined) => [...(previous ?? []), value]),
    )
    .option("-q", "also print each query's values, before the 'all' lines")
    .option("-c", "average over every query in the qrels; queries missing from the run score 0")
    .option("-l, --level <n>", "minimum label that counts as relevant", nonNegativeInteger, 1)
    .option("-M, --max-docs <n>", "evaluate only the top n documents of each query", positiveInteger)
    .addHelpText("after", `\nWithout -m: ${DEFAULT_MEASURES.join(", ")} (trec_eval's official set, as far as implemented).`)
    .action(async (flags: MetricsFlags) => {
      const [qrels, run] = await Promise.all([readQrels(flags.qrels), readRun(flags.run)]);
      const result = evaluate(qrels, run, flags.measure ?? DEFAULT_MEASURES, {
        relevanceLevel: flags.level,
        completeQueries: flags.c ?? false,
        maxDocsPerQuery: flags.maxDocs,
      });
      if (result.numQueries === 0) {
        const example = (ids: Iterable<string>) => [...ids].slice(0, 3).map((id) => JSON.stringify(id)).join(", ") || "none";
        throw new Error(
          `no query has both a run and judgements (qrels ids: ${example(qrels.keys())}; run ids: ${example(run.keys())})`,
        );
      }
      process.stdout.write(formatTrecEval(result, { perQuery: flags.q ?? false }));
    });
};
