import { InvalidArgumentError } from "commander";
import type { EncoderSpec } from "./bench.js";
import type { RegisterCommand } from "./index.js";
import { addSessionCacheOption } from "./session-cache-option.js";

interface WorkerFlags {
  queue?: string;
  device?: string;
  concurrency: number;
  threads?: number;
  lockSeconds: number;
}

const positive = (value: string) => {
  if (!/^\d+$/.test(value) || Number(value) === 0) throw new InvalidArgumentError("expected a positive integer");
  return Number(value);
};

const device = (value: string) => {
  if (!/^(cpu|cuda(:\d+)?)$/.test(value)) throw new InvalidArgumentError("expected cpu, cuda or cuda:<index>");
  return value;
};

/** `dembed worker`: pulls shard jobs from the queue, embeds them with the job's model, writes them into the cache. */
export const register: RegisterCommand = (program) => {
  addSessionCacheOption(program.command("worker"))
    .description("Embed queued shards for `embed|bench|eval --queue` coordinators, on this machine; runs until stopped (SIGTERM finishes the shard in hand).")
    .option("--queue <url>", "the Redis holding the queue, redis://[user:password@]host:port[/db] (default: $DEMBED_QUEUE)")
    .option("--device <device>", "cpu, cuda or cuda:<index> (one worker per GPU; default: what each job asks for)", device)
    .option("--concurrency <n>", "shards processed at once", positive, 1)
    .option("--threads <n>", "ORT intra-op threads (default: every CPU; $DEMBED_THREADS)", positive)
    .option("--lock-seconds <n>", "a shard whose worker stops answering for this long goes to another worker", positive, 30)
    .action(async (flags: WorkerFlags) => {
      const url = flags.queue ?? process.env.DEMBED_QUEUE;
      if (url === undefined) throw new Error("worker: give --queue redis://host:port (or set DEMBED_QUEUE)");
      if (flags.threads !== undefined) process.env.DEMBED_THREADS = String(flags.threads);
      // cuda:N is this process's only visible GPU, the usual way to pin one worker per device.
      if (flags.device?.startsWith("cuda:")) process.env.CUDA_VISIBLE_DEVICES = flags.device.slice(5);
      const queue = await import("@dembed/queue");
      const { makeEncoder } = await import("./bench.js");
      const address = queue.parseQueueUrl(url);
      await queue.checkReachable(address);
      const log = (line: string) => process.stderr.write(`${line}\n`);
      const preload = process.env.DEMBED_WORKER_PRELOAD;
      const worker = queue.startEmbedWorker({
        address,
        ...(preload ? { preload: JSON.parse(preload) as Record<string, unknown> } : {}),
        concurrency: flags.concurrency,
        lockMs: flags.lockSeconds * 1000,
        log,
        makeEncoder: async (spec) => {
          const settings = spec as unknown as EncoderSpec;
          return makeEncoder(flags.device === undefined ? settings : { ...settings, device: flags.device === "cpu" ? "cpu" : "cuda" }, log);
        },
      });
      await new Promise<void>((resolve) => {
        const parent = Number(process.env.DEMBED_PARENT_PID);
        if (parent > 0) {
          queue.watchParent(parent, () => {
            log(`worker ${worker.name}: the run that started it (pid ${parent}) is gone; stopping`);
            resolve();
          });
        }
        for (const signal of ["SIGTERM", "SIGINT"] as const) {
          process.once(signal, () => {
            log(`worker ${worker.name}: ${signal}, finishing the shard in hand`);
            resolve();
          });
        }
      });
      await worker.close();
    });
};
