export type { ContrastiveBatch, ContrastiveLoss, ContrastiveLossResult } from "./types.js";
export { HardNegativeNLL } from "./hard-negative-nll.js";
export type { HardNegativeNllOptions } from "./hard-negative-nll.js";
export { RepLlama } from "./repllama.js";
export type { RepLlamaOptions } from "./repllama.js";
