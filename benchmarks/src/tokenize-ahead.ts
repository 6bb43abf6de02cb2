// Tokenizing the next batch while the model runs this one. The model runs in ORT's own threads, so the main thread
// is idle while a call waits for it; tokenizing there takes the tokenizer off the critical path (it was serial with
// the model: a long haystack's batch took ≈ 0.4 s to tokenize before its forward could start).
import type { EncodedRow, EncodedRows } from "@dembed/models";
import type { EncodeOptions } from "./encoder.js";

type Tokenize = (texts: string[], instruction: string | undefined, maxLength: number) => EncodedRows;

/** The rows of the texts an encoder call is about to run, and the texts the plan says come next. */
export class TokenizeAhead {
  private plan: { key: string; order: Map<string, number>; texts: readonly string[] } | undefined;
  private readonly rows = new Map<string, EncodedRow>();
  private profile: EncodedRows["profile"] | undefined;

  constructor(private readonly tokenize: Tokenize) {}

  private static key(options: Pick<EncodeOptions, "role" | "instruction">, maxLength: number): string {
    return JSON.stringify([options.role, options.instruction ?? "", maxLength]);
  }

  /** The texts the next calls will ask for, in order (see TextEncoder.plan). Replaces any earlier plan. */
  setPlan(texts: readonly string[], options: Pick<EncodeOptions, "role" | "instruction">, maxLength: number): void {
    const order = new Map<string, number>();
    texts.forEach((t, i) => order.has(t) || order.set(t, i));
    this.plan = { key: TokenizeAhead.key(options, maxLength), order, texts };
    this.rows.clear();
  }

  /**
   * Rows made ahead for exactly these texts under these options, or undefined (the call tokenizes them itself).
   * Rows made for other texts are dropped: the plan was wrong about them (they were cached, or never asked for).
   */
  take(texts: readonly string[], options: Pick<EncodeOptions, "role" | "instruction">, maxLength: number): EncodedRows | undefined {
    const ready = this.plan?.key === TokenizeAhead.key(options, maxLength) && this.profile !== undefined && texts.every((t) => this.rows.has(t));
    const rows = ready ? texts.map((t) => this.rows.get(t)!) : undefined;
    this.rows.clear();
    return rows ? { rows, profile: this.profile!, truncated: rows.filter((r) => r.truncated).length } : undefined;
  }

  /** Up to `count` planned texts after the last of `texts`, under the plan's options; none without a matching plan. */
  next(texts: readonly string[], options: Pick<EncodeOptions, "role" | "instruction">, maxLength: number, count: number): string[] {
    if (!this.plan || this.plan.key !== TokenizeAhead.key(options, maxLength) || texts.length === 0) return [];
    const last = Math.max(...texts.map((t) => this.plan!.order.get(t) ?? -1));
    if (last < 0) return [];
    const out: string[] = [];
    const wanted = new Set(texts);
    for (let i = last + 1; i < this.plan.texts.length && out.length < count; i++) {
      const t = this.plan.texts[i]!;
      // A repeated text is embedded once, at its first place in the plan.
      if (this.plan.order.get(t) === i && !wanted.has(t)) out.push(t);
    }
    return out;
  }

  /**
   * Tokenizes `texts` one at a time, yielding to the event loop before each, so a call waiting on the model can
   * send its next group as soon as the model is free. Returns the seconds spent tokenizing. A text that cannot be
   * tokenized stops the work quietly: its own call tokenizes it again and reports the error with its row.
   */
  async prepare(texts: readonly string[], instruction: string | undefined, maxLength: number): Promise<number> {
    let seconds = 0;
    for (const text of texts) {
      await new Promise((resolve) => setImmediate(resolve));
      const started = performance.now();
      try {
        const encoded = this.tokenize([text], instruction, maxLength);
        this.rows.set(text, encoded.rows[0]!);
        this.profile = encoded.profile;
      } catch {
        break;
      } finally {
        seconds += (performance.now() - started) / 1000;
      }
    }
    return seconds;
  }
}
