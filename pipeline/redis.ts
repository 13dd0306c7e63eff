import { Redis, type RedisOptions } from 'ioredis';
import { AppError } from '../core/errors.js';

/**
 * Producers (the API, ingest) fail fast when Redis is down so a caller gets an error instead of a hang;
 * workers wait and reconnect forever (BullMQ requires maxRetriesPerRequest: null for them).
 */
export function createRedis(url: string, role: 'producer' | 'worker', extra: RedisOptions = {}): Redis {
  const common: RedisOptions = {
    lazyConnect: false,
    retryStrategy: (times) => Math.min(200 * 2 ** Math.min(times, 6), 10_000),
    ...extra,
  };
  if (role === 'worker') return new Redis(url, { ...common, maxRetriesPerRequest: null });
  return new Redis(url, {
    ...common,
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    connectTimeout: 3000,
  });
}

/** Resolves once the client is ready, or rejects after timeoutMs. */
export async function waitForRedis(redis: Redis, timeoutMs = 5000): Promise<void> {
  if (redis.status === 'ready') return;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`Redis did not answer within ${timeoutMs} ms`));
    }, timeoutMs);
    const onReady = () => {
      cleanup();
      resolve();
    };
    const cleanup = () => {
      clearTimeout(timer);
      redis.off('ready', onReady);
    };
    redis.on('ready', onReady);
  });
}

/** The `maxmemory_policy` line of `INFO memory`, or undefined. */
export function parseEvictionPolicy(info: string): string | undefined {
  return /^maxmemory_policy:(\S+)\s*$/m.exec(info)?.[1];
}

/**
 * BullMQ keeps jobs as Redis keys: an eviction policy would silently drop queued violations under memory
 * pressure. Workers refuse to start unless Redis says `noeviction`.
 */
export async function assertNoEviction(redis: Redis): Promise<void> {
  const policy = parseEvictionPolicy(await redis.info('memory'));
  if (policy !== 'noeviction') {
    throw new AppError(
      'config_invalid',
      `Redis maxmemory-policy is ${policy ?? 'unknown'}; queues need noeviction (redis-server --maxmemory-policy noeviction)`,
      { permanent: true },
    );
  }
}
