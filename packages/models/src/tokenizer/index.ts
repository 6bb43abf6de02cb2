export { Tokenizer, TOKENIZER_CONFIG_FILE, TOKENIZER_FILE, loadTokenizer } from "./tokenizer.js";
export { encodeRows, padBatch, type EncodeOptions, type EncodedBatch, type EncodedRow, type EncodedRows } from "./encode.js";
export { copyTokenizerFiles, packagedTokenizerDir, type TokenizerKind } from "./files.js";
export type { ResolvedProfile, TokenRef, TokenizerProfile } from "./profile.js";
export { appendsEos, encodeForEmbedding, profileWithTemplate, type EmbedInputOptions } from "./embed-inputs.js";
