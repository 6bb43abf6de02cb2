import type { Evaluation } from "./types.js";

/**
 * printf("%6.4f") as glibc does it: round half to even on the exact binary value. `toFixed(4)` rounds exact
 * ties up instead, so values such as 1/32 would print 0.0313 where trec_eval prints 0.0312.
 */
export function formatFixed4(value: number): string {
  if (!Number.isFinite(value)) return String(value).padStart(6);
  const negative = value < 0 || Object.is(value, -0);
  // 40 decimals hold the exact expansion far enough to tell a true tie from a near one for any |value| ≥ 5e-5.
  const [whole, fraction] = Math.abs(value).toFixed(40).split(".") as [string, string];
  let scaled = BigInt(whole + fraction.slice(0, 4));
  const rest = fraction.slice(4);
  const half = "5".padEnd(rest.length, "0");
  if (rest > half || (rest === half && scaled % 2n === 1n)) scaled += 1n;
  const digits = scaled.toString().padStart(5, "0");
  const text = `${negative ? "-" : ""}${digits.slice(0, -4)}.${digits.slice(-4)}`;
  return text.padStart(6);
}

/**
 * trec_eval's report: with `perQuery`, each query's lines (qid order, measures in trec_eval order), then the
 * `all` lines. Each line is `printf("%-22s\t%s\t%6.4f\n", measure, qid, value)`, byte for byte.
 */
export function formatTrecEval(evaluation: Evaluation, options: { perQuery?: boolean } = {}): string {
  const lines: string[] = [];
  const line = (measure: string, qid: string, value: number) => lines.push(`${measure.padEnd(22)}\t${qid}\t${formatFixed4(value)}\n`);
  if (options.perQuery) {
    for (const [qid, values] of evaluation.perQuery) for (const measure of evaluation.measures) line(measure, qid, values[measure]!);
  }
  for (const measure of evaluation.measures) line(measure, "all", evaluation.aggregate[measure]!);
  return lines.join("");
}
