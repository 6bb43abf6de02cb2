import { describe, expect, it } from "vitest";
import type { Value } from "../graph.js";
import { checkForward, randomInput, seeded, type TestInput } from "../testing.js";
import { Nd, erfRef, zip } from "../../test/naive.js";
import * as op from "./index.js";

const random = seeded(7);
const f32 = (dims: number[], lo = -2, hi = 2): TestInput => randomInput(random, "float32", dims, lo, hi);
const bools = (dims: number[]): TestInput => ({ dtype: "bool", dims, data: Uint8Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => (random() < 0.5 ? 1 : 0)) });

type Binary = (a: Value, b: Value) => Value;
const binaries: [string, Binary, (a: number, b: number) => number][] = [
  ["add", op.add, (a, b) => a + b],
  ["sub", op.sub, (a, b) => a - b],
  ["mul", op.mul, (a, b) => a * b],
  ["div", op.div, (a, b) => a / b],
  ["max2", op.max2, Math.max],
  ["min2", op.min2, Math.min],
];

describe("binary arithmetic broadcasts like numpy", () => {
  for (const [name, fn, ref] of binaries) {
    it(name, async () => {
      await checkForward((_, v) => fn(v.a, v.b), { a: f32([2, 1, 4]), b: f32([3, 1], 0.5, 2) }, (t) =>
        zip(ref, Nd.of(t.a), Nd.of(t.b)).tensor(),
      );
    });
  }

  it("takes a JS number as a scalar of the other operand's dtype", async () => {
    await checkForward((_, v) => op.sub(3, op.mul(v.a, 0.5)), { a: f32([5]) }, (t) => zip((a) => 3 - a * 0.5, Nd.of(t.a)).tensor());
  });

  it("pow with a number and with a tensor exponent", async () => {
    await checkForward(
      (_, v) => [op.pow(v.a, 2), op.pow(v.a, v.b)],
      { a: f32([2, 3], 0.1, 2), b: f32([3]) },
      (t) => [zip((a) => a ** 2, Nd.of(t.a)).tensor(), zip((a, b) => a ** b, Nd.of(t.a), Nd.of(t.b)).tensor()],
    );
  });

  it("works on symbolic dims", async () => {
    const a = { ...f32([2, 3]), shape: ["batch", 3] };
    const b = { ...f32([2, 1]), shape: ["batch", 1] };
    const { graphOutputs } = await checkForward((_, v) => op.add(v.a, v.b), { a, b }, (t) => zip((x, y) => x + y, Nd.of(t.a), Nd.of(t.b)).tensor());
    expect(graphOutputs[0]!.shape).toEqual(["batch", 3]);
  });
});

const unaries: [string, (x: Value) => Value, (x: number) => number, [number, number]?][] = [
  ["neg", op.neg, (x) => -x],
  ["abs", op.abs, Math.abs],
  ["exp", op.exp, Math.exp],
  ["log", op.log, Math.log, [0.1, 3]],
  ["sqrt", op.sqrt, Math.sqrt, [0, 3]],
  ["reciprocal", op.reciprocal, (x) => 1 / x, [0.5, 3]],
  ["tanh", op.tanh, Math.tanh],
  ["sigmoid", op.sigmoid, (x) => 1 / (1 + Math.exp(-x))],
  ["relu", op.relu, (x) => Math.max(0, x)],
  ["erf", op.erf, erfRef],
  ["silu", op.silu, (x) => x / (1 + Math.exp(-x))],
];

describe("unary math", () => {
  for (const [name, fn, ref, range] of unaries) {
    it(name, async () => {
      await checkForward((_, v) => fn(v.x), { x: f32([3, 4], ...(range ?? [-3, 3])) }, (t) => zip(ref, Nd.of(t.x)).tensor());
    });
  }

  it("clip with both bounds, one bound and tensor bounds", async () => {
    await checkForward(
      (g, v) => [op.clip(v.x, { min: -0.5, max: 0.5 }), op.clip(v.x, { max: 0 }), op.clip(v.x, { min: op.constant(g, 1) })],
      { x: f32([6]) },
      (t) => [
        zip((x) => Math.min(0.5, Math.max(-0.5, x)), Nd.of(t.x)).tensor(),
        zip((x) => Math.min(0, x), Nd.of(t.x)).tensor(),
        zip((x) => Math.max(1, x), Nd.of(t.x)).tensor(),
      ],
    );
  });

  it("cast float → int64 truncates toward zero, int64 → float32 is exact", async () => {
    await checkForward(
      (_, v) => [op.cast(v.x, "int64"), op.cast(op.cast(v.x, "int64"), "float32")],
      { x: f32([5], -4, 4) },
      (t) => [zip(Math.trunc, Nd.of(t.x)).tensor("int64"), zip(Math.trunc, Nd.of(t.x)).tensor()],
    );
  });
});

describe("comparisons, logic and where", () => {
  const cmp: [string, Binary, (a: number, b: number) => boolean][] = [
    ["equal", op.equal, (a, b) => a === b],
    ["less", op.less, (a, b) => a < b],
    ["greater", op.greater, (a, b) => a > b],
    ["lessOrEqual", op.lessOrEqual, (a, b) => a <= b],
    ["greaterOrEqual", op.greaterOrEqual, (a, b) => a >= b],
  ];
  for (const [name, fn, ref] of cmp) {
    it(name, async () => {
      // Small integers so equality actually happens.
      const ints = (dims: number[]): TestInput => ({ dtype: "int64", dims, data: BigInt64Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => BigInt(Math.floor(random() * 3))) });
      await checkForward((_, v) => fn(v.a, v.b), { a: ints([3, 4]), b: ints([4]) }, (t) => zip((a, b) => Number(ref(a, b)), Nd.of(t.a), Nd.of(t.b)).tensor("bool"));
    });
  }

  it("and, or, not", async () => {
    await checkForward(
      (_, v) => [op.and(v.a, v.b), op.or(v.a, v.b), op.not(v.a)],
      { a: bools([2, 3]), b: bools([3]) },
      (t) => [
        zip((a, b) => a & b, Nd.of(t.a), Nd.of(t.b)).tensor("bool"),
        zip((a, b) => a | b, Nd.of(t.a), Nd.of(t.b)).tensor("bool"),
        zip((a) => 1 - a, Nd.of(t.a)).tensor("bool"),
      ],
    );
  });

  it("where broadcasts all three and takes a number branch", async () => {
    await checkForward(
      (_, v) => [op.where(v.c, v.a, v.b), op.where(v.c, v.a, -1e9)],
      { c: bools([2, 1, 3]), a: f32([4, 3]), b: f32([3]) },
      (t) => [
        zip((c, a, b) => (c ? a : b), Nd.of(t.c), Nd.of(t.a), Nd.of(t.b)).tensor(),
        zip((c, a) => (c ? a : -1e9), Nd.of(t.c), Nd.of(t.a)).tensor(),
      ],
    );
  });
});
