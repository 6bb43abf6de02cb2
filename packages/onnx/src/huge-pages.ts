// Session creation is mostly ORT pre-packing weights into fresh heap memory, and on Linux with transparent huge pages
// set to "madvise" (Debian's and Ubuntu's default) that memory arrives in 4 KiB pages, one fault each. glibc's
// tunable glibc.malloc.hugetlb=1 makes malloc advise huge pages; glibc reads it only at process start, so it is set
// in the environment of processes about to be started (README, "Session creation: where the time goes").
// glibc.malloc.arena_max=1 comes with it unless the environment sets an arena_max: with glibc's per-thread arenas,
// ORT in a worker thread ran slower with the advice than without it (same README).
import { readFileSync } from "node:fs";

export const HUGE_PAGES_TUNABLE = "glibc.malloc.hugetlb=1";
const ONE_ARENA = "glibc.malloc.arena_max=1";

/** The kernel's transparent-huge-page mode ("always", "madvise", "never"), or undefined off Linux. */
export function transparentHugePages(): string | undefined {
  try {
    return /\[(\w+)\]/.exec(readFileSync("/sys/kernel/mm/transparent_hugepage/enabled", "utf8"))?.[1];
  } catch {
    return undefined;
  }
}

/**
 * `env` for a child process that will open sessions: GLIBC_TUNABLES gains glibc.malloc.hugetlb=1 (and arena_max=1,
 * unless it sets one), except when it sets hugetlb already, DEMBED_HUGE_PAGES is "0", or the kernel's mode makes the
 * advice moot ("always", "never", not Linux).
 */
export function withHugePages(env: NodeJS.ProcessEnv, mode: string | undefined = transparentHugePages()): NodeJS.ProcessEnv {
  const choice = env.DEMBED_HUGE_PAGES ?? "auto";
  const tunables = env.GLIBC_TUNABLES ?? "";
  if (choice === "0" || /(^|:)glibc\.malloc\.hugetlb=/.test(tunables)) return env;
  if (choice !== "1" && mode !== "madvise") return env;
  const added = /(^|:)glibc\.malloc\.arena_max=/.test(tunables) ? HUGE_PAGES_TUNABLE : `${HUGE_PAGES_TUNABLE}:${ONE_ARENA}`;
  return { ...env, GLIBC_TUNABLES: tunables ? `${tunables}:${added}` : added };
}
