import type { RedisOptions } from "bullmq";
import { Redis } from "ioredis";
import { redactUrlPasswords } from "@dembed/files";

/** A parsed `--queue` address: what ioredis needs, and a form safe to print. */
export interface QueueAddress {
  readonly host: string;
  readonly port: number;
  readonly db: number;
  readonly username?: string;
  readonly password?: string;
  readonly tls: boolean;
  /** The URL with any password replaced by ***: the only form that reaches logs and records. */
  readonly display: string;
}

export class QueueUrlError extends Error {}

const EXPECTED = "expected redis://[user:password@]host:port[/db] or rediss://… (TLS)";

/** Parses `redis://[user:password@]host[:port][/db]`; the password is kept out of every message. */
export function parseQueueUrl(url: string): QueueAddress {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new QueueUrlError(`--queue ${redactUrl(url)}: not a URL; ${EXPECTED}`);
  }
  const display = redactUrl(url);
  if (parsed.protocol !== "redis:" && parsed.protocol !== "rediss:") {
    throw new QueueUrlError(`--queue ${display}: scheme "${parsed.protocol.replace(/:$/, "")}" is not redis; ${EXPECTED}`);
  }
  if (!parsed.hostname) throw new QueueUrlError(`--queue ${display}: no host; ${EXPECTED}`);
  const port = parsed.port === "" ? 6379 : Number(parsed.port);
  const dbText = parsed.pathname.replace(/^\//, "");
  if (!/^\d*$/.test(dbText) || Number(dbText) > 15) throw new QueueUrlError(`--queue ${display}: database "${dbText}" must be a number 0–15; ${EXPECTED}`);
  if (parsed.search || parsed.hash) throw new QueueUrlError(`--queue ${display}: query strings and fragments are not understood; ${EXPECTED}`);
  return {
    host: parsed.hostname.replace(/^\[|\]$/g, ""),
    port,
    db: dbText === "" ? 0 : Number(dbText),
    ...(parsed.username ? { username: decodeURIComponent(parsed.username) } : {}),
    ...(parsed.password ? { password: decodeURIComponent(parsed.password) } : {}),
    tls: parsed.protocol === "rediss:",
    display,
  };
}

/** Replaces the password of every URL in `text` with ***. */
export const redactUrl = redactUrlPasswords;

/**
 * ioredis options for BullMQ: reconnect forever with a capped delay (a restarted Redis is picked up again) and no
 * per-command retry limit, which BullMQ's blocking connections require.
 */
export function redisOptions(address: QueueAddress): RedisOptions {
  return {
    host: address.host,
    port: address.port,
    db: address.db,
    ...(address.username ? { username: address.username } : {}),
    ...(address.password ? { password: address.password } : {}),
    ...(address.tls ? { tls: {} } : {}),
    maxRetriesPerRequest: null,
    retryStrategy: (times: number) => Math.min(200 * times, 2000),
  };
}

/**
 * One connection attempt with a deadline, before any BullMQ object exists: a wrong address fails here in a few seconds
 * with one line, instead of BullMQ reconnecting forever.
 */
export async function checkReachable(address: QueueAddress, timeoutMs = 3000): Promise<void> {
  const client = new Redis({ ...redisOptions(address), lazyConnect: true, connectTimeout: timeoutMs, retryStrategy: () => null, maxRetriesPerRequest: 0 });
  // The socket's own error (ECONNREFUSED, ENOTFOUND, WRONGPASS …) says more than the "Connection is closed" that follows.
  let socketError: Error | undefined;
  client.on("error", (err: Error) => (socketError ??= err));
  try {
    await withDeadline(client.connect().then(() => client.ping()), timeoutMs + 500);
  } catch (err) {
    const message = socketError?.message || (err as Error).message || String(err);
    throw new QueueUrlError(`cannot reach Redis at ${address.display}: ${redactUrl(message)} (start redis-server there, or pass another --queue)`);
  } finally {
    client.disconnect();
  }
}

async function withDeadline<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms)));
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
