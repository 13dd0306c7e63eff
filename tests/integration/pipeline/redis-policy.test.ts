import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { assertNoEviction } from '../../../pipeline/redis.js';

const redis = new Redis(process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: 1 });
afterAll(async () => {
  await redis.quit();
});

describe('workers and Redis eviction', () => {
  it('start against a Redis that never evicts', async () => {
    await expect(assertNoEviction(redis)).resolves.toBeUndefined();
  });

  it('refuse a Redis that may evict queued jobs', async () => {
    const [, before] = (await redis.config('GET', 'maxmemory-policy')) as [string, string];
    await redis.config('SET', 'maxmemory-policy', 'allkeys-lru');
    try {
      await expect(assertNoEviction(redis)).rejects.toThrow(
        /maxmemory-policy is allkeys-lru; queues need noeviction/,
      );
    } finally {
      await redis.config('SET', 'maxmemory-policy', before);
    }
  });
});
