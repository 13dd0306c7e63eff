/**
 * A frame → violation row, end to end on real components: frames decoded by ffmpeg from a real camera clip,
 * the ONNX detector on its worker thread, tracker and red-light rule, evidence in the content-addressed
 * store, BullMQ on the real Redis, the worker's handler, and the real PostgreSQL. Then replays.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Queue, type Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../../core/logger.js';
import { upsertCameraByCode } from '../../../db/repositories/camera.repository.js';
import { addSceneConfigVersion } from '../../../db/repositories/scene-config.repository.js';
import { getViolationById, listViolations } from '../../../db/repositories/violation.repository.js';
import type { JsonObject } from '../../../db/schema.js';
import { createDetector, type Detector } from '../../../detector/detector.js';
import { CameraPipeline } from '../../../pipeline/camera-pipeline.js';
import { recordViolationHandler } from '../../../pipeline/handlers/record-violation.handler.js';
import { Outbox } from '../../../pipeline/outbox.js';
import type { RecordViolationPayload } from '../../../pipeline/payloads.js';
import { Producer } from '../../../pipeline/producer.js';
import { JobName, QueueName } from '../../../pipeline/queues.js';
import { startWorkers } from '../../../pipeline/worker-host.js';
import { EvidenceStore } from '../../../violations/evidence-store.js';
import { parseSceneConfig } from '../../../violations/scene-config.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';

const run = promisify(execFile);
const SHARED = path.resolve(process.env['SHARED_DIR'] ?? '../shared');
const CLIP = path.join(SHARED, 'data', 'video', 'car-detection.mp4');
const clipPresent = await fs
  .stat(CLIP)
  .then(() => true)
  .catch(() => false);
if (!clipPresent) console.warn(`[frame-to-violation] skipped: ${CLIP} is absent (set SHARED_DIR)`);

const REDIS_URL = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const log = createLogger({ level: 'silent' });
const W = 640;
const H = 360;
const FPS = 2;

/** The clip at FPS frames per second, scaled to W×H, as raw RGB frames. */
async function decodeClip(): Promise<Buffer[]> {
  const { stdout } = await run(
    'ffmpeg',
    [
      '-v',
      'error',
      '-i',
      CLIP,
      '-vf',
      `fps=${FPS},scale=${W}:${H}`,
      '-f',
      'rawvideo',
      '-pix_fmt',
      'rgb24',
      'pipe:1',
    ],
    { encoding: 'buffer', maxBuffer: 512 * 1024 * 1024 },
  );
  const size = W * H * 3;
  const frames: Buffer[] = [];
  for (let o = 0; o + size <= stdout.length; o += size) frames.push(stdout.subarray(o, o + size));
  return frames;
}

describe.skipIf(!clipPresent)('frame to violation row', () => {
  let tdb: TestDatabase;
  let redis: Redis;
  let workerRedis: Redis;
  let detector: Detector;
  let evidenceDir: string;
  let store: EvidenceStore;
  let workers: Worker[] = [];
  let producer: Producer;
  const prefix = `pn-test-e2e-${process.pid}-${Date.now()}`;
  let cameraId: number;
  const sent: RecordViolationPayload[] = [];

  beforeAll(async () => {
    tdb = await createTestDatabase();
    redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
    workerRedis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
    evidenceDir = await fs.mkdtemp(path.join(os.tmpdir(), 'pn-e2e-evidence-'));
    store = new EvidenceStore(evidenceDir);
    detector = await createDetector({ modelName: 'nanodet-coco', scoreThreshold: 0.2, log });
    producer = new Producer(redis, prefix);
    workers = startWorkers({
      connection: workerRedis,
      prefix,
      log,
      concurrency: 2,
      handlers: [
        { name: JobName.RecordViolation, handle: recordViolationHandler({ db: tdb.db, store, log }) },
      ],
    });
    const camera = await upsertCameraByCode(tdb.db, {
      code: 'TN-201',
      name: 'E2E camera',
      rtspUrl: 'rtsp://127.0.0.1/x',
    });
    cameraId = camera.id;
  });

  afterAll(async () => {
    await Promise.all(workers.map((w) => w.close()));
    await producer?.close();
    await detector?.close();
    await redis?.quit();
    await workerRedis?.quit();
    await tdb?.drop();
    if (evidenceDir) await fs.rm(evidenceDir, { recursive: true, force: true });
  });

  it('records each car that crosses the stop line on red once, with verified evidence', async () => {
    // Looking straight down: left-lane cars drive down the frame, right-lane cars up it. The light is red
    // all the time, and the stop line counts crossings downwards. By inspection of the clip, two cars cross
    // it downwards (at about 16 s and 26 s); the right-lane cars cross it upwards and do not count.
    const sceneJson = parseSceneConfig({
      stopLines: [
        { id: 'SL-1', a: { x: 0.05, y: 0.55 }, b: { x: 0.95, y: 0.55 }, towards: { x: 0.5, y: 0.95 } },
      ],
      signals: { main: { kind: 'fixed-time', greenS: 0.001, amberS: 0.001, redS: 86_400 } },
      minScore: 0.24,
      anchor: 'center',
    });
    const version = await addSceneConfigVersion(tdb.db, {
      cameraId,
      config: sceneJson as unknown as JsonObject,
      createdBy: 'test',
    });
    const outbox = new Outbox<RecordViolationPayload>(async (p) => {
      sent.push(p);
      await producer.recordViolation(p);
    }, log);
    const pipeline = new CameraPipeline({
      camera: { id: cameraId, code: 'TN-201', name: 'E2E camera', location: 'test' },
      scene: sceneJson,
      sceneConfigVersion: version.version,
      detector,
      store,
      outbox,
      log,
      workerId: 'test',
    });

    const frames = await decodeClip();
    expect(frames.length).toBeGreaterThan(50);
    const t0 = Date.UTC(2026, 10, 22, 3, 0, 0);
    for (const [i, data] of frames.entries()) {
      await pipeline.onFrame({ capturedAt: t0 + i * (1000 / FPS), width: W, height: H, data });
    }
    await pipeline.drain();
    expect(pipeline.processed).toBe(frames.length);
    expect(sent.map((p) => Math.round((Date.parse(p.observedAt) - t0) / 1000))).toEqual([16, 26]);

    const queue = new Queue(QueueName.Violations, { connection: redis, prefix });
    await expect
      .poll(async () => (await queue.getJobCounts('completed')).completed, { timeout: 20_000, interval: 200 })
      .toBe(sent.length);
    await queue.close();

    const page = await listViolations(tdb.db, { cameraId });
    expect(page.items).toHaveLength(sent.length);
    const v = await getViolationById(tdb.db, page.items[0]!.id);
    expect(v!.ruleCode).toBe('red_light');
    expect(v!.details['redForMs']).toEqual(expect.any(Number));
    const kinds = v!.evidence.map((e) => e.kind).sort();
    expect(kinds).toEqual(expect.arrayContaining(['manifest', 'still_after', 'still_at', 'still_before']));
    for (const asset of v!.evidence) await expect(store.verify(asset)).resolves.toBeUndefined();
    const manifest = JSON.parse(
      (await store.read(v!.evidence.find((e) => e.kind === 'manifest')!.storageUri)).toString(),
    );
    expect(manifest.models[0]).toMatchObject({ name: 'nanodet-coco' });
    expect(manifest.sceneConfigVersion).toBe(version.version);
  });

  it('creates nothing new when the same jobs are replayed, even under new job ids', async () => {
    const before = (await listViolations(tdb.db, { cameraId, limit: 500 })).items.length;
    const handle = recordViolationHandler({ db: tdb.db, store, log });
    for (const p of sent) {
      const again = await handle(p);
      expect(again.created).toBe(false);
    }
    // And through the queue, bypassing the deterministic job id.
    const queue = new Queue(QueueName.Violations, { connection: redis, prefix });
    for (const [i, p] of sent.entries())
      await queue.add(JobName.RecordViolation, p, { jobId: `replay-${i}` });
    await expect
      .poll(async () => (await queue.getJobCounts('completed')).completed, { timeout: 20_000, interval: 200 })
      .toBe(sent.length * 2);
    await queue.close();
    expect((await listViolations(tdb.db, { cameraId, limit: 500 })).items.length).toBe(before);
  });

  it('refuses, without retrying, a job whose evidence file was altered', async () => {
    const p = sent[0]!;
    const still = p.evidence.find((e) => e.kind === 'still_at')!;
    const file = store.resolve(still.storageUri);
    const bytes = await fs.readFile(file);
    bytes[bytes.length - 10] = bytes[bytes.length - 10]! ^ 0xff;
    await fs.writeFile(file, bytes);
    const handle = recordViolationHandler({ db: tdb.db, store, log });
    await expect(handle({ ...p, trackKey: `${p.trackKey}-tampered` })).rejects.toThrow(/does not match/);
    const page = await listViolations(tdb.db, { cameraId, limit: 500 });
    expect(page.items.some((v) => v.trackKey.endsWith('-tampered'))).toBe(false);
  });
});
