/**
 * Writing .safetensors files the way the reference implementation lays them out: `__metadata__` first, the
 * header padded with spaces to a multiple of 8 bytes, tensors packed back to back with no gaps. Tensors are
 * ordered by element size (largest first) and then by name, as the reference does, so every tensor starts
 * aligned to its element size; in the usual single-dtype checkpoint that is plain name order.
 */
import type { FileHandle } from "node:fs/promises";
import { writeAtomically } from "./atomic.js";
import { describeUnsupportedDtype, dtypeSize, isSupportedDtype, arrayClassFor, type SafetensorsDtype } from "./dtypes.js";

/** Bytes handed to fs.write per call, so one huge tensor never needs a second copy. */
const WRITE_CHUNK_BYTES = 64 << 20;

/** Tensor bytes produced piece by piece (e.g. random weights for a 2 GB model), in file order. */
export type ChunkSource = () => Iterable<ArrayBufferView> | AsyncIterable<ArrayBufferView>;

export interface TensorToWrite {
  readonly dtype: SafetensorsDtype;
  readonly shape: readonly number[];
  /**
   * The dtype's typed array (Uint16Array holds F16/BF16 bits), a Uint8Array of raw little-endian bytes, or a
   * ChunkSource for tensors too big to hold at once. The byte count must equal shape × dtype size.
   */
  readonly data: ArrayBufferView | ChunkSource;
}

function bytesOf(view: ArrayBufferView): Uint8Array {
  return new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
}

function checkTensor(path: string, name: string, tensor: TensorToWrite): number {
  const where = `${path}: tensor "${name}"`;
  if (name === "__metadata__" || name.length === 0) throw new TypeError(`${where}: reserved or empty tensor name`);
  if (!isSupportedDtype(tensor.dtype)) throw new TypeError(`${where}: ${describeUnsupportedDtype(tensor.dtype)}`);
  let bytes = dtypeSize(tensor.dtype);
  for (const dim of tensor.shape) {
    if (!Number.isSafeInteger(dim) || dim < 0) {
      throw new RangeError(`${where}: shape [${tensor.shape.join(", ")}] must hold non-negative integers`);
    }
    bytes *= dim;
  }
  const { data } = tensor;
  if (typeof data !== "function") {
    const expectedClass = arrayClassFor(tensor.dtype);
    if (!(data instanceof expectedClass) && !(data instanceof Uint8Array)) {
      throw new TypeError(
        `${where}: data is a ${data.constructor.name}; ${tensor.dtype} needs a ${expectedClass.name} or raw bytes in a Uint8Array`,
      );
    }
    if (data.byteLength !== bytes) {
      throw new RangeError(
        `${where}: data holds ${data.byteLength} bytes but shape [${tensor.shape.join(", ")}] × ${tensor.dtype} needs ${bytes}`,
      );
    }
  }
  return bytes;
}

async function writeAll(file: FileHandle, bytes: Uint8Array, position: number): Promise<number> {
  let done = 0;
  while (done < bytes.length) {
    const length = Math.min(WRITE_CHUNK_BYTES, bytes.length - done);
    const { bytesWritten } = await file.write(bytes, done, length, position + done);
    done += bytesWritten;
  }
  return done;
}

/** Writes tensors (and optional string metadata) to `path` atomically. */
export async function writeSafetensors(
  path: string,
  tensors: Readonly<Record<string, TensorToWrite>>,
  metadata?: Readonly<Record<string, string>>,
): Promise<void> {
  const planned = Object.entries(tensors)
    .map(([name, tensor]) => ({ name, tensor, bytes: checkTensor(path, name, tensor) }))
    .sort((a, b) => dtypeSize(b.tensor.dtype) - dtypeSize(a.tensor.dtype) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));

  const header: Record<string, unknown> = {};
  if (metadata !== undefined) {
    for (const [key, value] of Object.entries(metadata)) {
      if (typeof value !== "string") throw new TypeError(`${path}: metadata "${key}" must be a string`);
    }
    header.__metadata__ = metadata;
  }
  let offset = 0;
  for (const { name, tensor, bytes } of planned) {
    header[name] = { dtype: tensor.dtype, shape: tensor.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  const json = Buffer.from(JSON.stringify(header), "utf8");
  const headerLength = Math.ceil(json.length / 8) * 8;
  const prefix = Buffer.alloc(8 + headerLength, 0x20);
  prefix.writeBigUInt64LE(BigInt(headerLength), 0);
  json.copy(prefix, 8);

  await writeAtomically(path, async (file) => {
    let position = await writeAll(file, prefix, 0);
    for (const { name, tensor, bytes } of planned) {
      if (typeof tensor.data !== "function") {
        position += await writeAll(file, bytesOf(tensor.data), position);
        continue;
      }
      let received = 0;
      for await (const chunk of tensor.data()) {
        received += chunk.byteLength;
        if (received > bytes) break;
        position += await writeAll(file, bytesOf(chunk), position);
      }
      if (received !== bytes) {
        const got = received > bytes ? `more than ${bytes}` : `${received}`;
        throw new RangeError(`${path}: tensor "${name}": its chunk source gave ${got} bytes; shape × ${tensor.dtype} needs ${bytes}`);
      }
    }
  });
}
