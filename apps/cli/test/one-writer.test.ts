// One writer per output, through the real commands: a run holding the output (another process) makes the second
// run fail with one line naming it and leaves the output untouched; once the holder is dead its lock is taken
// over and said. Leftovers of killed runs are removed by the next run.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Command } from "commander";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { register as bench } from "../src/commands/bench.js";
import { register as embed } from "../src/commands/embed.js";
import { register as train } from "../src/commands/train.js";

const REPO = resolve(import.meta.dirname, "../../..");
const FIXTURES = join(REPO, "benchmarks/fixtures");
let root: string;
const saved = { cache: process.env.DEMBED_CACHE, hub: process.env.HF_HUB_CACHE };
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), "dembed-one-writer-"));
  process.env.DEMBED_CACHE = join(root, "cache");
  process.env.HF_HUB_CACHE = join(root, "no-hub");
});
afterAll(() => {
  rmSync(root, { recursive: true, force: true });
  process.env.DEMBED_CACHE = saved.cache;
  process.env.HF_HUB_CACHE = saved.hub;
});

async function dembed(...args: string[]): Promise<string> {
  const program = new Command("dembed").exitOverride().configureOutput({ writeErr: () => undefined });
  for (const register of [embed, train, bench]) register(program);
  let said = "";
  const err = vi.spyOn(process.stderr, "write").mockImplementation((chunk: string | Uint8Array) => ((said += String(chunk)), true));
  const out = vi.spyOn(process.stdout, "write").mockImplementation(() => true);
  try {
    await program.parseAsync(["node", "dembed", ...args]);
  } finally {
    err.mockRestore();
    out.mockRestore();
  }
  return said;
}

/** Another process that holds the lock of `output` until killed, as a second run of dembed would. */
async function holder(output: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, ["--import", "tsx", "-e", `import { lockOutput } from "@dembed/files"; await lockOutput(${JSON.stringify(output)}, { command: "the first run" }); console.log("locked"); setInterval(() => {}, 1000);`], {
    cwd: join(REPO, "benchmarks"),
    stdio: ["ignore", "pipe", "inherit"],
  });
  await new Promise<void>((ok, fail) => {
    child.stdout!.on("data", (d: Buffer) => d.toString().includes("locked") && ok());
    child.once("exit", (code) => fail(new Error(`lock holder exited with ${code}`)));
  });
  return child;
}

async function killed(child: ChildProcess): Promise<void> {
  const gone = new Promise((ok) => child.once("exit", ok));
  child.kill("SIGKILL");
  await gone;
}

const deadPid = () => Number(spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"]).stdout.toString());

describe("one writer per output", () => {
  it("embed --out", async () => {
    const input = join(root, "texts.jsonl");
    writeFileSync(input, '"first"\n"second"\n');
    const out = join(root, "emb.jsonl");
    writeFileSync(out, "earlier output\n");
    const first = await holder(out);
    await expect(dembed("embed", "--model", "tiny", "--input", input, "--out", out, "--no-progress")).rejects.toThrow(
      new RegExp(`emb\\.jsonl is being written by another run \\(pid ${first.pid}, started .*: the first run\\)`),
    );
    expect(readFileSync(out, "utf8")).toBe("earlier output\n");
    await killed(first);
    const said = await dembed("embed", "--model", "tiny", "--input", input, "--out", out, "--no-progress");
    expect(said).toMatch(new RegExp(`took over the lock of a run that is gone \\(pid ${first.pid}`));
    expect(readFileSync(out, "utf8").trim().split("\n")).toHaveLength(2);
    expect(existsSync(`${out}.lock`)).toBe(false);
  });

  it("train --output, and a killed final save leaves nothing behind", async () => {
    const config = JSON.parse(readFileSync(join(REPO, "configs/train/tiny.json"), "utf8")) as Record<string, unknown> & { data: Record<string, unknown> };
    const configFile = join(root, "tiny.json");
    writeFileSync(configFile, JSON.stringify({ ...config, steps: 4, save_steps: 2, optim: { ...(config.optim as object), warmup_steps: 1 }, data: { ...config.data, path: join(REPO, "datasets/fixtures/e5") } }));
    const output = join(root, "run");
    const first = await holder(output);
    await expect(dembed("train", "--config", configFile, "--output", output, "--no-progress")).rejects.toThrow(/run is being written by another run/);
    await killed(first);
    // What a SIGKILL during the final adapter save leaves: the writer's hidden temp file.
    mkdirSync(output, { recursive: true });
    const leftover = `.adapter_model.safetensors.${deadPid()}.1a2b3c4d.tmp`;
    writeFileSync(join(output, leftover), "half an adapter");
    const said = await dembed("train", "--config", configFile, "--output", output, "--no-progress");
    expect(said).toMatch(/took over the lock/);
    expect(said).toMatch(/embed with it: {4}\.\/dembed embed --model tiny:Dream --adapter .*run --input texts\.jsonl/);
    expect(readdirSync(output).filter((f) => f.endsWith(".tmp"))).toEqual([]);
    expect(existsSync(join(output, "adapter_model.safetensors"))).toBe(true);
  });

  it("bench --out: a fresh run replaces the earlier one whole", async () => {
    const out = join(root, "results");
    mkdirSync(join(out, "followir", "old-system"), { recursive: true });
    writeFileSync(join(out, "followir", "old-system", "stale.trec"), "from an earlier run\n");
    const first = await holder(join(out, "followir"));
    await expect(dembed("bench", "followir", "--model", "bm25", "--data", FIXTURES, "--out", out, "--no-cache")).rejects.toThrow(/followir is being written by another run/);
    await killed(first);
    await dembed("bench", "followir", "--model", "bm25", "--data", FIXTURES, "--out", out, "--no-cache");
    expect(existsSync(join(out, "followir", "old-system"))).toBe(false);
    expect(existsSync(join(out, "followir", "report.md"))).toBe(true);
    expect(readdirSync(out).sort()).toEqual(["followir"]);
  });

  it("a killed tiny-model generation leaves nothing behind after the next run", async () => {
    const tinyRoot = join(root, "cache", "tiny");
    const half = join(tinyRoot, `Dream.tmp-${deadPid()}`);
    mkdirSync(half, { recursive: true });
    writeFileSync(join(half, "model.safetensors"), "half a model");
    const input = join(root, "one.jsonl");
    writeFileSync(input, '"hello"\n');
    await dembed("embed", "--model", "tiny:qwen2", "--input", input, "--out", join(root, "q.jsonl"), "--no-progress");
    expect(readdirSync(tinyRoot).filter((f) => f.includes(".tmp")).length).toBe(0);
  });
});
