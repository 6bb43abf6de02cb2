import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { embedTexts, readShardIds, textHash } from "@dembed/benchmarks";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { checkReachable, parseQueueUrl, QueueCoordinator, ShardsFailedError } from "../src/index.js";
import { testEncoder, type TestEncoderSpec } from "./fixtures/test-encoder.js";
import { freePort, redisMissing, sharedRedis, TestRedis } from "../src/testing.js";

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, "../../..");
const BATCH = 4;

/** Texts with repeats (embedded once) and a spread of lengths. */
const corpus = (n: number, tag = "") => Array.from({ length: n }, (_, i) => `${tag}document ${i % (n - 3)} about topic ${i % 7} ${"word ".repeat(i % 11)}`);

function startWorker(url: string, extraEnv: Record<string, string> = {}): ChildProcess & { lines: string[] } {
  const child = spawn(process.execPath, ["--import", "tsx", join(here, "fixtures/worker.ts")], {
    cwd: repoRoot,
    env: { ...process.env, DEMBED_QUEUE: url, ...extraEnv },
    stdio: ["ignore", "pipe", "pipe"],
  }) as ChildProcess & { lines: string[] };
  child.lines = [];
  child.stderr!.on("data", (d: Buffer) => child.lines.push(...d.toString().split("\n").filter(Boolean)));
  return child;
}

async function waitFor(what: string, check: () => boolean, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const kill = (child: ChildProcess, signal: NodeJS.Signals = "SIGTERM") =>
  child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise<void>((r) => (child.once("exit", () => r()), child.kill(signal)));

/** Rows per id across every shard file of every key folder under `cacheDir`. */
function rowsPerId(cacheDir: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const key of readdirSync(cacheDir)) {
    for (const file of readdirSync(join(cacheDir, key)).filter((f) => f.endsWith(".arrow"))) {
      for (const id of readShardIds(join(cacheDir, key, file)) ?? []) counts.set(id, (counts.get(id) ?? 0) + 1);
    }
  }
  return counts;
}

/** Texts each worker encoded, from the test encoder's log: "<pid> <text>" lines. */
function encodedLog(file: string): string[] {
  try {
    return readFileSync(file, "utf8").split("\n").filter(Boolean);
  } catch {
    return [];
  }
}

describe.skipIf(redisMissing !== undefined)("sharded embedding on BullMQ", () => {
  let redis: { url: string; dispose: () => Promise<void> };
  let work: string;
  const workers: ChildProcess[] = [];

  beforeAll(async () => {
    redis = await sharedRedis(1);
  });
  afterAll(async () => {
    await redis?.dispose();
  });
  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => kill(w, "SIGKILL")));
    rmSync(work, { recursive: true, force: true });
  });
  const fresh = () => (work = mkdtempSync(join(tmpdir(), "dembed-queue-test-")));

  async function singleProcess(texts: string[], dim: number): Promise<Float32Array[]> {
    return (await embedTexts(testEncoder({ dim }), texts, { role: "document", batchSize: BATCH, cacheDir: join(work, "single") })).vectors;
  }

  async function coordinator(spec: TestEncoderSpec, extra: Partial<Parameters<typeof QueueCoordinator.connect>[0]> = {}) {
    const lines: string[] = [];
    const c = await QueueCoordinator.connect({ address: parseQueueUrl(redis.url), encoderSpec: { ...spec }, pollMs: 50, log: (l) => lines.push(l), ...extra });
    return Object.assign(c, { lines });
  }

  /** The coordinator side never encodes: its encoder only names the cache key. */
  const keyOnly = (dim: number) => ({ ...testEncoder({ dim }), encode: () => Promise.reject(new Error("the coordinator must not encode")) });

  it("two workers give the single-process vectors byte for byte, each text embedded once", async () => {
    fresh();
    const spec: TestEncoderSpec = { dim: 64, delayMs: 2, logFile: join(work, "encoded.log") };
    const texts = corpus(150);
    const pair = [startWorker(redis.url), startWorker(redis.url)];
    workers.push(...pair);
    await waitFor("both workers to connect", () => pair.every((w) => w.lines.some((l) => l.includes("waiting for shards"))));
    const c = await coordinator(spec);
    try {
      const cacheDir = join(work, "queued");
      const queued = await embedTexts(keyOnly(64), texts, { role: "document", batchSize: BATCH, cacheDir, sharded: c });
      const single = await singleProcess(texts, 64);
      expect(queued.vectors.map((v) => Buffer.from(v.buffer).toString("hex"))).toEqual(single.map((v) => Buffer.from(v.buffer).toString("hex")));
      const unique = new Set(texts);
      expect(queued.encoded).toBe(unique.size);
      const log = encodedLog(spec.logFile!);
      expect(log.length).toBe(unique.size);
      expect(new Set(log.map((l) => l.split(" ")[0])).size).toBe(2); // both workers took shards
      expect([...rowsPerId(cacheDir).values()].every((n) => n === 1)).toBe(true);
      expect(c.workerLine()).toMatch(/texts\/s/);
      // A second run finds every shard in the cache and enqueues nothing.
      const again = await embedTexts(keyOnly(64), texts, { role: "document", batchSize: BATCH, cacheDir, sharded: c });
      expect(again.cached).toBe(unique.size);
      expect(encodedLog(spec.logFile!).length).toBe(unique.size);
      // A narrower storage travels in the job's key: the workers write int8 shards, read back as one process rounds them.
      const int8 = await embedTexts(keyOnly(64), texts, { role: "document", batchSize: BATCH, cacheDir, sharded: c, storage: "int8" });
      const singleInt8 = await embedTexts(testEncoder({ dim: 64 }), texts, { role: "document", batchSize: BATCH, storage: "int8" });
      expect(int8.vectors.map((v) => Buffer.from(v.buffer).toString("hex"))).toEqual(singleInt8.vectors.map((v) => Buffer.from(v.buffer).toString("hex")));
      expect(int8.encoded).toBe(unique.size);
    } finally {
      await c.close();
    }
  });

  it("a worker killed -9 mid-shard: its shard goes to the other worker, no row lost or doubled", async () => {
    fresh();
    const spec: TestEncoderSpec = { dim: 32, delayMs: 40, logFile: join(work, "encoded.log") };
    const texts = corpus(64);
    const victim = startWorker(redis.url);
    workers.push(victim);
    const c = await coordinator(spec);
    try {
      const cacheDir = join(work, "queued");
      const run = embedTexts(keyOnly(32), texts, { role: "document", batchSize: BATCH, cacheDir, sharded: c });
      // The victim has embedded part of its first shard (one batch logged) but not written it.
      await waitFor("the victim to start a shard", () => encodedLog(spec.logFile!).length >= BATCH);
      await kill(victim, "SIGKILL");
      workers.push(startWorker(redis.url));
      const queued = await run;
      const single = await singleProcess(texts, 32);
      expect(queued.vectors.map((v) => Buffer.from(v.buffer).toString("hex"))).toEqual(single.map((v) => Buffer.from(v.buffer).toString("hex")));
      const rows = rowsPerId(cacheDir);
      expect(rows.size).toBe(new Set(texts).size);
      expect([...rows.values()].every((n) => n === 1)).toBe(true);
    } finally {
      await c.close();
    }
  });

  it("a coordinator killed and started again recomputes no shard", async () => {
    fresh();
    const spec: TestEncoderSpec = { dim: 16, delayMs: 15, logFile: join(work, "encoded.log") };
    const texts = corpus(96, "restart ");
    const textsFile = join(work, "texts.json");
    writeFileSync(textsFile, JSON.stringify(texts));
    const cacheDir = join(work, "queued");
    workers.push(startWorker(redis.url), startWorker(redis.url));
    const runCoordinator = () =>
      spawn(process.execPath, ["--import", "tsx", join(here, "fixtures/coordinator.ts"), textsFile, cacheDir, JSON.stringify(spec)], {
        cwd: repoRoot,
        env: { ...process.env, DEMBED_QUEUE: redis.url },
        stdio: ["ignore", "pipe", "pipe"],
      });
    const first = runCoordinator();
    await waitFor("some shards to be done", () => encodedLog(spec.logFile!).length >= 24);
    await kill(first, "SIGKILL");
    const second = runCoordinator();
    let out = "";
    second.stdout!.on("data", (d: Buffer) => (out += d.toString()));
    let err = "";
    second.stderr!.on("data", (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((r) => second.once("exit", r));
    expect(code, err).toBe(0);
    expect(out).toContain("done");
    const log = encodedLog(spec.logFile!).map((l) => l.slice(l.indexOf(" ") + 1));
    expect(log.length).toBe(new Set(texts).size);
    expect(new Set(log).size).toBe(log.length);
  });

  it("a poisoned shard fails after its tries, naming the input, and the run reports it", async () => {
    fresh();
    const spec: TestEncoderSpec = { dim: 8, poison: "POISON" };
    const texts = [...corpus(40, "p "), "an ordinary text with POISON inside it"];
    workers.push(startWorker(redis.url));
    const c = await coordinator(spec, { attempts: 2 });
    try {
      const started = Date.now();
      const run = embedTexts(keyOnly(8), texts, { role: "document", batchSize: BATCH, cacheDir: join(work, "queued"), sharded: c });
      await expect(run).rejects.toThrow(ShardsFailedError);
      await expect(run).rejects.toThrow(/input "an ordinary text with POISON inside it" .*fails: the model cannot take this input/);
      await expect(run).rejects.toThrow(/failed after 2 tries/);
      expect(Date.now() - started).toBeLessThan(60_000);
      // Everything outside the failed shard was embedded and kept.
      const failedShardTexts = Number(/\((\d+) of the \d+ texts\)/.exec(String(await run.catch((e: Error) => e.message)))?.[1]);
      expect(failedShardTexts).toBeGreaterThan(0);
      expect(rowsPerId(join(work, "queued")).size).toBe(new Set(texts).size - failedShardTexts);
    } finally {
      await c.close();
    }
  });

  it("Redis restarted mid-run (its queue lost): workers and coordinator reconnect and the run completes", async () => {
    fresh();
    const own = await TestRedis.start();
    const spec: TestEncoderSpec = { dim: 16, delayMs: 10, logFile: join(work, "encoded.log") };
    const texts = corpus(120, "r ");
    workers.push(startWorker(own.url), startWorker(own.url));
    const lines: string[] = [];
    const c = await QueueCoordinator.connect({ address: parseQueueUrl(own.url), encoderSpec: { ...spec }, pollMs: 50, log: (l) => lines.push(l) });
    try {
      const run = embedTexts(keyOnly(16), texts, { role: "document", batchSize: BATCH, cacheDir: join(work, "queued"), sharded: c });
      await waitFor("a third of the texts", () => encodedLog(spec.logFile!).length >= 40);
      await own.stop();
      await new Promise((r) => setTimeout(r, 1500));
      await own.restart();
      const queued = await run;
      const single = await singleProcess(texts, 16);
      expect(queued.vectors.map((v) => Buffer.from(v.buffer).toString("hex"))).toEqual(single.map((v) => Buffer.from(v.buffer).toString("hex")));
      expect(lines.join("\n")).toMatch(/reconnect/);
    } finally {
      await c.close();
      await own.dispose();
    }
  });
});

describe("queue addresses", () => {
  it("refuses a malformed --queue in one line, without the password", () => {
    expect(() => parseQueueUrl("http://localhost:6379")).toThrow(/scheme "http" is not redis/);
    expect(() => parseQueueUrl("redis://:s3cret@localhost:6379/x")).toThrow(/database "x"/);
    expect(() => parseQueueUrl("redis://:s3cret@localhost:6379/x")).not.toThrow(/s3cret/);
    expect(() => parseQueueUrl("not a url")).toThrow(/not a URL/);
    const address = parseQueueUrl("redis://user:s3cret@127.0.0.1:6390/2");
    expect(address).toMatchObject({ host: "127.0.0.1", port: 6390, db: 2, username: "user", password: "s3cret" });
    expect(address.display).toBe("redis://user:***@127.0.0.1:6390/2");
  });

  it("an unreachable Redis is one clear line within seconds", async () => {
    const port = await freePort();
    const started = Date.now();
    await expect(checkReachable(parseQueueUrl(`redis://:pw@127.0.0.1:${port}`))).rejects.toThrow(/cannot reach Redis at redis:\/\/:\*\*\*@127\.0\.0\.1:\d+: .*ECONNREFUSED/);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it("a server that accepts but never answers is not a hang", async () => {
    const silent: Server = createServer(() => {});
    await new Promise<void>((r) => silent.listen(0, "127.0.0.1", () => r()));
    const port = (silent.address() as { port: number }).port;
    try {
      const started = Date.now();
      await expect(checkReachable(parseQueueUrl(`redis://127.0.0.1:${port}`), 1000)).rejects.toThrow(/cannot reach Redis/);
      expect(Date.now() - started).toBeLessThan(4000);
    } finally {
      silent.close();
    }
  });
});
