/**
 * Keeps the k best (score, id) pairs seen so far in a binary min-heap: the root is the worst kept entry, so a new
 * candidate costs one comparison when it loses and O(log k) when it enters.
 *
 * "Better" follows trec_eval: a higher score wins, and equal scores are ordered by doc id descending (string compare),
 * so the kept set is the same one trec_eval would put in its top k.
 */
export class TopK {
  private readonly scores: Float64Array;
  private readonly ids: string[] = [];
  private size = 0;

  constructor(readonly k: number) {
    if (!Number.isInteger(k) || k < 1) throw new Error(`TopK: k must be a positive integer, got ${k}`);
    this.scores = new Float64Array(k);
  }

  get length(): number {
    return this.size;
  }

  /** The score a candidate must beat to enter once the heap is full (-Infinity before). */
  get threshold(): number {
    return this.size < this.k ? -Infinity : (this.scores[0] as number);
  }

  push(id: string, score: number): void {
    if (this.size < this.k) {
      this.scores[this.size] = score;
      this.ids[this.size] = id;
      this.siftUp(this.size++);
      return;
    }
    const rootScore = this.scores[0] as number;
    if (score < rootScore || (score === rootScore && id <= (this.ids[0] as string))) return;
    this.scores[0] = score;
    this.ids[0] = id;
    this.siftDown(0);
  }

  /** Entries best first (score descending, then id descending). */
  sorted(): Array<[id: string, score: number]> {
    const out: Array<[string, number]> = [];
    for (let i = 0; i < this.size; i++) out.push([this.ids[i] as string, this.scores[i] as number]);
    return out.sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? 1 : a[0] > b[0] ? -1 : 0));
  }

  /** Entries as a `{ docid: score }` record, as a run stores them. */
  toRecord(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [id, score] of this.sorted()) out[id] = score;
    return out;
  }

  private worse(i: number, j: number): boolean {
    const si = this.scores[i] as number;
    const sj = this.scores[j] as number;
    return si < sj || (si === sj && (this.ids[i] as string) < (this.ids[j] as string));
  }

  private swap(i: number, j: number): void {
    const s = this.scores[i] as number;
    this.scores[i] = this.scores[j] as number;
    this.scores[j] = s;
    const id = this.ids[i] as string;
    this.ids[i] = this.ids[j] as string;
    this.ids[j] = id;
  }

  private siftUp(i: number): void {
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.worse(i, parent)) return;
      this.swap(i, parent);
      i = parent;
    }
  }

  private siftDown(i: number): void {
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let smallest = i;
      if (left < this.size && this.worse(left, smallest)) smallest = left;
      if (right < this.size && this.worse(right, smallest)) smallest = right;
      if (smallest === i) return;
      this.swap(i, smallest);
      i = smallest;
    }
  }
}
