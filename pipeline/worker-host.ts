import { UnrecoverableError, Worker, type Job, type WorkerOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { AppError, errorMessage, isAppError } from '../core/errors.js';
import { jobsProcessed } from '../core/metrics.js';
import { JOB_SCHEMAS, type JobPayloads } from './payloads.js';
import type { QueueName } from './queues.js';
import { JOB_QUEUE, JobName } from './queues.js';

export type JobHandler<N extends JobName> = (payload: JobPayloads[N], job: Job) => Promise<unknown>;
export type HandlerEntry = { [N in JobName]: { name: N; handle: JobHandler<N> } }[JobName];

/** Checks that every job name has exactly one handler; throws naming the missing or doubled ones. */
export function checkHandlers(entries: readonly HandlerEntry[]): void {
  const counts = new Map<string, number>();
  for (const e of entries) counts.set(e.name, (counts.get(e.name) ?? 0) + 1);
  const missing = Object.values(JobName).filter((n) => !counts.has(n));
  const doubled = [...counts].filter(([, c]) => c > 1).map(([n]) => n);
  const unknown = [...counts.keys()].filter((n) => !(Object.values(JobName) as string[]).includes(n));
  if (missing.length || doubled.length || unknown.length) {
    throw new AppError(
      'config_invalid',
      `job handlers: missing [${missing.join(', ')}], doubled [${doubled.join(', ')}], unknown [${unknown.join(', ')}]`,
      { permanent: true },
    );
  }
}

/**
 * Starts one BullMQ worker per queue, dispatching by job name. Payloads are validated first; handlers
 * rethrow; permanent failures become UnrecoverableError so BullMQ does not retry them.
 */
export function startWorkers(opts: {
  connection: Redis;
  prefix: string;
  handlers: readonly HandlerEntry[];
  log: Logger;
  concurrency?: number;
  /** How long a job stays locked to its worker without renewal; a dead worker's jobs return after it. */
  lockMs?: number;
}): Worker[] {
  checkHandlers(opts.handlers);
  const byName = new Map(opts.handlers.map((h) => [h.name as string, h]));
  const queues = new Set(Object.values(JOB_QUEUE));
  return [...queues].map((queue: QueueName) => {
    const options: WorkerOptions = {
      connection: opts.connection,
      prefix: opts.prefix,
      concurrency: opts.concurrency ?? 4,
      autorun: true,
      ...(opts.lockMs
        ? { lockDuration: opts.lockMs, stalledInterval: Math.max(500, Math.floor(opts.lockMs / 2)) }
        : {}),
      // A job seen stalled this many times fails for inspection instead of looping forever.
      maxStalledCount: 5,
    };
    const worker = new Worker(
      queue,
      async (job: Job) => {
        const entry = byName.get(job.name);
        const log = opts.log.child({ queue, job: job.name, jobId: job.id });
        if (!entry) throw new UnrecoverableError(`no handler for job ${job.name}`);
        const schema = JOB_SCHEMAS[entry.name];
        const parsed = schema.safeParse(job.data);
        if (!parsed.success) {
          jobsProcessed.inc({ queue, status: 'invalid' });
          throw new UnrecoverableError(
            `invalid payload: ${parsed.error.issues.map((i) => i.path.join('.')).join(', ')}`,
          );
        }
        try {
          const result = await (entry.handle as JobHandler<JobName>)(parsed.data, job);
          jobsProcessed.inc({ queue, status: 'completed' });
          return result;
        } catch (err) {
          jobsProcessed.inc({ queue, status: 'failed' });
          log.warn({ err: errorMessage(err), attempt: job.attemptsMade + 1 }, 'job failed');
          if (isAppError(err) && err.permanent) throw new UnrecoverableError(err.message);
          throw err;
        }
      },
      options,
    );
    worker.on('error', (err) => opts.log.error({ queue, err: errorMessage(err) }, 'worker error'));
    return worker;
  });
}
