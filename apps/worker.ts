/**
 * Worker role: takes jobs from the BullMQ queues and records violations in PostgreSQL; runs the fine
 * cases' deadline sweep.
 */
import { openDatabase } from '../db/database.js';
import { createCaseService } from '../fines/case.service.js';
import { startDeadlineSweeper } from '../fines/deadline-sweeper.js';
import { recordViolationHandler } from '../pipeline/handlers/record-violation.handler.js';
import { JobName } from '../pipeline/queues.js';
import { assertNoEviction, createRedis, waitForRedis } from '../pipeline/redis.js';
import { startWorkers } from '../pipeline/worker-host.js';
import { EvidenceStore } from '../violations/evidence-store.js';
import { boot, run } from './boot.js';

run('worker', async () => {
  const { config, log, lifecycle } = boot('worker');
  const database = await openDatabase(config, log);
  lifecycle.onClose('database', () => database.close());
  const redis = createRedis(config.REDIS_URL, 'worker');
  await waitForRedis(redis, 30_000);
  await assertNoEviction(redis);
  lifecycle.onClose('redis', () => void redis.disconnect());
  const store = new EvidenceStore(config.evidenceDir);
  const workers = startWorkers({
    connection: redis,
    prefix: config.QUEUE_PREFIX,
    log,
    concurrency: config.WORKER_CONCURRENCY,
    lockMs: config.WORKER_LOCK_MS,
    handlers: [
      { name: JobName.RecordViolation, handle: recordViolationHandler({ db: database.db, store, log }) },
    ],
  });
  lifecycle.onClose('workers', async () => {
    await Promise.all(workers.map((w) => w.close()));
  });
  // Fine cases: escalations, overdue payments and the limitation, on a timer (no queue payload involved).
  const cases = createCaseService(database.db);
  const sweeper = startDeadlineSweeper({ run: () => cases.runDeadlines('system:worker'), log });
  lifecycle.onClose('case deadline sweep', () => sweeper.stop());
  log.info({ queues: workers.map((w) => w.name) }, 'worker ready');
});
