/**
 * The Porter (1980) stemmer as in Martin Porter's reference C implementation, which is also what Lucene's
 * PorterStemFilter (and so Pyserini's and BRIGHT's BM25) runs: it includes the reference code's two departures from
 * the paper, "bli" → "ble" and "logi" → "log" in step 2. Words of one or two letters are returned unchanged.
 * Input is expected lowercase.
 */
export function porterStem(word: string): string {
  if (word.length <= 2) return word;
  return new PorterWord(word).stem();
}

class PorterWord {
  private b: string;
  private k: number; // index of the last letter of the current word
  private j = 0; // end of the stem before a matched suffix

  constructor(word: string) {
    this.b = word;
    this.k = word.length - 1;
  }

  stem(): string {
    this.step1ab();
    if (this.k > 0) {
      this.step1c();
      this.step2();
      this.step3();
      this.step4();
      this.step5();
    }
    return this.b.slice(0, this.k + 1);
  }

  private cons(i: number): boolean {
    const c = this.b[i];
    if (c === "a" || c === "e" || c === "i" || c === "o" || c === "u") return false;
    if (c === "y") return i === 0 ? true : !this.cons(i - 1);
    return true;
  }

  /** The number of vowel-consonant sequences in b[0..j]: [C](VC)^m[V]. */
  private m(): number {
    let n = 0;
    let i = 0;
    const j = this.j;
    for (;;) {
      if (i > j) return n;
      if (!this.cons(i)) break;
      i++;
    }
    i++;
    for (;;) {
      for (;;) {
        if (i > j) return n;
        if (this.cons(i)) break;
        i++;
      }
      i++;
      n++;
      for (;;) {
        if (i > j) return n;
        if (!this.cons(i)) break;
        i++;
      }
      i++;
    }
  }

  private vowelInStem(): boolean {
    for (let i = 0; i <= this.j; i++) if (!this.cons(i)) return true;
    return false;
  }

  private doubleC(j: number): boolean {
    return j >= 1 && this.b[j] === this.b[j - 1] && this.cons(j);
  }

  /** consonant-vowel-consonant ending at i, the last consonant not w, x or y (hop → hope, but not snow). */
  private cvc(i: number): boolean {
    if (i < 2 || !this.cons(i) || this.cons(i - 1) || !this.cons(i - 2)) return false;
    const c = this.b[i];
    return c !== "w" && c !== "x" && c !== "y";
  }

  private ends(s: string): boolean {
    const len = s.length;
    if (len > this.k + 1) return false;
    if (this.b.slice(this.k - len + 1, this.k + 1) !== s) return false;
    this.j = this.k - len;
    return true;
  }

  private setTo(s: string): void {
    this.b = this.b.slice(0, this.j + 1) + s + this.b.slice(this.k + 1);
    this.k = this.j + s.length;
  }

  private r(s: string): void {
    if (this.m() > 0) this.setTo(s);
  }

  /** Tries suffixes in order; the first that matches is replaced when m() > 0, and the search stops either way. */
  private replaceFirst(pairs: ReadonlyArray<readonly [string, string]>): void {
    for (const [suffix, replacement] of pairs) {
      if (this.ends(suffix)) {
        this.r(replacement);
        return;
      }
    }
  }

  private step1ab(): void {
    if (this.b[this.k] === "s") {
      if (this.ends("sses")) this.k -= 2;
      else if (this.ends("ies")) this.setTo("i");
      else if (this.b[this.k - 1] !== "s") this.k--;
    }
    if (this.ends("eed")) {
      if (this.m() > 0) this.k--;
    } else if ((this.ends("ed") || this.ends("ing")) && this.vowelInStem()) {
      this.k = this.j;
      if (this.ends("at")) this.setTo("ate");
      else if (this.ends("bl")) this.setTo("ble");
      else if (this.ends("iz")) this.setTo("ize");
      else if (this.doubleC(this.k)) {
        this.k--;
        const c = this.b[this.k];
        if (c === "l" || c === "s" || c === "z") this.k++;
      } else if (this.mAt(this.k) === 1 && this.cvc(this.k)) this.setTo("e");
    }
  }

  /** m() of b[0..end], for the checks that look at the whole current word. */
  private mAt(end: number): number {
    const saved = this.j;
    this.j = end;
    const n = this.m();
    this.j = saved;
    return n;
  }

  private step1c(): void {
    if (this.ends("y") && this.vowelInStem()) this.b = this.b.slice(0, this.k) + "i" + this.b.slice(this.k + 1);
  }

  private step2(): void {
    const table = STEP2[this.b[this.k - 1] ?? ""];
    if (table) this.replaceFirst(table);
  }

  private step3(): void {
    const table = STEP3[this.b[this.k] ?? ""];
    if (table) this.replaceFirst(table);
  }

  private step4(): void {
    const suffixes = STEP4[this.b[this.k - 1] ?? ""];
    if (!suffixes) return;
    let matched = false;
    for (const suffix of suffixes) {
      if (!this.ends(suffix)) continue;
      // "ion" is removed only after s or t (adoption → adopt, but not onion); when that fails "ou" is still tried.
      if (suffix === "ion" && !(this.j >= 0 && (this.b[this.j] === "s" || this.b[this.j] === "t"))) continue;
      matched = true;
      break;
    }
    if (matched && this.m() > 1) this.k = this.j;
  }

  private step5(): void {
    this.j = this.k;
    if (this.b[this.k] === "e") {
      const a = this.m();
      if (a > 1 || (a === 1 && !this.cvc(this.k - 1))) this.k--;
    }
    // m() still measures the word before any "e" was dropped, as in the reference code.
    if (this.b[this.k] === "l" && this.doubleC(this.k) && this.m() > 1) this.k--;
  }
}

type Pairs = ReadonlyArray<readonly [string, string]>;

const STEP2: Readonly<Record<string, Pairs>> = {
  a: [["ational", "ate"], ["tional", "tion"]],
  c: [["enci", "ence"], ["anci", "ance"]],
  e: [["izer", "ize"]],
  l: [["bli", "ble"], ["alli", "al"], ["entli", "ent"], ["eli", "e"], ["ousli", "ous"]],
  o: [["ization", "ize"], ["ation", "ate"], ["ator", "ate"]],
  s: [["alism", "al"], ["iveness", "ive"], ["fulness", "ful"], ["ousness", "ous"]],
  t: [["aliti", "al"], ["iviti", "ive"], ["biliti", "ble"]],
  g: [["logi", "log"]],
};

const STEP3: Readonly<Record<string, Pairs>> = {
  e: [["icate", "ic"], ["ative", ""], ["alize", "al"]],
  i: [["iciti", "ic"]],
  l: [["ical", "ic"], ["ful", ""]],
  s: [["ness", ""]],
};

const STEP4: Readonly<Record<string, readonly string[]>> = {
  a: ["al"],
  c: ["ance", "ence"],
  e: ["er"],
  i: ["ic"],
  l: ["able", "ible"],
  n: ["ant", "ement", "ment", "ent"],
  o: ["ion", "ou"],
  s: ["ism"],
  t: ["ate", "iti"],
  u: ["ous"],
  v: ["ive"],
  z: ["ize"],
};
