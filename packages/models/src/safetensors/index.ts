export {
  SUPPORTED_DTYPES,
  bf16ToFloat32,
  dtypeSize,
  f16ToFloat32,
  float32ToBf16,
  float32ToF16,
  isSupportedDtype,
  toFloat32,
  type DtypeArrayMap,
  type SafetensorsDtype,
  type TensorArray,
} from "./dtypes.js";
export { MAX_HEADER_BYTES, SafetensorsError, openSafetensors, type LoadedTensor, type SafetensorsFile, type TensorEntry } from "./read.js";
export { writeSafetensors, type ChunkSource, type TensorToWrite } from "./write.js";
export { INDEX_FILE_NAME, SINGLE_FILE_NAME, openCheckpoint, type Checkpoint } from "./checkpoint.js";
export { writeAtomically } from "./atomic.js";
