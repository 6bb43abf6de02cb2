import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { pidAlive } from "@dembed/files";
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
  /** An encoder spec the workers load at once (DEMBED_WORKER_PRELOAD), before their first shard arrives. */
  preload?: Record<string, unknown>;
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
      env: { ...process.env, DEMBED_QUEUE: options.url, DEMBED_THREADS: String(options.threadsEach), DEMBED_PARENT_PID: String(process.pid), ...(options.preload ? { DEMBED_WORKER_PRELOAD: JSON.stringify(options.preload) } : {}) },
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

/**
 * For a local worker: calls `onGone` once the process that started it has died (killed with SIGKILL, it could not stop
 * its workers), so no worker outlives its run.
 */
export function watchParent(pid: number, onGone: () => void): void {
  const timer = setInterval(() => {
    if (!pidAlive(pid)) {
      clearInterval(timer);
      onGone();
    }
  }, 2000);
  timer.unref();
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
  removeDeadRunsRedis();
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), `dembed-redis-${process.pid}-`));
  const server = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir, "--pidfile", join(dir, "redis.pid")], { stdio: "ignore" });
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

/** Private Redis servers whose run was killed before it could stop them: stopped, and their folders removed. */
function removeDeadRunsRedis(): void {
  for (const name of readdirSync(tmpdir())) {
    const owner = /^dembed-redis-(\d+)-/.exec(name)?.[1];
    if (owner === undefined || pidAlive(Number(owner))) continue;
    const dir = join(tmpdir(), name);
    try {
      const pid = Number(readFileSync(join(dir, "redis.pid"), "utf8").trim());
      // Only a redis-server: the pid may have been reused since.
      if (pid > 0 && readFileSync(`/proc/${pid}/cmdline`, "utf8").startsWith("redis-server")) process.kill(pid, "SIGTERM");
    } catch {
      // No pid file, or the server is gone already.
    }
    rmSync(dir, { recursive: true, force: true });
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
