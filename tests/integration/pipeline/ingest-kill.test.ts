/**
 * The ingest role killed with SIGKILL between a flag and its job, with real processes: apps/ingest.ts
 * reads a simulated RTSP camera (the shared traffic clip) whose whole picture is a sidewalk for cars, so
 * the first car tracked is flagged. As soon as the act is in the evidence journal (stills stored, the
 * manifest still waiting for the seconds after the act), the process is killed. A second ingest process
 * takes the camera over when the lease runs out, finds the act in the journal and sends it: the job is
 * in the queue with the stills, a signed manifest that says it was recovered and why the clip is missing,
 * and the journal is empty again. Without the journal this act was lost.
 */
import { generateKeyPairSync } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { upsertCameraByCode } from '../../../db/repositories/camera.repository.js';
import { addSceneConfigVersion } from '../../../db/repositories/scene-config.repository.js';
import { recordViolationJobId, type RecordViolationPayload } from '../../../pipeline/payloads.js';
import { QueueName } from '../../../pipeline/queues.js';
import { EvidenceStore } from '../../../violations/evidence-store.js';
import { verifyEvidence } from '../../../violations/evidence-verify.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import {
  startIngestProcess,
  WHOLE_FRAME_CAR_SIDEWALK,
  type IngestProcess,
} from '../helpers/ingest-process.js';
import { missing, simClip, startFleet, stopFleets, until } from '../ingest/sim-env.js';

const REDIS_URL = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';

interface JournalFile {
  trackKey: string;
  ruleCode: string;
  workerId: string;
  payload?: unknown;
}

describe.skipIf(missing)('ingest killed between a flag and its job', () => {
  let tdb: TestDatabase;
  let redis: Redis;
  let queue: Queue;
  let dataDir: string;
  let cameraId: number;
  let extra: Record<string, string>;
  const processes: IngestProcess[] = [];
  const prefix = `pn-test-ingest-kill-${process.pid}-${Date.now()}`;
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');

  const journalDir = () => path.join(dataDir, 'evidence', 'journal', `camera-${cameraId}`);
  const journal = async (): Promise<JournalFile[]> => {
    const names = await fs.readdir(journalDir()).catch(() => [] as string[]);
    const out: JournalFile[] = [];
    for (const n of names.filter((f) => f.endsWith('.json'))) {
      const text = await fs.readFile(path.join(journalDir(), n), 'utf8').catch(() => undefined);
      if (text) out.push(JSON.parse(text) as JournalFile);
    }
    return out;
  };
  const startIngest = (): IngestProcess => {
    const p = startIngestProcess({
      databaseUrl: tdb.url,
      redisUrl: REDIS_URL,
      queuePrefix: prefix,
      dataDir,
      extra,
    });
    processes.push(p);
    return p;
  };
  const withLogs = (err: unknown): never => {
    const all = processes.map((p, i) => `--- ingest ${i + 1} ---\n${p.output()}`).join('\n');
    throw new Error(`${String(err)}\n${all}`);
  };

  beforeAll(async () => {
    tdb = await createTestDatabase();
    redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
    queue = new Queue(QueueName.Violations, { connection: redis, prefix });
    dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'pn-ingest-kill-'));
    const keyFile = path.join(dataDir, 'signing.pem');
    await fs.writeFile(keyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    const fleet = await startFleet({ count: 1, port: 0, clip: await simClip() });
    const camera = await upsertCameraByCode(tdb.db, {
      code: 'KILL-INGEST',
      name: 'Ingest kill',
      rtspUrl: fleet.urls[0]!,
    });
    cameraId = camera.id;
    await addSceneConfigVersion(tdb.db, {
      cameraId,
      config: WHOLE_FRAME_CAR_SIDEWALK,
      createdBy: 'test',
    });
    extra = {
      INGEST_WIDTH: '640',
      INGEST_LEASE_MS: '5000',
      INGEST_RECOVER_AFTER_MS: '1000',
      EVIDENCE_SIGNING_KEY_PATH: keyFile,
    };
  }, 120_000);

  afterAll(async () => {
    for (const p of processes) await p.stop(5_000);
    await stopFleets();
    await queue?.obliterate({ force: true }).catch(() => undefined);
    await queue?.close();
    redis?.disconnect();
    await tdb?.drop();
    if (dataDir) await fs.rm(dataDir, { recursive: true, force: true });
  });

  it('a second ingest finishes the act the killed one had journalled, once', async () => {
    const first = startIngest();
    let act: JournalFile | undefined;
    await until(
      async () => {
        act = (await journal()).find((e) => e.payload === undefined);
        return act !== undefined;
      },
      120_000,
      'an act journalled and not yet sealed',
      25,
    ).catch(withLogs);
    first.child.kill('SIGKILL');
    await first.stop();
    const jobId = recordViolationJobId({ cameraId, trackKey: act!.trackKey, ruleCode: act!.ruleCode });
    // Killed before its job: without the journal the act would be gone.
    expect(await queue.getJob(jobId)).toBeUndefined();

    startIngest();
    await until(
      async () => (await queue.getJob(jobId)) !== undefined,
      90_000,
      'the recovered job',
      250,
    ).catch(withLogs);
    const payload = (await queue.getJob(jobId))!.data as RecordViolationPayload;
    expect(payload.ruleCode).toBe(act!.ruleCode);
    expect(payload.evidence.map((e) => e.kind)).toEqual(
      expect.arrayContaining(['still_before', 'still_at', 'still_after', 'vehicle_crop', 'manifest']),
    );
    const store = new EvidenceStore(path.join(dataDir, 'evidence'));
    const manifestRef = payload.evidence.find((e) => e.kind === 'manifest')!;
    const manifestFile = store.resolve(manifestRef.storageUri);
    const manifest = JSON.parse(await fs.readFile(manifestFile, 'utf8')) as {
      recovery: { fromWorker: string; source: string };
      clip: { status: string; reason: string };
      producedBy: string;
    };
    expect(manifest.recovery).toMatchObject({ fromWorker: act!.workerId, source: 'evidence-journal' });
    expect(manifest.producedBy).not.toBe(act!.workerId);
    expect(manifest.clip).toMatchObject({ status: 'missing', reason: expect.stringContaining('stopped') });
    const check = await verifyEvidence({ manifest: manifestFile, publicKey });
    expect(check.ok, check.problems.join('; ')).toBe(true);
    // Once its job is in Redis the act leaves the journal.
    await until(
      async () =>
        !(await journal()).some((e) => e.trackKey === act!.trackKey && e.ruleCode === act!.ruleCode),
      10_000,
      'the journal entry removed',
      100,
    );
  }, 300_000);
});
