import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { checkReachable, parseQueueUrl } from "./connection.js";

export interface LocalWorkerOptions {
  /** The command that starts one worker, e.g. [node, ...execArgv, cli, "worker"]. */
  command: readonly string[];
  /** The queue URL, handed over in the environment (DEMBED_QUEUE) so no password shows in `ps`. */
  url: string;
  /** ORT threads per worker (DEMBED_THREADS), so N workers share the cores instead of each taking all. */
  threadsEach: number;
  log: (line: string) => void;
}

export interface LocalWorkers {
  readonly pids: readonly number[];
  /** A message when every worker has exited (the run cannot progress), else undefined. */
  problem(): string | undefined;
  stop(): Promise<void>;
}

/** `--workers N`: N worker processes on this machine, their lines forwarded to `log`. */
export function startLocalWorkers(count: number, options: LocalWorkerOptions): LocalWorkers {
  const [program, ...args] = options.command;
  const exits: string[] = [];
  const children: ChildProcess[] = [];
  for (let i = 0; i < count; i++) {
    const child = spawn(program!, args, {
      env: { ...process.env, DEMBED_QUEUE: options.url, DEMBED_THREADS: String(options.threadsEach) },
      stdio: ["ignore", "pipe", "pipe"],
    });
    for (const stream of [child.stdout!, child.stderr!]) createInterface({ input: stream }).on("line", (line) => options.log(`  ${line}`));
    child.on("exit", (code, signal) => exits.push(`worker ${child.pid} exited (${signal ?? `code ${code}`})`));
    children.push(child);
  }
  return {
    pids: children.map((c) => c.pid ?? -1),
    problem: () => (exits.length === count ? `every local worker has exited: ${exits.join("; ")}` : undefined),
    async stop() {
      await Promise.all(children.map((c) => stopChild(c, 30_000)));
    },
  };
}

/** SIGTERM (a worker finishes its shard), then SIGKILL after `graceMs`. */
function stopChild(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill("SIGTERM");
  });
}

/**
 * A Redis of this run's own, for `--workers N` without `--queue`: Debian's redis-server on a free loopback port,
 * no persistence, its folder removed at the end.
 */
export async function startPrivateRedis(): Promise<{ url: string; stop: () => Promise<void> }> {
  if (spawnSync("redis-server", ["--version"], { stdio: "ignore" }).status !== 0) {
    throw new Error("--workers without --queue starts a private Redis, but redis-server is not installed (apt-get install redis-server), or pass --queue redis://host:port");
  }
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "dembed-redis-"));
  const server = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir], { stdio: "ignore" });
  const url = `redis://127.0.0.1:${port}`;
  const stop = async () => {
    await stopChild(server, 5000);
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      await checkReachable(parseQueueUrl(url), 500);
      return { url, stop };
    } catch (err) {
      if (Date.now() > deadline || server.exitCode !== null) {
        await stop();
        throw new Error(`the private redis-server on port ${port} did not start: ${(err as Error).message}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** A TCP port on loopback that nothing listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
  });
}
