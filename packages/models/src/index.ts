// safetensors, model resolution and the tokenizer (issue 3, part A)
export {
  INDEX_FILE_NAME,
  MAX_HEADER_BYTES,
  SINGLE_FILE_NAME,
  SUPPORTED_DTYPES,
  SafetensorsError,
  bf16ToFloat32,
  dtypeSize,
  f16ToFloat32,
  float32ToBf16,
  float32ToF16,
  isSupportedDtype,
  openCheckpoint,
  openSafetensors,
  toFloat32,
  writeAtomically,
  writeSafetensors,
  type Checkpoint,
  type ChunkSource,
  type DtypeArrayMap,
  type LoadedTensor,
  type SafetensorsDtype,
  type SafetensorsFile,
  type TensorArray,
  type TensorEntry,
  type TensorToWrite,
} from "./safetensors/index.js";
export {
  ModelNotFoundError,
  hubCacheDir,
  parseRepoRef,
  resolveModel,
  type ResolveOptions,
  type ResolvedModel,
} from "./resolve.js";
export { DEFAULT_HUB_URL, DownloadError, EMBEDDER_FILES, downloadToHubCache, type HubDownload, type HubDownloadOptions } from "./download.js";
export {
  TOKENIZER_CONFIG_FILE,
  TOKENIZER_FILE,
  Tokenizer,
  appendsEos,
  copyTokenizerFiles,
  encodeForEmbedding,
  encodeRows,
  loadTokenizer,
  packagedTokenizerDir,
  padBatch,
  profileWithTemplate,
  type EmbedInputOptions,
  type EncodeOptions,
  type EncodedBatch,
  type EncodedRow,
  type EncodedRows,
  type ResolvedProfile,
  type TokenRef,
  type TokenizerKind,
  type TokenizerProfile,
} from "./tokenizer/index.js";

// architectures, graph assembly, sessions, Embedder, tiny models (issue 3, part B)
export { ModelConfigError, parseDecoderConfig, readConfigJson, type AttentionMode, type ConfigDefaults, type DecoderConfig, type RopeScaling } from "./config.js";
export { architectures, architectureFor, describeModel } from "./architectures/registry.js";
export type { Architecture, DecoderSpec, LayerModules } from "./architectures/types.js";
export type { FamilyTokenizer } from "./architectures/tokenizers.js";
export { defaultInvFreq } from "./rope.js";
export { llamaInvFreq } from "./architectures/llama.js";
export { WEIGHT_DTYPES, WeightError, bindWeights, expectedParameters, readParameter, weightDtype, type BoundWeights, type WeightDtype } from "./weights.js";
export { loadModel, type LoadedModel } from "./model.js";
export { INPUT_NAMES, OUTPUT_NAME, buildDecoderGraph, type DecoderGraph, type DecoderGraphOptions, type LinearHook } from "./graph/build.js";
export type { AttentionKernel } from "./graph/attention.js";
export type { ComputeDtype } from "./graph/inputs.js";
export { InputError, batchFromRows, validateBatch, type InputBatch } from "./session/batch.js";
export { DecoderSession, type DecoderSessionOptions, type HiddenStates, type KernelChoice } from "./session/decoder.js";
export { EmbeddingRows } from "./session/embedding-rows.js";
export { Embedder, sessionCacheFromEnv, type EmbedOptions, type EmbedderDescription, type EmbedderOptions, type EncodeResult, type LinearAdapter } from "./embedder.js";
export { createTinyModel, type TinyArchitecture, type TinyModelOptions } from "./tiny.js";
export { dembedCacheDir, ensureTinyModel, parseTinyRef, TINY_ARCHITECTURES } from "./tiny-ref.js";
export { referenceForward, type ReferenceBatch, type ReferenceWeights } from "./reference.js";
export { exportModel, type ExportOptions, type ExportedModel } from "./export.js";
export { WEIGHT_CHOICES, WEIGHT_FORMATS, MemoryPlanError, activationBytes, availableMemory, estimateMemory, fittingBatch, parseWeightChoice, planWeights, type MemoryEstimate, type MemoryPlanInput, type WeightChoice, type WeightFormat, type WeightPlan } from "./weight-format.js";
export { QUANT_BLOCK_SIZE, quantizableLinears, quantizationProblems, quantizedLinears, type QuantizeProgress, type QuantizedLinear, type QuantizedLinears } from "./quantized.js";
export { planModelWeights, prepareWeights, type PrepareWeightsOptions, type PreparedWeights } from "./load-weights.js";
