export type { DocValues, EvaluateOptions, Evaluation, Qrels, QrelsInput, Run, RunInput } from "./types.js";
export { evaluate } from "./evaluate.js";
export { DEFAULT_MEASURES, KNOWN_MEASURES, parseMeasures, type MeasureFamily, type MeasureSet } from "./measures.js";
export { changedDocuments, pMRR, pMRRFromChanges, rankScore, type PMRRResult } from "./pmrr.js";
export { formatFixed4, formatTrecEval } from "./print.js";
export { compareIds } from "./compare.js";
export {
  FormatError,
  formatJson,
  formatQrels,
  formatRun,
  parseQrels,
  parseRun,
} from "./formats.js";
export { readQrels, readRun, writeQrels, writeRun, type WriteRunOptions } from "./files.js";
