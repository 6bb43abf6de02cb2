export { checkReachable, parseQueueUrl, QueueUrlError, redactUrl, redisOptions, type QueueAddress } from "./connection.js";
export { QueueCoordinator, ShardsFailedError, type CoordinatorOptions } from "./coordinator.js";
export { startEmbedWorker, type EmbedWorker, type EmbedWorkerOptions } from "./worker.js";
export { startLocalWorkers, startPrivateRedis, watchParent, type LocalWorkerOptions, type LocalWorkers } from "./local.js";
export { planShards, shardName, QUEUE_NAME, ShardJobData, type ShardJobResult, type ShardPlan, type ShardSizing } from "./shards.js";
