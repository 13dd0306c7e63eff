import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { QueueName } from './queues.js';

/** How far the record workers are behind: jobs per state on the violations queue. */
export interface QueueStats {
  waiting: number;
  active: number;
  delayed: number;
  failed: number;
}

/** Reads the violations queue's counts (one Queue object per connection, created on first use). */
export function violationQueueStats(redis: Redis, prefix: string): () => Promise<QueueStats> {
  let queue: Queue | undefined;
  return async () => {
    queue ??= new Queue(QueueName.Violations, { connection: redis, prefix });
    const c = await queue.getJobCounts('waiting', 'active', 'delayed', 'failed');
    return {
      waiting: c['waiting'] ?? 0,
      active: c['active'] ?? 0,
      delayed: c['delayed'] ?? 0,
      failed: c['failed'] ?? 0,
    };
  };
}
