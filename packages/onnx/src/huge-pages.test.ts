import { describe, expect, it } from "vitest";
import { withHugePages } from "./huge-pages.js";

describe("withHugePages", () => {
  it("adds glibc.malloc.hugetlb=1 and one malloc arena only where the kernel waits for the advice, keeping other tunables", () => {
    expect(withHugePages({}, "madvise").GLIBC_TUNABLES).toBe("glibc.malloc.hugetlb=1:glibc.malloc.arena_max=1");
    expect(withHugePages({ GLIBC_TUNABLES: "glibc.malloc.arena_max=2" }, "madvise").GLIBC_TUNABLES).toBe("glibc.malloc.arena_max=2:glibc.malloc.hugetlb=1");
    expect(withHugePages({ GLIBC_TUNABLES: "glibc.malloc.tcache_count=0" }, "madvise").GLIBC_TUNABLES).toBe("glibc.malloc.tcache_count=0:glibc.malloc.hugetlb=1:glibc.malloc.arena_max=1");
    for (const mode of ["always", "never", "(no such file)"]) expect(withHugePages({}, mode).GLIBC_TUNABLES).toBeUndefined();
  });

  it("leaves a user's own setting and DEMBED_HUGE_PAGES=0 alone; DEMBED_HUGE_PAGES=1 forces it", () => {
    expect(withHugePages({ GLIBC_TUNABLES: "glibc.malloc.hugetlb=0" }, "madvise").GLIBC_TUNABLES).toBe("glibc.malloc.hugetlb=0");
    expect(withHugePages({ DEMBED_HUGE_PAGES: "0" }, "madvise").GLIBC_TUNABLES).toBeUndefined();
    expect(withHugePages({ DEMBED_HUGE_PAGES: "1" }, "never").GLIBC_TUNABLES).toBe("glibc.malloc.hugetlb=1:glibc.malloc.arena_max=1");
  });
});
