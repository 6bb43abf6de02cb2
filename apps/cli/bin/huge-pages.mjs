// ONNX Runtime pre-packs every constant weight into fresh heap memory when it creates a session, and on a Linux whose
// transparent huge pages are "madvise" (Debian's and Ubuntu's default) glibc hands that memory out in 4 KiB pages:
// session creation is then mostly page faults (see the @dembed/onnx README, "Session creation"). glibc's tunable
// glibc.malloc.hugetlb=1 makes malloc ask for huge pages, but glibc reads tunables only when a process starts, so
// commands that load a model run themselves once more with it set. DEMBED_HUGE_PAGES=0 turns this off, =1 forces it.
// glibc.malloc.arena_max=1 comes with it (unless the user set an arena_max): with the per-thread arenas glibc makes
// otherwise, ORT in a worker thread ran slower than with no tunable at all (measured in the same README).
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";

const TUNABLE = "glibc.malloc.hugetlb=1";
const ONE_ARENA = "glibc.malloc.arena_max=1";
const THP_SETTING = "/sys/kernel/mm/transparent_hugepage/enabled";
/** Commands that open ONNX Runtime sessions; the rest start faster without a second process. */
const MODEL_COMMANDS = new Set(["forward", "embed", "export", "train", "bench", "eval", "worker"]);

/** The environment to relaunch with, or undefined when this process should just go on. */
export function hugePagesEnv(argv, env, platform = process.platform, thp = readThp) {
  const choice = env.DEMBED_HUGE_PAGES ?? "auto";
  if (choice === "0" || platform !== "linux" || !MODEL_COMMANDS.has(argv[0])) return undefined;
  const tunables = env.GLIBC_TUNABLES ?? "";
  if (/(^|:)glibc\.malloc\.hugetlb=/.test(tunables)) return undefined; // set already (by us, or chosen by the user)
  if (choice !== "1" && thp() !== "madvise") return undefined; // "always" needs no advice, "never" ignores it
  const added = /(^|:)glibc\.malloc\.arena_max=/.test(tunables) ? TUNABLE : `${TUNABLE}:${ONE_ARENA}`;
  return { ...env, GLIBC_TUNABLES: tunables ? `${tunables}:${added}` : added };
}

function readThp() {
  try {
    return /\[(\w+)\]/.exec(readFileSync(THP_SETTING, "utf8"))?.[1];
  } catch {
    return undefined;
  }
}

/**
 * Runs this script again as a child with `env`, forwarding termination signals, and ends this process the way the
 * child ended (its exit code, or the same signal). Never returns.
 */
export function relaunch(env) {
  const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], { env, stdio: "inherit" });
  // A terminal's Ctrl-C reaches the whole process group, the child included; a kill aimed at this pid must be passed on.
  const forward = (signal) => child.kill(signal);
  const signals = ["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT"];
  for (const signal of signals) process.on(signal, forward);
  child.on("error", (error) => {
    process.stderr.write(`dembed: cannot start ${process.execPath}: ${error.message}\n`);
    process.exit(1);
  });
  child.on("exit", (code, signal) => {
    for (const s of signals) process.off(s, forward);
    if (signal) process.kill(process.pid, signal);
    else process.exit(code ?? 1);
  });
  return new Promise(() => {});
}
