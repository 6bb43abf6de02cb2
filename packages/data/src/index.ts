// @dembed/data: training data sources, streaming readers, HF cache resolution and resumable samplers.

export type { TrainingSample, TrainingSource, ReadContext } from "./sample.js";
export { DataError, formatReport, describePosition, type RecordPosition, type ValidationReport } from "./errors.js";
export { Rng, hashSeed, type RngState } from "./rng.js";

export { readJsonl, JsonlFile, type JsonlRecord, type JsonlSpan, type ReadJsonlOptions } from "./readers/jsonl.js";
export { readParquetRows, ParquetTable } from "./readers/parquet.js";
export { readArrowRows, ArrowTable, arrowToPlain } from "./readers/arrow.js";
export { tableRows, type TableFile, type TableBlock, type TableRow, type ReadRowsOptions } from "./readers/table.js";

export {
  resolveHfDataset,
  resolveHfDatasetDir,
  findSplitFiles,
  hfCacheLocations,
  formatOfFile,
  DatasetNotFoundError,
  type DataFormat,
  type ResolveOptions,
  type ResolvedDataset,
} from "./resolve.js";

export { E5_INSTRUCTIONS, E5_REFERENCE_FILES, MSMARCO_INSTRUCTION, e5ExclusionReason, e5FileInstructions } from "./instructions.js";
export { IndexedSource, type IndexOptions, type RecordKind, type RecordContext, type SourceFile } from "./sources/indexed.js";
export { openE5, type E5Options } from "./sources/e5.js";
export { openMsmarcoInstructions, pickNegatives, passageText, MSMARCO_SOURCE, type MsmarcoOptions } from "./sources/msmarco.js";
export { openReasonAug, REASONAUG_SOURCE, NULL_NEGATIVE } from "./sources/reasonaug.js";
export { openCustomJsonl, CUSTOM_SOURCE, type CustomOptions } from "./sources/custom.js";
export { openSource, defaultBatching, SOURCE_KINDS, type SourceKind, type SourceSpec } from "./open.js";

export { BatchSampler, type Batching, type SamplerOptions, type SamplerState } from "./sampler.js";
