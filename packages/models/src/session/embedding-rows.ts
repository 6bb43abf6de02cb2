// The embedding rows a batch needs, read from the checkpoint with positioned reads instead of through ORT's mapping of
// the table. A Gather in the graph maps the rows it touches into the process, and the kernel maps each fault's
// neighbours with it (64 KiB), so 8192 ids spread over a 152k vocabulary bring nearly all of a 7B model's 1 GiB table
// into RSS. Read here, the rows are served by the page cache, and only the [B, T, hidden] result is the process's own.
// One read per distinct id, or one read of the whole table when it is small (a tiny model's 39 MB: there ≈ 3.5 µs per
// row read would be a visible part of a forward). Widening BF16/F16 to float32 is exact, so the hidden states equal
// the Gather's.
import { closeSync, openSync, readSync } from "node:fs";
import { f16ToFloat32, type TensorEntry } from "../safetensors/index.js";
import type { BoundWeights, WeightDtype } from "../weights.js";

/** Tables up to this size are read once and kept; larger ones are read a row at a time. */
export const HELD_TABLE_BYTES = 64 * 2 ** 20;

export class EmbeddingRows {
  private held?: ArrayBuffer;
  private readonly table: TensorEntry & { readonly dtype: WeightDtype };
  private readonly hidden: number;
  private readonly rows: number;
  private readonly rowBytes: number;

  constructor(
    private readonly weights: BoundWeights,
    private readonly heldTableBytes = HELD_TABLE_BYTES,
  ) {
    this.table = weights.tensors.get(`${weights.spec.modules.embed}.weight`)!;
    [this.rows, this.hidden] = this.table.shape as [number, number];
    this.rowBytes = this.hidden * (this.table.dtype === "F32" ? 4 : 2);
  }

  private readRow(fd: number, id: bigint, into: Uint8Array): void {
    const read = readSync(fd, into, 0, this.rowBytes, this.table.dataOffset + Number(id) * this.rowBytes);
    if (read !== this.rowBytes) throw new Error(`${this.table.path}: row ${id} of '${this.table.name}' ends after ${read} of its ${this.rowBytes} bytes`);
  }

  /** [ids.length × hidden] float32, row i the table's row ids[i]. */
  async gather(ids: BigInt64Array): Promise<Float32Array> {
    const { hidden, rowBytes, table } = this;
    if (!this.held && table.byteLength <= this.heldTableBytes) this.held = (await this.weights.checkpoint.readTensor(table.name)).data.buffer as ArrayBuffer;
    const out = new Float32Array(ids.length * hidden);
    const bits = new Uint32Array(out.buffer);
    const firstUse = new Map<bigint, number>();
    const fd = this.held ? undefined : openSync(table.path, "r");
    try {
      const scratch = this.held ? undefined : new Uint8Array(rowBytes);
      for (let i = 0; i < ids.length; i++) {
        const id = ids[i]!;
        const earlier = firstUse.get(id);
        if (earlier !== undefined) {
          out.copyWithin(i * hidden, earlier * hidden, (earlier + 1) * hidden);
          continue;
        }
        if (id < 0n || id >= BigInt(this.rows)) throw new RangeError(`${table.path}: token id ${id} is outside '${table.name}' (${this.rows} rows)`);
        firstUse.set(id, i);
        const at = this.held ? Number(id) * rowBytes : 0;
        if (scratch) this.readRow(fd!, id, scratch);
        const source = this.held ?? scratch!.buffer;
        const base = i * hidden;
        if (table.dtype === "F32") out.set(new Float32Array(source, at, hidden), base);
        else if (table.dtype === "F16") out.set(f16ToFloat32(new Uint16Array(source, at, hidden)), base);
        else {
          // bf16 is the top half of a float32.
          const halves = new Uint16Array(source, at, hidden);
          for (let j = 0; j < hidden; j++) bits[base + j] = halves[j]! << 16;
        }
      }
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
    return out;
  }
}
