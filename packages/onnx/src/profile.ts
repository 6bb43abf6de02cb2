// Reads the Chrome trace ORT's profiler writes (SessionOptions.profileFilePrefix) into where the time went: kernel
// time per op type and per top-level scope of the node names ("vjp/…" against the forward), largest first.
import { readdir, readFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";

export interface ProfileRow {
  /** An op type ("FusedMatMul") or a node-name scope ("vjp", "layers.3"). */
  readonly key: string;
  readonly ms: number;
  /** Share of all kernel time in the profile. */
  readonly share: number;
  readonly calls: number;
}

export interface ProfileSummary {
  /** Sum of every node's kernel time. */
  readonly kernelMs: number;
  /** Sum of the model_run events: kernel time plus ORT's own work between kernels. */
  readonly runMs: number;
  readonly runs: number;
  readonly byOp: readonly ProfileRow[];
  readonly byScope: readonly ProfileRow[];
}

const CONTROL_FLOW = new Set(["If", "Loop", "Scan"]);

interface TraceEvent {
  cat?: string;
  name?: string;
  dur?: number;
  args?: { op_name?: string };
}

/** Summarizes one profile: the parsed trace (an array of events) or its JSON text. */
export function summarizeProfile(trace: string | readonly unknown[], source = "profile"): ProfileSummary {
  const events = typeof trace === "string" ? parseTrace(trace, source) : trace;
  const byOp = new Map<string, { ms: number; calls: number }>();
  const byScope = new Map<string, { ms: number; calls: number }>();
  let kernelMs = 0;
  let runMs = 0;
  let runs = 0;
  const add = (m: Map<string, { ms: number; calls: number }>, key: string, ms: number) => {
    const row = m.get(key) ?? { ms: 0, calls: 0 };
    row.ms += ms;
    row.calls++;
    m.set(key, row);
  };
  for (const raw of events) {
    const e = raw as TraceEvent;
    if (typeof e?.dur !== "number" || typeof e.name !== "string") continue;
    const ms = e.dur / 1000;
    if (e.cat === "Session" && e.name === "model_run") (runMs += ms), runs++;
    // A control-flow node's time holds its subgraph's nodes, which are profiled themselves: counted once, there.
    if (e.cat !== "Node" || !e.name.endsWith("_kernel_time") || CONTROL_FLOW.has(e.args?.op_name ?? "")) continue;
    const node = e.name.slice(0, -"_kernel_time".length);
    kernelMs += ms;
    add(byOp, e.args?.op_name ?? "?", ms);
    add(byScope, node.includes("/") ? node.slice(0, node.indexOf("/")) : "(top level)", ms);
  }
  const rows = (m: Map<string, { ms: number; calls: number }>) =>
    [...m].map(([key, r]) => ({ key, ms: r.ms, share: kernelMs > 0 ? r.ms / kernelMs : 0, calls: r.calls })).sort((a, b) => b.ms - a.ms);
  return { kernelMs, runMs, runs, byOp: rows(byOp), byScope: rows(byScope) };
}

/** Reads and summarizes the profile a session released with `profileFilePrefix: prefix` wrote (the newest, if several). */
export async function readProfile(prefix: string): Promise<ProfileSummary & { file: string }> {
  const dir = dirname(prefix);
  const stem = `${basename(prefix)}_`;
  const files = (await readdir(dir)).filter((f) => f.startsWith(stem) && f.endsWith(".json")).sort();
  if (files.length === 0) throw new Error(`no ORT profile ${stem}*.json in ${dir}: was the session released?`);
  const file = join(dir, files.at(-1)!);
  return { ...summarizeProfile(await readFile(file, "utf8"), file), file };
}

function parseTrace(text: string, source: string): readonly unknown[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new Error(`${source}: not an ORT profile (invalid JSON: ${(e as Error).message})`);
  }
  if (!Array.isArray(parsed)) throw new Error(`${source}: not an ORT profile (expected a JSON array of trace events)`);
  return parsed;
}
