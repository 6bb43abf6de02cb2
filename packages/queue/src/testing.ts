// Test support, exported as @dembed/queue/testing: Redis servers of a test's own, and whether redis-server exists.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { checkReachable, parseQueueUrl } from "./index.js";
import { freePort } from "./local.js";

export { freePort };

/**
 * Whether these tests can run: they need Debian's redis-server (`.ci/run` installs it). Without it they are skipped
 * with this reason, unless DEMBED_REQUIRE_REDIS=1 (CI), where a missing server fails them instead.
 */
export const redisMissing: string | undefined =
  spawnSync("redis-server", ["--version"], { stdio: "ignore" }).status === 0 || process.env.DEMBED_REQUIRE_REDIS === "1"
    ? undefined
    : "redis-server is not installed (apt-get install redis-server, or run bash .ci/run): the job-queue tests are skipped";
if (redisMissing) process.stderr.write(`${redisMissing}\n`);


/**
 * The Redis that `.ci/run` started for the whole run (DEMBED_TEST_REDIS), on database `db` so suites running at once
 * never share a queue; without it, a redis-server of the suite's own.
 */
export async function sharedRedis(db: number): Promise<{ url: string; dispose: () => Promise<void> }> {
  const base = process.env.DEMBED_TEST_REDIS;
  if (base) {
    const url = `${base.replace(/\/\d*$/, "")}/${db}`;
    await checkReachable(parseQueueUrl(url));
    return { url, dispose: async () => {} };
  }
  return TestRedis.start();
}

/** A redis-server of the test's own on a loopback port, which the test may stop and start again. */
export class TestRedis {
  private process: ChildProcess | undefined;
  private readonly dir = mkdtempSync(join(tmpdir(), "dembed-test-redis-"));
  private constructor(
    readonly port: number,
    readonly password?: string,
  ) {}

  get url(): string {
    return `redis://${this.password ? `:${this.password}@` : ""}127.0.0.1:${this.port}`;
  }

  /** With a password, clients must give it (AUTH): for tests that it never leaks. */
  static async start(password?: string): Promise<TestRedis> {
    const redis = new TestRedis(await freePort(), password);
    await redis.restart();
    return redis;
  }

  async restart(): Promise<void> {
    this.process = spawn("redis-server", ["--port", String(this.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", this.dir, ...(this.password ? ["--requirepass", this.password] : [])], { stdio: "ignore" });
    const deadline = Date.now() + 10_000;
    for (;;) {
      try {
        return await checkReachable(parseQueueUrl(this.url), 500);
      } catch (err) {
        if (Date.now() > deadline) throw err;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  }

  async stop(): Promise<void> {
    const p = this.process;
    if (!p || p.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      p.once("exit", () => resolve());
      p.kill("SIGKILL");
    });
  }

  async dispose(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
