// The default intra-op thread count: ORT's own picked one thread on a 2-core VM, so dembed chooses.
import { availableParallelism } from "node:os";
import { describe, expect, it } from "vitest";
import { defaultThreads } from "./index.js";

describe("defaultThreads", () => {
  it("is $DEMBED_THREADS when set, else every CPU the process may use; a bad value is refused by name", () => {
    expect(defaultThreads({ DEMBED_THREADS: "3" })).toBe(3);
    expect(defaultThreads({})).toBe(availableParallelism());
    expect(defaultThreads({ DEMBED_THREADS: "" })).toBe(availableParallelism());
    for (const bad of ["0", "-1", "two", "1.5"]) expect(() => defaultThreads({ DEMBED_THREADS: bad })).toThrow(`DEMBED_THREADS must be a positive integer, got "${bad}"`);
  });
});
