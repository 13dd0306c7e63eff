/**
 * Fault test with real processes: the worker role is killed with SIGKILL twenty times while violations
 * flow (PN_KILL_ROUNDS raises it for `npm run soak`). Every flagged violation must end up recorded exactly
 * once: none lost, none doubled, one audit entry each.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { upsertCameraByCode } from '../../../db/repositories/camera.repository.js';
import { addSceneConfigVersion } from '../../../db/repositories/scene-config.repository.js';
import { Producer } from '../../../pipeline/producer.js';
import { QueueName } from '../../../pipeline/queues.js';
import { EvidenceStore } from '../../../violations/evidence-store.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { storedViolationPayload } from '../helpers/violation-payload.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const REDIS_URL = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const ROUNDS = Number(process.env['PN_KILL_ROUNDS'] ?? 20);
const JOBS_PER_ROUND = 15;

let tdb: TestDatabase;
let redis: Redis;
let producer: Producer;
let store: EvidenceStore;
let evidenceDir: string;
let cameraId: number;
const prefix = `pn-test-kill-${process.pid}-${Date.now()}`;
const children = new Set<ChildProcess>();

beforeAll(async () => {
  tdb = await createTestDatabase();
  redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  producer = new Producer(redis, prefix);
  evidenceDir = await fs.mkdtemp(path.join(os.tmpdir(), 'pn-kill-evidence-'));
  store = new EvidenceStore(evidenceDir);
  const camera = await upsertCameraByCode(tdb.db, {
    code: 'TN-301',
    name: 'Kill test',
    rtspUrl: 'rtsp://127.0.0.1/k',
  });
  cameraId = camera.id;
  await addSceneConfigVersion(tdb.db, { cameraId, config: {}, createdBy: 'test' });
});

afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  const q = new Queue(QueueName.Violations, { connection: redis, prefix });
  await q.obliterate({ force: true }).catch(() => undefined);
  await q.close();
  await producer?.close();
  await redis?.quit();
  await tdb?.drop();
  if (evidenceDir) await fs.rm(evidenceDir, { recursive: true, force: true });
});

const payload = (n: number) =>
  storedViolationPayload(store, { cameraId, trackKey: `kill-${n}`, n, stillBytes: 64 * 1024 });

/** Starts the worker role as its own process; resolves once it takes jobs. */
function startWorker(): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'apps', 'worker.ts')], {
    cwd: ROOT,
    env: {
      ...process.env,
      DATABASE_URL: tdb.url,
      DATABASE_POOL_MAX: '4',
      REDIS_URL,
      QUEUE_PREFIX: prefix,
      EVIDENCE_DIR: evidenceDir,
      WORKER_LOCK_MS: '1500',
      WORKER_CONCURRENCY: '4',
      LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('"worker ready"')) resolve(child);
    });
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    child.once('exit', (code) =>
      reject(new Error(`worker exited (${code}) before it was ready: ${out.slice(-500)}`)),
    );
  });
}

function kill(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

describe('worker killed with SIGKILL mid-job', () => {
  it(`loses and doubles nothing over ${ROUNDS} kills`, async () => {
    let n = 0;
    for (let round = 0; round < ROUNDS; round++) {
      for (let i = 0; i < JOBS_PER_ROUND; i++) await producer.recordViolation(await payload(n++));
      const worker = await startWorker();
      // Let it take jobs, then kill it at a random moment of its work.
      await new Promise((r) => setTimeout(r, 50 + Math.random() * 250));
      await kill(worker);
      children.delete(worker);
    }
    // A last worker drains what the killed ones left (stalled jobs come back after the lock expires).
    const last = await startWorker();
    const queue = new Queue(QueueName.Violations, { connection: redis, prefix });
    await expect
      .poll(async () => (await queue.getJobCounts('completed')).completed, { timeout: 60_000, interval: 250 })
      .toBe(n);
    const counts = await queue.getJobCounts('failed', 'waiting', 'active', 'delayed');
    await queue.close();
    await kill(last);
    expect(counts).toEqual({ failed: 0, waiting: 0, active: 0, delayed: 0 });

    const rows = await sql<{ n: number; distinct_keys: number }>`
      select count(*)::int as n, count(distinct track_key)::int as distinct_keys
      from violation where camera_id = ${cameraId}`.execute(tdb.db);
    expect(rows.rows[0]).toEqual({ n, distinct_keys: n });
    const audits = await sql<{ n: number }>`
      select count(*)::int as n from audit_log where action = 'violation.flagged'`.execute(tdb.db);
    expect(audits.rows[0]!.n).toBe(n);
    const assets = await sql<{ n: number }>`select count(*)::int as n from evidence_asset`.execute(tdb.db);
    expect(assets.rows[0]!.n).toBe(2 * n);
  }, 240_000);
});
