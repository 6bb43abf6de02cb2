import { existsSync } from "node:fs";
import { availableParallelism } from "node:os";
import { resolve } from "node:path";
import { InvalidArgumentError, type Command } from "commander";
import type { EncoderSpec } from "./bench.js";

/** The flags that send embedding work to a job queue (embed, bench and eval share them). */
export interface QueueFlags {
  queue?: string;
  workers?: number;
  shardTexts?: number;
  tries?: number;
}

const positive = (value: string) => {
  if (!/^\d+$/.test(value) || Number(value) === 0) throw new InvalidArgumentError("expected a positive integer");
  return Number(value);
};

export function addQueueOptions(cmd: Command): Command {
  return cmd
    .option("--queue <url>", "embed on workers through a BullMQ queue on this Redis: redis://[user:password@]host:port[/db] (or set DEMBED_QUEUE, which keeps a password out of `ps`)")
    .option("--workers <n>", "start n local `dembed worker` processes for the run (with no --queue or DEMBED_QUEUE, on a private redis-server)", positive)
    .option("--shard-texts <n>", "texts per queued shard at most (default 256)", positive)
    .option("--tries <n>", "tries per shard before the run reports it failed (default 3)", positive);
}

/** A queue for one command run: coordinators per model, and the local workers and Redis it started, if any. */
export interface QueueRun {
  /** A ShardRunner for one model's settings. */
  coordinatorFor(spec: EncoderSpec): Promise<import("@dembed/queue").QueueCoordinator>;
  close(): Promise<void>;
}

/**
 * Paths in a spec made absolute: workers run elsewhere (another cwd, another machine with the same mounts), and the
 * cache key they check names the model as given.
 */
export function portableSpec(spec: EncoderSpec): EncoderSpec {
  const out = { ...spec };
  if (existsSync(spec.model)) out.model = resolve(spec.model);
  if (spec.adapter !== undefined) out.adapter = resolve(spec.adapter);
  return out;
}

/** undefined when neither --queue, DEMBED_QUEUE nor --workers asks for the queue. */
export async function openQueueRun(flags: QueueFlags, log: (line: string) => void, preload?: EncoderSpec): Promise<QueueRun | undefined> {
  const url = flags.queue ?? process.env.DEMBED_QUEUE;
  if (url === undefined && flags.workers === undefined) {
    if (flags.shardTexts !== undefined || flags.tries !== undefined) throw new Error("--shard-texts and --tries apply to queued runs: add --queue <url> or --workers <n>");
    return undefined;
  }
  const queue = await import("@dembed/queue");
  const cleanup: Array<() => Promise<void>> = [];
  try {
    let address = url === undefined ? undefined : queue.parseQueueUrl(url);
    if (address) await queue.checkReachable(address);
    else {
      const redis = await queue.startPrivateRedis();
      cleanup.push(redis.stop);
      address = queue.parseQueueUrl(redis.url);
      log(`queue: started a private redis-server at ${address.display} for this run`);
    }
    let local: import("@dembed/queue").LocalWorkers | undefined;
    if (flags.workers !== undefined) {
      const threadsEach = Math.max(1, Math.floor(availableParallelism() / flags.workers));
      // The same program as this one (tsx in development, the built CLI otherwise), running `worker`.
      const command = [process.execPath, ...process.execArgv, process.argv[1]!, "worker"];
      local = queue.startLocalWorkers(flags.workers, {
        command,
        url: url ?? `redis://${address.host}:${address.port}/${address.db}`,
        threadsEach,
        log,
        ...(preload ? { preload: { ...preload } } : {}),
      });
      cleanup.push(local.stop);
      log(`queue: started ${flags.workers} local workers (${threadsEach} ORT thread${threadsEach === 1 ? "" : "s"} each)`);
    }
    const coordinators: Array<import("@dembed/queue").QueueCoordinator> = [];
    const resolvedAddress = address;
    return {
      async coordinatorFor(spec) {
        const coordinator = await queue.QueueCoordinator.connect({
          address: resolvedAddress,
          encoderSpec: { ...spec },
          ...(flags.tries ? { attempts: flags.tries } : {}),
          ...(flags.shardTexts ? { shardTexts: flags.shardTexts } : {}),
          ...(local ? { problem: local.problem } : {}),
          log,
        });
        coordinators.push(coordinator);
        return coordinator;
      },
      async close() {
        for (const c of coordinators.splice(0)) await c.close();
        for (const step of cleanup.reverse()) await step();
      },
    };
  } catch (err) {
    for (const step of cleanup.reverse()) await step();
    throw err;
  }
}
