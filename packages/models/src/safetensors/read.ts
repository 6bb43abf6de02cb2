/**
 * Reading .safetensors files: the header is read alone (8-byte length + JSON) and fully validated before any
 * offset in it is trusted; tensors are read one at a time into their own buffers. A multi-GB file is never read
 * whole: the graph builder points ONNX external data at `dataOffset`/`byteLength` instead.
 */
import { open, stat, type FileHandle } from "node:fs/promises";
import { endianness } from "node:os";
import {
  arrayClassFor,
  describeUnsupportedDtype,
  dtypeSize,
  isSupportedDtype,
  type DtypeArrayMap,
  type SafetensorsDtype,
  type TensorArray,
} from "./dtypes.js";

/** Same cap as the reference implementation (MAX_HEADER_SIZE): a larger header is corrupt, not big. */
export const MAX_HEADER_BYTES = 100_000_000;
/** fs.read moves at most 2 GiB per call; stay well under it. */
const READ_CHUNK_BYTES = 1 << 30;

export interface TensorEntry {
  readonly name: string;
  readonly dtype: SafetensorsDtype;
  readonly shape: readonly number[];
  /** Absolute byte offset in the file: 8 + header length + data_offsets[0]. */
  readonly dataOffset: number;
  readonly byteLength: number;
  /** The file holding the tensor (useful once shards are merged into one view). */
  readonly path: string;
}

/** A tensor read into memory. F16/BF16 data are raw bits (see bf16ToFloat32 / f16ToFloat32). */
export interface LoadedTensor<D extends SafetensorsDtype = SafetensorsDtype> {
  readonly name: string;
  readonly dtype: D;
  readonly shape: readonly number[];
  readonly data: DtypeArrayMap[D];
}

export interface SafetensorsFile {
  readonly path: string;
  readonly fileSize: number;
  /** Byte length of the JSON header (excluding the 8-byte length prefix). */
  readonly headerLength: number;
  readonly metadata: Readonly<Record<string, string>>;
  /** Entries sorted by name. */
  readonly entries: readonly TensorEntry[];
  names(): string[];
  has(name: string): boolean;
  /** The entry for `name`; throws naming the file if it is absent. */
  entry(name: string): TensorEntry;
  readTensor(name: string): Promise<LoadedTensor>;
}

export class SafetensorsError extends Error {
  override readonly name = "SafetensorsError";
}

function fail(path: string, message: string, tensor?: string): never {
  throw new SafetensorsError(tensor === undefined ? `${path}: ${message}` : `${path}: tensor "${tensor}": ${message}`);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isSize(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

function checkLittleEndianHost(): void {
  // safetensors is little-endian; reading into typed arrays relies on the host agreeing.
  if (endianness() !== "LE") throw new SafetensorsError("safetensors reading needs a little-endian host");
}

/** Validates one header entry against the data block; returns it with absolute offsets. */
function parseEntry(path: string, name: string, raw: unknown, dataStart: number, dataLength: number) {
  if (!isPlainObject(raw)) fail(path, "header entry is not an object", name);
  const { dtype, shape, data_offsets: offsets } = raw;
  if (typeof dtype !== "string") fail(path, `dtype must be a string, got ${JSON.stringify(dtype)}`, name);
  if (!isSupportedDtype(dtype)) fail(path, describeUnsupportedDtype(dtype), name);
  if (!Array.isArray(shape) || !shape.every(isSize)) {
    fail(path, `shape must be an array of non-negative integers, got ${JSON.stringify(shape)}`, name);
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isSize)) {
    fail(path, `data_offsets must be [begin, end] of non-negative integers, got ${JSON.stringify(offsets)}`, name);
  }
  const [begin, end] = offsets as [number, number];
  if (end < begin) fail(path, `data_offsets [${begin}, ${end}] end before they begin`, name);
  if (end > dataLength) {
    fail(path, `data_offsets [${begin}, ${end}] reach past the data block of ${dataLength} bytes (truncated file?)`, name);
  }
  let expected = dtypeSize(dtype);
  for (const dim of shape as number[]) {
    expected *= dim;
    if (!Number.isSafeInteger(expected)) fail(path, `shape [${shape.join(", ")}] is too large`, name);
  }
  if (expected !== end - begin) {
    fail(path, `shape [${shape.join(", ")}] × ${dtype} needs ${expected} bytes but data_offsets span ${end - begin}`, name);
  }
  return { name, dtype, shape: shape as number[], begin, end, dataOffset: dataStart + begin, byteLength: end - begin, path };
}

/** Parses and validates a header's JSON text against the file size. */
function parseHeader(path: string, headerText: string, headerLength: number, fileSize: number) {
  let header: unknown;
  try {
    header = JSON.parse(headerText);
  } catch (error) {
    fail(path, `header is not valid JSON (${(error as Error).message})`);
  }
  if (!isPlainObject(header)) fail(path, "header must be a JSON object");
  const dataStart = 8 + headerLength;
  const dataLength = fileSize - dataStart;
  let metadata: Record<string, string> = {};
  const parsed: ReturnType<typeof parseEntry>[] = [];
  for (const [name, raw] of Object.entries(header)) {
    if (name === "__metadata__") {
      if (!isPlainObject(raw) || !Object.values(raw).every((v) => typeof v === "string")) {
        fail(path, "__metadata__ must be an object of string values");
      }
      metadata = raw as Record<string, string>;
      continue;
    }
    parsed.push(parseEntry(path, name, raw, dataStart, dataLength));
  }
  // Overlaps would let two tensors alias the same bytes; gaps are harmless and allowed (empty tensors own nothing).
  const byBegin = parsed.filter((e) => e.byteLength > 0).sort((a, b) => a.begin - b.begin || a.end - b.end);
  let furthest: (typeof parsed)[number] | undefined;
  for (const current of byBegin) {
    if (furthest !== undefined && current.begin < furthest.end) {
      fail(
        path,
        `data_offsets [${current.begin}, ${current.end}] overlap tensor "${furthest.name}" [${furthest.begin}, ${furthest.end}]`,
        current.name,
      );
    }
    if (furthest === undefined || current.end > furthest.end) furthest = current;
  }
  const entries: TensorEntry[] = parsed
    .map(({ name, dtype, shape, dataOffset, byteLength }) => ({ name, dtype, shape, dataOffset, byteLength, path }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { metadata, entries };
}

async function readExactly(path: string, handle: FileHandle, target: Uint8Array, position: number) {
  let done = 0;
  while (done < target.length) {
    const length = Math.min(READ_CHUNK_BYTES, target.length - done);
    const { bytesRead } = await handle.read(target, done, length, position + done);
    if (bytesRead === 0) fail(path, `unexpected end of file at byte ${position + done}`);
    done += bytesRead;
  }
}

/** Opens a .safetensors file, reading and validating only its header. */
export async function openSafetensors(path: string): Promise<SafetensorsFile> {
  checkLittleEndianHost();
  let handle;
  try {
    handle = await open(path, "r");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    fail(path, code === "ENOENT" ? "file not found" : `cannot open (${(error as Error).message})`);
  }
  let fileSize: number;
  let headerLength: number;
  let headerText: string;
  try {
    const info = await handle.stat();
    if (!info.isFile()) fail(path, "not a regular file");
    fileSize = info.size;
    if (fileSize < 8) fail(path, `file is ${fileSize} bytes, too short for the 8-byte header length`);
    const prefix = new Uint8Array(8);
    await readExactly(path, handle, prefix, 0);
    const declared = Buffer.from(prefix.buffer).readBigUInt64LE(0);
    if (declared > BigInt(fileSize - 8)) {
      fail(path, `header length ${declared} exceeds the ${fileSize - 8} bytes after the length prefix (not safetensors, or truncated)`);
    }
    if (declared > BigInt(MAX_HEADER_BYTES)) fail(path, `header length ${declared} exceeds the ${MAX_HEADER_BYTES}-byte limit`);
    if (declared < 2n) fail(path, `header length ${declared} is too small for a JSON object`);
    headerLength = Number(declared);
    const headerBytes = new Uint8Array(headerLength);
    await readExactly(path, handle, headerBytes, 8);
    try {
      headerText = new TextDecoder("utf-8", { fatal: true }).decode(headerBytes);
    } catch {
      fail(path, "header is not valid UTF-8");
    }
  } finally {
    await handle.close();
  }
  const { metadata, entries } = parseHeader(path, headerText, headerLength, fileSize);
  const byName = new Map(entries.map((e) => [e.name, e]));

  const entry = (name: string): TensorEntry => byName.get(name) ?? fail(path, "no such tensor in this file", name);

  async function readTensor(name: string): Promise<LoadedTensor> {
    const found = entry(name);
    const file = await open(path, "r");
    try {
      // A file swapped or truncated since the header was validated must not be read with stale offsets.
      const { size } = await file.stat();
      if (size !== fileSize) fail(path, `file changed size since it was opened (${fileSize} → ${size} bytes)`, name);
      const buffer = new ArrayBuffer(found.byteLength);
      await readExactly(path, file, new Uint8Array(buffer), found.dataOffset);
      const ArrayClass = arrayClassFor(found.dtype);
      const data: TensorArray = new ArrayClass(buffer);
      return { name, dtype: found.dtype, shape: found.shape, data };
    } finally {
      await file.close();
    }
  }

  return {
    path,
    fileSize,
    headerLength,
    metadata,
    entries,
    names: () => entries.map((e) => e.name),
    has: (name) => byName.has(name),
    entry,
    readTensor,
  };
}

/** True when `path` exists and is a regular file (used to give "not found" errors before opening). */
export async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}
