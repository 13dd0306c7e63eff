import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { recordViolationJobId, type JobPayloads } from './payloads.js';
import type { QueueName } from './queues.js';
import { DEFAULT_JOB_OPTIONS, JOB_QUEUE, JobName } from './queues.js';

/** Typed producers over one BullMQ Queue per queue name. */
export class Producer {
  private readonly queues = new Map<QueueName, Queue>();

  constructor(
    private readonly connection: Redis,
    private readonly prefix: string,
  ) {}

  queue(name: QueueName): Queue {
    let q = this.queues.get(name);
    if (!q) {
      q = new Queue(name, {
        connection: this.connection,
        prefix: this.prefix,
        defaultJobOptions: DEFAULT_JOB_OPTIONS,
      });
      this.queues.set(name, q);
    }
    return q;
  }

  async recordViolation(payload: JobPayloads[JobName.RecordViolation]): Promise<string> {
    const job = await this.queue(JOB_QUEUE[JobName.RecordViolation]).add(JobName.RecordViolation, payload, {
      jobId: recordViolationJobId(payload),
    });
    return job.id!;
  }

  async close(): Promise<void> {
    await Promise.all([...this.queues.values()].map((q) => q.close()));
  }
}
