// --session-cache, shared by embed, bench, eval and worker (no package imports, so `worker --help` stays light).
import type { Command } from "commander";

/**
 * --session-cache: sets DEMBED_SESSION_CACHE=1 before the command runs, for this process and the workers it starts, so
 * every Embedder it opens keeps ORT's optimized graph and pre-packed weights under $DEMBED_CACHE/sessions.
 */
export function addSessionCacheOption(command: Command): Command {
  return command
    .option(
      "--session-cache",
      "keep ONNX Runtime's optimized graph and pre-packed weights in $DEMBED_CACHE/sessions, so later runs of this model start faster (this one is slower, and the entry takes about the weights' size again on disk; CPU only; also DEMBED_SESSION_CACHE=1)",
    )
    .hook("preAction", (_program, action) => {
      if (action.opts().sessionCache === true) process.env.DEMBED_SESSION_CACHE = "1";
    });
}
