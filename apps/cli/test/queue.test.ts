import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { redisMissing, TestRedis } from "@dembed/queue/testing";

const repoRoot = fileURLToPath(new URL("../../..", import.meta.url));
/** The CLI's sources through tsx (the build is tested in built-cli.test.ts); `--workers` re-runs the same command line. */
const cli = ["--import", "tsx", join(repoRoot, "apps/cli/src/main.ts")];

/** The real CLI in its own process: `--workers` starts more of them, which an in-process run cannot. */
function dembed(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stderr: string; ms: number }> {
  const started = Date.now();
  const child = spawn(process.execPath, [...cli, ...args], { cwd: repoRoot, env: { ...process.env, ...env }, stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.once("exit", (code) => resolve({ code, stderr, ms: Date.now() - started })));
}

/** Every file under `dir`, relative path → content, with the fields that differ run to run removed. */
function results(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const path = join(d, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (!name.startsWith("reproducibility")) {
        const text = readFileSync(path, "utf8");
        // Clock readings differ run to run, and where a queued run's time goes (no model stage here) differs too.
        const drop = (key: string, value: unknown) => (["evaluation_time", "created_at", "stage_seconds"].includes(key) ? undefined : value);
        out.set(
          path.slice(dir.length),
          name.endsWith(".json") ? JSON.stringify(JSON.parse(text, drop)) : text.replace(/^(Created|Command).*$/gm, "").replace(/## Stage times[\s\S]*?(?=\n## |$)/, ""),
        );
      }
    }
  };
  walk(dir);
  return out;
}

describe.skipIf(redisMissing !== undefined)("dembed embed|bench --queue/--workers, dembed worker", () => {
  let redis: TestRedis;
  let work: string;
  beforeAll(async () => {
    redis = await TestRedis.start("s3cret-pw");
    work = mkdtempSync(join(tmpdir(), "dembed-cli-queue-"));
  });
  afterAll(async () => {
    await redis?.dispose();
    rmSync(work, { recursive: true, force: true });
  });

  it("embed --workers 2 writes the single-process file byte for byte; the password appears nowhere", async () => {
    const input = join(work, "in.jsonl");
    writeFileSync(input, Array.from({ length: 40 }, (_, i) => JSON.stringify({ id: i, text: `text ${i} ${"about things ".repeat(i % 9)}`, ...(i % 5 === 0 ? { instruction: "Find it" } : {}) })).join("\n"));
    const single = await dembed(["embed", "--model", "tiny", "--input", input, "--out", join(work, "single.jsonl"), "--no-progress"]);
    expect(single.code, single.stderr).toBe(0);
    const queued = await dembed(["embed", "--model", "tiny", "--input", input, "--out", join(work, "queued.jsonl"), "--no-progress", "--workers", "2", "--cache", join(work, "cache")], { DEMBED_QUEUE: redis.url });
    expect(queued.code, queued.stderr).toBe(0);
    expect(readFileSync(join(work, "queued.jsonl")).equals(readFileSync(join(work, "single.jsonl")))).toBe(true);
    expect(queued.stderr).toMatch(/shards done/);
    expect(queued.stderr).not.toContain("s3cret-pw");
  });

  it("bench --queue with 2 workers scores exactly as the single-process run, and records no password", async () => {
    const args = ["bench", "longembed", "--model", "tiny", "--lengths", "256", "--queries-per-length", "6", "--docs-per-length", "12"];
    const single = await dembed([...args, "--out", join(work, "b-single"), "--cache", join(work, "c-single")]);
    expect(single.code, single.stderr).toBe(0);
    const queued = await dembed([...args, "--out", join(work, "b-queued"), "--cache", join(work, "c-queued"), "--queue", redis.url, "--workers", "2"]);
    expect(queued.code, queued.stderr).toBe(0);
    const [a, b] = [results(join(work, "b-single")), results(join(work, "b-queued"))];
    expect([...b.keys()].sort()).toEqual([...a.keys()].sort());
    for (const [file, text] of a) expect(b.get(file), file).toBe(text);
    const recorded = [...results(join(work, "b-queued")).values()].join("\n") + readFileSync(join(work, "b-queued/longembed/report.md"), "utf8");
    expect(recorded).toContain("redis://:***@127.0.0.1");
    expect(recorded + queued.stderr).not.toContain("s3cret-pw");
  });

  it("a run killed with SIGKILL leaves nothing behind: its workers stop, the next run stops its private Redis", async () => {
    const input = join(work, "long.jsonl");
    writeFileSync(input, Array.from({ length: 3000 }, (_, i) => JSON.stringify(`text ${i} ${"more words ".repeat(i % 50)}`)).join("\n"));
    const child = spawn(process.execPath, [...cli, "embed", "--model", "tiny", "--input", input, "--out", join(work, "killed.jsonl"), "--no-progress", "--workers", "2", "--cache", join(work, "c-killed")], { cwd: repoRoot, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const deadline = Date.now() + 60_000;
    while (!/shards to embed/.test(stderr) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(stderr).toMatch(/shards to embed/);
    const children = spawnSync("pgrep", ["-P", String(child.pid)]).stdout.toString().trim().split("\n").map(Number);
    const redisDir = readdirSync(tmpdir()).find((n) => n.startsWith(`dembed-redis-${child.pid}-`));
    expect(children.length).toBe(3); // two workers and the private redis-server
    expect(redisDir).toBeDefined();
    child.kill("SIGKILL");
    const alive = (pid: number) => spawnSync("kill", ["-0", String(pid)]).status === 0;
    const workers = children.filter((pid) => !readFileSync(`/proc/${pid}/cmdline`, "utf8").startsWith("redis-server"));
    const stopBy = Date.now() + 15_000;
    while (workers.some(alive) && Date.now() < stopBy) await new Promise((r) => setTimeout(r, 200));
    expect(workers.filter(alive)).toEqual([]);
    // The next run with a private Redis cleans up the dead run's.
    const next = await dembed(["embed", "--model", "tiny", "--input", join(work, "in.jsonl"), "--out", join(work, "next.jsonl"), "--no-progress", "--workers", "1", "--cache", join(work, "c-next")]);
    expect(next.code, next.stderr).toBe(0);
    expect(readdirSync(tmpdir())).not.toContain(redisDir);
    expect(children.filter(alive)).toEqual([]);
  });

  it("a bad or unreachable --queue is one line within seconds", async () => {
    const bad = await dembed(["worker", "--queue", "http://127.0.0.1:1"]);
    expect(bad.code).toBe(1);
    expect(bad.stderr.trim().split("\n")).toEqual([expect.stringMatching(/^dembed: --queue http:\/\/127\.0\.0\.1:1: scheme "http" is not redis/)]);
    const closed = await dembed(["worker", "--queue", "redis://:pw@127.0.0.1:1"]);
    expect(closed.code).toBe(1);
    expect(closed.stderr.trim().split("\n")).toEqual([expect.stringMatching(/^dembed: cannot reach Redis at redis:\/\/:\*\*\*@127\.0\.0\.1:1: .*ECONNREFUSED/)]);
    const wrongPassword = await dembed(["embed", "--model", "tiny", "--input", join(work, "in.jsonl"), "--out", join(work, "x.jsonl"), "--queue", redis.url.replace("s3cret-pw", "nope")]);
    expect(wrongPassword.code).toBe(1);
    expect(wrongPassword.stderr).toMatch(/cannot reach Redis at redis:\/\/:\*\*\*@.*(WRONGPASS|invalid)/i);
    expect(wrongPassword.ms).toBeLessThan(30_000);
  });
});
