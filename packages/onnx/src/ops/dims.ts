// Symbolic dimension algebra. A Dim is a number, a name ("batch"), a product of names written canonically
// ("2*batch*seq"), a parenthesised sum ("(seq+4)"), or an unknown ("?Slice_3:1", never equal to anything else).
// Products cancel, so reshape [B,T,H,D] → [0,0,-1] still knows the last dim is H·D.
import type { Dim, Shape } from "../graph.js";

export const isUnknown = (d: Dim): boolean => typeof d === "string" && d.startsWith("?");
export const unknownDim = (nodeName: string, axis: number): Dim => `?${nodeName}:${axis}`;

interface Monomial {
  coef: number;
  factors: string[];
}

/** Splits "2*a*(b+1)" at top-level '*' (sums stay atomic). */
function parse(d: Dim): Monomial {
  if (typeof d === "number") return { coef: d, factors: [] };
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < d.length; i++) {
    const c = d[i];
    if (c === "(") depth++;
    else if (c === ")") depth--;
    else if (c === "*" && depth === 0) {
      parts.push(d.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(d.slice(start));
  let coef = 1;
  const factors: string[] = [];
  for (const p of parts) {
    if (/^\d+$/.test(p)) coef *= Number(p);
    else factors.push(p);
  }
  return { coef, factors };
}

function format(m: Monomial): Dim {
  if (m.factors.length === 0) return m.coef;
  const sorted = [...m.factors].sort();
  return (m.coef === 1 ? sorted : [String(m.coef), ...sorted]).join("*");
}

export function dimMul(a: Dim, b: Dim): Dim {
  if (typeof a === "number" && typeof b === "number") return a * b;
  if (a === 0 || b === 0) return 0;
  const x = parse(a);
  const y = parse(b);
  return format({ coef: x.coef * y.coef, factors: [...x.factors, ...y.factors] });
}

export const dimProduct = (dims: Shape): Dim => dims.reduce<Dim>((acc, d) => dimMul(acc, d), 1);

/** a / b when it divides exactly (numbers and cancelling factors), else undefined. */
export function dimDiv(a: Dim, b: Dim): Dim | undefined {
  if (typeof a === "number" && typeof b === "number") return b !== 0 && a % b === 0 ? a / b : undefined;
  const x = parse(a);
  const y = parse(b);
  if (y.coef === 0 || x.coef % y.coef !== 0) return undefined;
  const rest = [...x.factors];
  for (const f of y.factors) {
    const i = rest.indexOf(f);
    if (i < 0) return undefined;
    rest.splice(i, 1);
  }
  return format({ coef: x.coef / y.coef, factors: rest });
}

export function dimAdd(a: Dim, b: Dim): Dim {
  if (typeof a === "number" && typeof b === "number") return a + b;
  if (a === 0) return b;
  if (b === 0) return a;
  const terms = [a, b].flatMap((d) => (typeof d === "string" && /^\(.*\)$/.test(d) ? splitSum(d.slice(1, -1)) : [String(d)]));
  let constant = 0;
  const names: string[] = [];
  for (const t of terms) {
    if (/^-?\d+$/.test(t)) constant += Number(t);
    else names.push(t);
  }
  names.sort();
  if (constant !== 0) names.push(String(constant));
  return names.length === 1 ? names[0]! : `(${names.join("+")})`.replace(/\+-/g, "-");
}

function splitSum(s: string): string[] {
  // Only a trailing "-<digits>" term is a negative constant; names may contain '-'.
  return s.replace(/-(?=\d+(\+|$))/g, "+-").split("+").filter((t) => t.length > 0);
}

export const dimEquals = (a: Dim, b: Dim): boolean => a === b;

export const describeShape = (shape: Shape): string => `[${shape.join(",")}]`;
