// Model inputs as flat row-major tensors, their validation, and the reshuffles the flash kernels need: rows moved
// to right padding (GroupQueryAttention reads lengths, not masks) or split into equal-length groups without padding
// (MultiHeadAttention's flash path takes no mask). Outputs are scattered back to the caller's layout.

/** input_ids and attention_mask, [B, T] row-major (the layout the tokenizer's encodeBatch returns). */
export interface InputBatch {
  readonly dims: readonly [number, number];
  readonly inputIds: BigInt64Array;
  readonly attentionMask: BigInt64Array;
}

export class InputError extends Error {
  override name = "InputError";
}

/** The real tokens of one row: a single run [start, start + length) of the mask. */
export interface RowSpan {
  readonly row: number;
  readonly start: number;
  readonly length: number;
}

/** Checks sizes, mask values and token ids; `where` names the input in errors (a file, or "encode"). */
export function validateBatch(batch: InputBatch, vocabSize: number, where = "input"): void {
  const [b, t] = batch.dims;
  if (!Number.isSafeInteger(b) || !Number.isSafeInteger(t) || b < 0 || t < 0) throw new InputError(`${where}: dims [${b}, ${t}] are not sizes`);
  if (b === 0 || t === 0) throw new InputError(`${where}: empty input (dims [${b}, ${t}]); nothing to run`);
  for (const [name, data] of [["input_ids", batch.inputIds], ["attention_mask", batch.attentionMask]] as const) {
    if (data.length !== b * t) throw new InputError(`${where}: ${name} holds ${data.length} values but dims [${b}, ${t}] need ${b * t}`);
  }
  const vocab = BigInt(vocabSize);
  for (let i = 0; i < b * t; i++) {
    const m = batch.attentionMask[i]!;
    if (m !== 0n && m !== 1n) throw new InputError(`${where}: attention_mask[${Math.floor(i / t)}][${i % t}] is ${m}; expected 0 or 1`);
    const id = batch.inputIds[i]!;
    if (m === 1n && (id < 0n || id >= vocab)) {
      throw new InputError(`${where}: input_ids[${Math.floor(i / t)}][${i % t}] is ${id}, outside the model's vocabulary 0..${vocabSize - 1}`);
    }
  }
}

/** Each row's run of real tokens; undefined when some row's mask has a hole (neither left nor right padding). */
export function rowSpans(batch: InputBatch): RowSpan[] | undefined {
  const [b, t] = batch.dims;
  const spans: RowSpan[] = [];
  for (let row = 0; row < b; row++) {
    const mask = batch.attentionMask.subarray(row * t, (row + 1) * t);
    const start = mask.indexOf(1n);
    if (start < 0) {
      spans.push({ row, start: 0, length: 0 });
      continue;
    }
    let end = start;
    while (end < t && mask[end] === 1n) end++;
    if (mask.subarray(end).includes(1n)) return undefined;
    spans.push({ row, start, length: end - start });
  }
  return spans;
}

/** The rows of `spans`, real tokens first, padded on the right to the longest of them (pad id 0, masked). */
export function packRight(batch: InputBatch, spans: readonly RowSpan[]): InputBatch {
  const t = batch.dims[1];
  const width = Math.max(1, ...spans.map((s) => s.length));
  const inputIds = new BigInt64Array(spans.length * width);
  const attentionMask = new BigInt64Array(spans.length * width);
  spans.forEach((s, i) => {
    inputIds.set(batch.inputIds.subarray(s.row * t + s.start, s.row * t + s.start + s.length), i * width);
    attentionMask.fill(1n, i * width, i * width + s.length);
  });
  return { dims: [spans.length, width], inputIds, attentionMask };
}

/** Writes packed outputs [n, width, hidden] back to rows of `target` [B, T, hidden] at their original positions. */
export function unpackRows(packed: Float32Array, width: number, spans: readonly RowSpan[], target: Float32Array, t: number, hidden: number): void {
  spans.forEach((s, i) => {
    const from = i * width * hidden;
    target.set(packed.subarray(from, from + s.length * hidden), (s.row * t + s.start) * hidden);
  });
}

/** Spans grouped by length (longest first), so each group runs with no padding at all. Empty rows are left out. */
export function equalLengthGroups(spans: readonly RowSpan[]): RowSpan[][] {
  const groups = new Map<number, RowSpan[]>();
  for (const s of spans) {
    if (s.length === 0) continue;
    const group = groups.get(s.length);
    if (group) group.push(s);
    else groups.set(s.length, [s]);
  }
  return [...groups.entries()].sort((a, b) => b[0] - a[0]).map(([, group]) => group);
}

/** Nested number arrays ([[ids]]) → an InputBatch; rows must have equal lengths. */
export function batchFromRows(inputIds: readonly (readonly number[])[], attentionMask: readonly (readonly number[])[], where = "input"): InputBatch {
  const b = inputIds.length;
  const t = inputIds[0]?.length ?? 0;
  if (attentionMask.length !== b) throw new InputError(`${where}: ${b} rows of input_ids but ${attentionMask.length} of attention_mask`);
  const ids = new BigInt64Array(b * t);
  const mask = new BigInt64Array(b * t);
  for (let row = 0; row < b; row++) {
    const idRow = inputIds[row]!;
    const maskRow = attentionMask[row]!;
    if (!Array.isArray(idRow) || !Array.isArray(maskRow)) throw new InputError(`${where}: row ${row} is not an array of numbers`);
    if (idRow.length !== t || maskRow.length !== t) {
      throw new InputError(`${where}: row ${row} has ${idRow.length} ids and ${maskRow.length} mask values; every row needs ${t}`);
    }
    for (let col = 0; col < t; col++) {
      const id = idRow[col];
      const m = maskRow[col];
      if (!Number.isSafeInteger(id) || !Number.isSafeInteger(m)) throw new InputError(`${where}: [${row}][${col}] is not an integer`);
      ids[row * t + col] = BigInt(id as number);
      mask[row * t + col] = BigInt(m as number);
    }
  }
  return { dims: [b, t], inputIds: ids, attentionMask: mask };
}
