// int8 / int4 weights for the decoder's linear layers, made at load from the checkpoint and kept in one file per
// (checkpoint, format, layout) under $DEMBED_CACHE/quantized/, so the next load reads them instead of quantizing
// again. The graph points at that file as external data, as it points at the .safetensors for everything else.
//
// Two layouts per linear: "blocks" (MatMulNBits: codes, scales and zero points per block of 32 along K) and, for the
// per-token int8 kernel, "channels" (int8 codes [K, N] and one scale per output; see perTokenModules).
//
// Layout: <dir>/weights.bin (each tensor's arrays at 4 KiB-aligned offsets) and <dir>/manifest.json, written last:
// a folder without a manifest is an unfinished write. The manifest names the source files with size and mtime; a
// changed checkpoint is quantized again.
import { createHash } from "node:crypto";
import { mkdir, open, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { removeDeadTemps } from "@dembed/files";
import { quantizationProblem, quantizeBlockwise, quantizePerChannel, type ExternalData, type QuantBits } from "@dembed/onnx";
import { toFloat32 } from "./safetensors/index.js";
import type { BoundWeights } from "./weights.js";

/** One linear weight in MatMulNBits form: where each of its three tensors lives. */
export interface BlockQuantizedLinear {
  readonly kind: "blocks";
  readonly bits: QuantBits;
  readonly blockSize: number;
  readonly n: number;
  readonly k: number;
  readonly codes: ExternalData;
  readonly scales: ExternalData;
  readonly zeroPoints: ExternalData;
}

/** One linear weight for perTokenInt8Linear: int8 codes [K, N] and float32 scales [N]. */
export interface ChannelQuantizedLinear {
  readonly kind: "channels";
  readonly bits: 8;
  readonly n: number;
  readonly k: number;
  readonly codes: ExternalData;
  readonly scales: ExternalData;
}

export type QuantizedLinear = BlockQuantizedLinear | ChannelQuantizedLinear;

export type QuantizedLinears = ReadonlyMap<string, QuantizedLinear>;

export interface QuantizeProgress {
  readonly tensor: string;
  readonly done: number;
  readonly total: number;
  readonly bytesRead: number;
}

const FORMAT_VERSION = 2;
const ALIGN = 4096;
/** Block size along K: 32 keeps int4 error small, and every hidden/intermediate size of the supported families divides by it. */
export const QUANT_BLOCK_SIZE = 32;

/** The linear weights the formats quantize: every layer's projections. Embeddings stay as stored. */
export function quantizableLinears(weights: BoundWeights): string[] {
  const names: string[] = [];
  for (let i = 0; i < weights.spec.config.numLayers; i++) {
    const m = weights.spec.modules.layer(i);
    for (const module of [m.q, m.k, m.v, m.o, m.gate, m.up, m.down]) names.push(`${module}.weight`);
  }
  return names;
}

/**
 * The projections int8 and int4 run as int8 with per-token activations (MLAS's u8s8 GEMM, ≈ 3× bf16 where MatMulNBits
 * is ≈ 0.9×): the MLP's down projection, whose input is a product (silu(gate)·up), not a norm's output. Norm outputs
 * carry the channel outliers that one scale per token cannot hold; they stay on MatMulNBits, whose int8 compute scales
 * each block of 32. int4 keeps down at 8 bits as llama.cpp's Q4_K_M keeps it at 6. The measurements are in the
 * package README ("int8 kernels").
 */
export function perTokenModules(weights: BoundWeights): Set<string> {
  return new Set(Array.from({ length: weights.spec.config.numLayers }, (_, i) => `${weights.spec.modules.layer(i).down}.weight`));
}

/** One line per weight the kernel cannot take (naming the tensor and the rule), or [] when all can be quantized. */
export function quantizationProblems(weights: BoundWeights, bits: QuantBits, blockSize = QUANT_BLOCK_SIZE): string[] {
  return quantizableLinears(weights).flatMap((name) => {
    const [n, k] = weights.tensors.get(name)!.shape as [number, number];
    const problem = quantizationProblem(name, n, k, bits, blockSize);
    return problem ? [problem] : [];
  });
}

/** Row r of a stored [n, k] weight as float32, widened into one reused buffer (F16 through the shared converter). */
function rowReader(dtype: string, data: Float32Array | Uint16Array, k: number): (r: number) => Float32Array {
  if (dtype === "F32") return (r) => (data as Float32Array).subarray(r * k, (r + 1) * k);
  if (dtype !== "BF16") return (r) => toFloat32(dtype as "F16", (data as Uint16Array).subarray(r * k, (r + 1) * k));
  const row = new Float32Array(k);
  const bits = new Uint32Array(row.buffer);
  return (r) => {
    // bf16 is the top half of a float32: widening is a shift, exact.
    for (let i = 0, j = r * k; i < k; i++, j++) bits[i] = data[j]! << 16;
    return row;
  };
}

/** The tensor's stored bytes, read into `scratch`, viewed as its dtype (safetensors data is little-endian). */
async function readInto(scratch: Buffer, entry: { path: string; dataOffset: number; byteLength: number; dtype: string; name: string }): Promise<Float32Array | Uint16Array> {
  const file = await open(entry.path, "r");
  try {
    const { bytesRead } = await file.read(scratch, 0, entry.byteLength, entry.dataOffset);
    if (bytesRead !== entry.byteLength) throw new Error(`${entry.path}: tensor '${entry.name}' ends after ${bytesRead} of its ${entry.byteLength} bytes`);
  } finally {
    await file.close();
  }
  // A view, not a copy; allocUnsafe of this size is never pooled, so the offset is 0 and aligned.
  return entry.dtype === "F32" ? new Float32Array(scratch.buffer, scratch.byteOffset, entry.byteLength / 4) : new Uint16Array(scratch.buffer, scratch.byteOffset, entry.byteLength / 2);
}

interface Manifest {
  readonly version: number;
  readonly bits: QuantBits;
  readonly blockSize: number;
  readonly sources: readonly { path: string; size: number; mtimeMs: number }[];
  readonly binBytes: number;
  readonly tensors: Record<string, { kind: QuantizedLinear["kind"]; n: number; k: number; codes: [number, number]; scales: [number, number]; zeroPoints?: [number, number] }>;
}

async function sourcesOf(weights: BoundWeights): Promise<Manifest["sources"]> {
  return Promise.all(
    weights.checkpoint.files.map(async (f) => {
      const s = await stat(f.path);
      return { path: resolve(f.path), size: s.size, mtimeMs: s.mtimeMs };
    }),
  );
}

// The CPU layout keeps the folder names earlier versions used, so their copies are replaced (FORMAT_VERSION), not
// orphaned; the CUDA layout gets folders of its own.
function cacheFolder(weights: BoundWeights, bits: QuantBits, blockSize: number, perToken: boolean, cacheDir: string): string {
  const layout = perToken ? "" : "\0blocks-only";
  const key = createHash("sha256").update(`${resolve(weights.checkpoint.location)}\0${bits}\0${blockSize}${layout}`).digest("hex").slice(0, 20);
  return join(cacheDir, "quantized", `${weights.spec.modelType}-int${bits}-${key}`);
}

function linearsFrom(manifest: Manifest, bin: string): Map<string, QuantizedLinear> {
  const ext = ([offset, length]: [number, number]): ExternalData => ({ location: bin, offset, length });
  return new Map(
    Object.entries(manifest.tensors).map(([name, t]): [string, QuantizedLinear] => [
      name,
      t.kind === "channels"
        ? { kind: "channels", bits: 8, n: t.n, k: t.k, codes: ext(t.codes), scales: ext(t.scales) }
        : { kind: "blocks", bits: manifest.bits, blockSize: manifest.blockSize, n: t.n, k: t.k, codes: ext(t.codes), scales: ext(t.scales), zeroPoints: ext(t.zeroPoints!) },
    ]),
  );
}

/** A manifest that matches these weights and whose data file holds every byte it claims; undefined otherwise. */
async function readValidManifest(dir: string, weights: BoundWeights, bits: QuantBits, blockSize: number, perToken: ReadonlySet<string>): Promise<Manifest | undefined> {
  let manifest: Manifest;
  try {
    manifest = JSON.parse(await readFile(join(dir, "manifest.json"), "utf8")) as Manifest;
    const binSize = (await stat(join(dir, "weights.bin"))).size;
    if (manifest.version !== FORMAT_VERSION || manifest.bits !== bits || manifest.blockSize !== blockSize || manifest.binBytes !== binSize) return undefined;
  } catch {
    return undefined;
  }
  const now = await sourcesOf(weights);
  const same = now.length === manifest.sources.length && now.every((s, i) => s.path === manifest.sources[i]!.path && s.size === manifest.sources[i]!.size && s.mtimeMs === manifest.sources[i]!.mtimeMs);
  if (!same) return undefined;
  for (const name of quantizableLinears(weights)) {
    const t = manifest.tensors[name];
    if (!t || t.kind !== (perToken.has(name) ? "channels" : "blocks")) return undefined;
    const arrays = t.kind === "channels" ? [t.codes, t.scales] : [t.codes, t.scales, t.zeroPoints ?? [-1, 0]];
    for (const [offset, length] of arrays) if (!(offset >= 0 && length > 0 && offset + length <= manifest.binBytes)) return undefined;
  }
  return manifest;
}

/**
 * The quantized form of every layer projection, from the cache or made now (one tensor in memory at a time).
 * Refuses, naming the tensor and the rule, when a weight's shape does not suit the kernel.
 */
export async function quantizedLinears(
  weights: BoundWeights,
  bits: QuantBits,
  options: {
    cacheDir: string;
    blockSize?: number;
    /** The perTokenModules get the 8-bit "channels" layout (default true; false for devices without the kernel). */
    perToken?: boolean;
    onProgress?: (p: QuantizeProgress) => void;
  },
): Promise<QuantizedLinears> {
  const blockSize = options.blockSize ?? QUANT_BLOCK_SIZE;
  const perTokenWanted = options.perToken ?? true;
  const perToken: ReadonlySet<string> = perTokenWanted ? perTokenModules(weights) : new Set();
  const problems = quantizationProblems(weights, bits, blockSize);
  if (problems.length > 0) throw new Error(`int${bits} weights: ${problems[0]}${problems.length > 1 ? ` (and ${problems.length - 1} more)` : ""}`);
  const dir = cacheFolder(weights, bits, blockSize, perTokenWanted, options.cacheDir);
  const existing = await readValidManifest(dir, weights, bits, blockSize, perToken);
  if (existing) return linearsFrom(existing, join(dir, "weights.bin"));

  const tmpBin = join(dir, `weights.bin.tmp-${process.pid}`);
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    await mkdir(dir, { recursive: true });
    await removeDeadTemps(dir);
    handle = await open(tmpBin, "w");
  } catch (e) {
    throw new Error(`cannot write the quantized weights cache ${dir} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); set DEMBED_CACHE to a writable folder`);
  }
  const tensors: Manifest["tensors"] = {};
  const names = quantizableLinears(weights);
  let position = 0;
  let bytesRead = 0;
  try {
    const put = async (bytes: Uint8Array): Promise<[number, number]> => {
      const offset = Math.ceil(position / ALIGN) * ALIGN;
      await handle.write(bytes, 0, bytes.length, offset);
      position = offset + bytes.length;
      return [offset, bytes.length];
    };
    // One read buffer for every tensor: a fresh one each time would leave GBs for the collector at 7B.
    const scratch = Buffer.allocUnsafeSlow(Math.max(...names.map((name) => weights.tensors.get(name)!.byteLength)));
    for (const [i, name] of names.entries()) {
      const entry = weights.tensors.get(name)!;
      const [n, k] = entry.shape as [number, number];
      const stored = await readInto(scratch, entry);
      bytesRead += entry.byteLength;
      const row = rowReader(entry.dtype, stored, k);
      const where = `${entry.path}: ${entry.name}`;
      const bytesOf = (a: Float32Array | Int8Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
      if (perToken.has(name)) {
        const q = quantizePerChannel(row, n, k, where);
        tensors[name] = { kind: "channels", n, k, codes: await put(bytesOf(q.codes)), scales: await put(bytesOf(q.scales)) };
      } else {
        const q = quantizeBlockwise(row, n, k, bits, blockSize, where);
        tensors[name] = { kind: "blocks", n, k, codes: await put(q.codes), scales: await put(bytesOf(q.scales)), zeroPoints: await put(q.zeroPoints) };
      }
      options.onProgress?.({ tensor: name, done: i + 1, total: names.length, bytesRead });
    }
    await handle.sync();
  } finally {
    await handle.close();
  }
  const manifest: Manifest = { version: FORMAT_VERSION, bits, blockSize, sources: await sourcesOf(weights), binBytes: position, tensors };
  const tmpManifest = join(dir, `manifest.json.tmp-${process.pid}`);
  await writeFile(tmpManifest, JSON.stringify(manifest));
  // A concurrent run may have finished the same folder first: its files hold the same bytes, so renaming over is safe.
  await rm(join(dir, "manifest.json"), { force: true });
  await rename(tmpBin, join(dir, "weights.bin"));
  await rename(tmpManifest, join(dir, "manifest.json"));
  return linearsFrom(manifest, join(dir, "weights.bin"));
}
