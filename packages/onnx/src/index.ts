export * from "./graph.js";
export * from "./tensor.js";
export * from "./ops/index.js";
export * as ops from "./ops/index.js";
export { toModelProto, checkGraph, type SerializeOptions } from "./serialize.js";
export { saveModel, type SaveOptions, type SavedModel } from "./save.js";
export { externalDataRoot, EXTERNAL_FOLDER_CONFIG } from "./external.js";
export {
  createSession, defaultThreads, SessionError,
  type Device, type Logger, type ModelSource, type RunOptions, type Session, type SessionCacheEvent, type SessionOptions, type ValueInfo,
} from "./session.js";
export { cpuIdentity, ortVersion, type SessionCacheOptions } from "./session-cache.js";
export { createWorkerSession } from "./worker-session.js";
export { quantizeBlockwise, quantizePerChannel, dequantizeRow, quantizationProblem, type BlockQuantized, type ChannelQuantized, type QuantBits } from "./quantize.js";
export * from "./autodiff/index.js";
export { createDotScorer, createPairScorer, type DotScorer, type DotScorerOptions, type PairScorer } from "./dot-scorer.js";
export { readProfile, summarizeProfile, type ProfileRow, type ProfileSummary } from "./profile.js";
export { HUGE_PAGES_TUNABLE, transparentHugePages, withHugePages } from "./huge-pages.js";
