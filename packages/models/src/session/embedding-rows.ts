// The embedding rows a batch needs, read from the checkpoint with positioned reads instead of through ORT's mapping of
// the table. A Gather in the graph maps the rows it touches into the process, and the kernel maps each fault's
// neighbours with it (64 KiB), so 8192 ids spread over a 152k vocabulary bring nearly all of a 7B model's 1 GiB table
// into RSS. Read here, the rows are served by the page cache, and only the [B, T, hidden] result is the process's own.
// One read per distinct id; widening BF16/F16 to float32 is exact, so the hidden states equal the Gather's.
import { closeSync, openSync, readSync } from "node:fs";
import type { TensorEntry } from "../safetensors/index.js";
import { f16ToFloat32 } from "../safetensors/index.js";
import type { WeightDtype } from "../weights.js";

export class EmbeddingRows {
  private readonly hidden: number;
  private readonly rows: number;
  private readonly rowBytes: number;

  constructor(private readonly table: TensorEntry & { readonly dtype: WeightDtype }) {
    [this.rows, this.hidden] = table.shape as [number, number];
    this.rowBytes = this.hidden * (table.dtype === "F32" ? 4 : 2);
  }

  /** [ids.length × hidden] float32, row i the table's row ids[i]. */
  gather(ids: BigInt64Array): Float32Array {
    const { hidden, rowBytes, table } = this;
    const out = new Float32Array(ids.length * hidden);
    const bits = new Uint32Array(out.buffer);
    const row = new Uint8Array(rowBytes); // not from Buffer's pool, so 4-byte aligned for the typed views
    const firstUse = new Map<bigint, number>();
    const fd = openSync(table.path, "r");
    try {
      for (let i = 0; i < ids.length; i++) {
        const id = ids[i]!;
        const earlier = firstUse.get(id);
        if (earlier !== undefined) {
          out.copyWithin(i * hidden, earlier * hidden, (earlier + 1) * hidden);
          continue;
        }
        if (id < 0n || id >= BigInt(this.rows)) throw new RangeError(`${table.path}: token id ${id} is outside '${table.name}' (${this.rows} rows)`);
        firstUse.set(id, i);
        const read = readSync(fd, row, 0, rowBytes, table.dataOffset + Number(id) * rowBytes);
        if (read !== rowBytes) throw new Error(`${table.path}: row ${id} of '${table.name}' ends after ${read} of its ${rowBytes} bytes`);
        const base = i * hidden;
        if (table.dtype === "F32") out.set(new Float32Array(row.buffer, 0, hidden), base);
        else if (table.dtype === "F16") out.set(f16ToFloat32(new Uint16Array(row.buffer, 0, hidden)), base);
        else {
          // bf16 is the top half of a float32.
          const halves = new Uint16Array(row.buffer, 0, hidden);
          for (let j = 0; j < hidden; j++) bits[base + j] = halves[j]! << 16;
        }
      }
    } finally {
      closeSync(fd);
    }
    return out;
  }
}
