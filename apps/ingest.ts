/**
 * Ingest role: reads its cameras over RTSP, detects, tracks, judges and stores evidence; hands flagged
 * violations to the queue and publishes each camera's live state.
 */
import os from 'node:os';
import { AppError, errorMessage } from '../core/errors.js';
import { openDatabase } from '../db/database.js';
import { listCamerasWithStreamUrls, type CameraWithStreamUrl } from '../db/repositories/camera.repository.js';
import { latestSceneConfig } from '../db/repositories/scene-config.repository.js';
import { createDetector } from '../detector/detector.js';
import { createPlateReader, type PlateReader } from '../detector/plates/plate-reader.js';
import { SelfHealingDetector } from '../detector/self-healing-detector.js';
import { CameraSupervisor, ingestSettings } from '../ingest/camera-supervisor.js';
import { CameraLeases } from '../pipeline/camera-leases.js';
import { CameraPipeline } from '../pipeline/camera-pipeline.js';
import { publishCameraStatuses, type CameraStatus } from '../pipeline/camera-status.js';
import { Outbox } from '../pipeline/outbox.js';
import type { RecordViolationPayload } from '../pipeline/payloads.js';
import { Producer } from '../pipeline/producer.js';
import { assertNoEviction, createRedis, waitForRedis } from '../pipeline/redis.js';
import { loadEvidenceSigner } from '../violations/evidence-signature.js';
import { EvidenceStore } from '../violations/evidence-store.js';
import { parseSceneConfig, type SceneConfig } from '../violations/scene-config.js';
import { boot, run } from './boot.js';

run('ingest', async () => {
  const { config, log, lifecycle } = boot('ingest');
  const workerId = `${os.hostname()}:${process.pid}`;

  const database = await openDatabase(config, log);
  lifecycle.onClose('database', () => database.close());
  const wanted = config.INGEST_CAMERAS?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);

  type Entry = { camera: CameraWithStreamUrl; scene: SceneConfig; version: number };
  // A camera without a valid scene configuration is still watched and detected on, but no rule applies.
  const noScene = parseSceneConfig({});
  const loadCameras = async (): Promise<Map<string, Entry>> => {
    const cameras = (
      await listCamerasWithStreamUrls(database.db, { enabled: true, ...(wanted ? { codes: wanted } : {}) })
    ).filter((c) => c.rtspUrl);
    const out = new Map<string, Entry>();
    for (const camera of cameras) {
      const latest = await latestSceneConfig(database.db, camera.id);
      let entry: Entry = { camera, scene: noScene, version: 0 };
      if (latest) {
        try {
          entry = { camera, scene: parseSceneConfig(latest.config), version: latest.version };
        } catch (err) {
          log.error(
            { camera: camera.code, version: latest.version, err: errorMessage(err) },
            'invalid scene configuration; rules off for this camera',
          );
        }
      }
      out.set(String(camera.id), entry);
    }
    return out;
  };
  let catalogue = await loadCameras();

  const redis = createRedis(config.REDIS_URL, 'producer');
  await waitForRedis(redis, 30_000);
  await assertNoEviction(redis);
  lifecycle.onClose('redis', () => void redis.disconnect());
  const producer = new Producer(redis, config.QUEUE_PREFIX);
  lifecycle.onClose('producer', () => producer.close());
  const outbox = new Outbox<RecordViolationPayload>(
    (p) => producer.recordViolation(p),
    log.child({ module: 'outbox' }),
  );
  lifecycle.onClose('outbox', () => outbox.stop());

  const detector = await SelfHealingDetector.start(
    () =>
      createDetector({
        modelName: config.DETECTOR_MODEL,
        provider: config.DETECTOR_PROVIDER,
        cudaDevice: config.DETECTOR_CUDA_DEVICE,
        threads: config.DETECTOR_THREADS,
        scoreThreshold: config.DETECTOR_SCORE_THRESHOLD,
        // Each camera has at most one frame in flight (newest wins upstream), so this never rejects.
        maxQueue: Math.max(2, config.INGEST_CAPACITY),
        log: log.child({ module: 'detector' }),
      }),
    log.child({ module: 'detector' }),
  );
  lifecycle.onClose('detector', () => detector.close());
  // One plate reader (its own worker thread) for every camera of this process: only flagged vehicles
  // are read, on a few frames each.
  let plateReader: PlateReader | undefined;
  if (config.DETECTOR_PLATES === 'on') {
    plateReader = await createPlateReader({
      provider: config.DETECTOR_PROVIDER,
      cudaDevice: config.DETECTOR_CUDA_DEVICE,
      threads: config.DETECTOR_THREADS,
      maxQueue: 64,
      log: log.child({ module: 'plates' }),
    });
    lifecycle.onClose('plate reader', () => plateReader?.close());
  } else log.warn('DETECTOR_PLATES=off: plates are left to the reviewers');
  const store = new EvidenceStore(config.evidenceDir);
  const settings = ingestSettings(config);
  const signer =
    config.EVIDENCE_SIGNING_KEY_PATH || config.EVIDENCE_SIGNING_KEY
      ? await loadEvidenceSigner({
          ...(config.EVIDENCE_SIGNING_KEY_PATH ? { pemPath: config.EVIDENCE_SIGNING_KEY_PATH } : {}),
          ...(config.EVIDENCE_SIGNING_KEY ? { base64: config.EVIDENCE_SIGNING_KEY } : {}),
          ...(config.EVIDENCE_SIGNING_KEY_ID ? { keyId: config.EVIDENCE_SIGNING_KEY_ID } : {}),
        })
      : undefined;
  if (!signer) {
    if (config.NODE_ENV === 'production') {
      throw new AppError(
        'config_invalid',
        'EVIDENCE_SIGNING_KEY_PATH or EVIDENCE_SIGNING_KEY is required in production',
        {
          permanent: true,
        },
      );
    }
    log.warn('no evidence signing key: manifests are hashed but not signed');
  } else log.info({ keyId: signer.keyId }, 'evidence manifests are signed');

  const running = new Map<string, { entry: Entry; supervisor: CameraSupervisor; pipeline: CameraPipeline }>();
  const startCamera = (cameraId: string) => {
    const entry = catalogue.get(cameraId);
    if (!entry) throw new Error(`camera ${cameraId} is not in the catalogue`);
    const { camera } = entry;
    const camLog = log.child({ camera: camera.code });
    const pipeline = new CameraPipeline({
      camera: { id: camera.id, code: camera.code, name: camera.name, location: camera.location },
      scene: entry.scene,
      sceneConfigVersion: entry.version,
      detector,
      store,
      outbox,
      log: camLog,
      workerId,
      ...(signer ? { signer } : {}),
      ...(plateReader ? { plateReader, plateOptions: { maxFrames: config.DETECTOR_PLATE_FRAMES } } : {}),
    });
    const supervisor = new CameraSupervisor({
      ...settings,
      cameraId: camera.code,
      url: camera.rtspUrl!,
      ffmpegPath: config.FFMPEG_PATH,
      log: camLog,
      onFrame: (frame) => pipeline.onFrame(frame),
    });
    running.set(cameraId, { entry, supervisor, pipeline });
    supervisor.start();
    camLog.info({ sceneVersion: entry.version }, 'camera started');
  };
  const stopCamera = async (cameraId: string) => {
    const r = running.get(cameraId);
    running.delete(cameraId);
    await r?.supervisor.stop();
    // Flags already seen still become evidence and jobs (the outbox closes after the cameras).
    await r?.pipeline.drain();
  };

  // Cameras are shared between every ingest process through Redis leases (pipeline/camera-leases.ts).
  const leases = new CameraLeases({
    redis,
    prefix: config.QUEUE_PREFIX,
    workerId,
    capacity: config.INGEST_CAPACITY,
    leaseMs: config.INGEST_LEASE_MS,
    renewMs: Math.floor(config.INGEST_LEASE_MS / 5),
    log: log.child({ module: 'leases' }),
    start: startCamera,
    stop: stopCamera,
  });
  leases.setCameras([...catalogue.keys()]);
  leases.start();
  lifecycle.onClose('cameras', () => leases.stop());

  // New cameras, disabled cameras and new scene versions are picked up without a restart.
  const refresh = setInterval(() => {
    void loadCameras()
      .then(async (next) => {
        catalogue = next;
        leases.setCameras([...next.keys()]);
        for (const [id, r] of running) {
          const now = next.get(id);
          if (now && (now.version !== r.entry.version || now.camera.rtspUrl !== r.entry.camera.rtspUrl)) {
            await stopCamera(id);
            startCamera(id);
          }
        }
      })
      .catch((err: unknown) => log.warn({ err: errorMessage(err) }, 'camera catalogue not refreshed'));
  }, 30_000);
  lifecycle.onClose('catalogue refresh', () => clearInterval(refresh));

  const publish = async () => {
    const now = Date.now();
    const statuses: CameraStatus[] = [...running.values()].map(
      ({ entry: { camera }, supervisor, pipeline }) => {
        const s = supervisor.status();
        return {
          cameraId: String(camera.id),
          code: camera.code,
          state: s.state === 'up' ? 'up' : s.state === 'starting' || s.state === 'idle' ? 'starting' : 'down',
          stateSince: s.since,
          reason: s.downReason ?? undefined,
          lastFrameAt: s.lastFrameAt,
          framesReceived: s.framesReceived,
          framesProcessed: pipeline.processed,
          framesDropped: s.framesDropped,
          restarts: s.restarts,
          fpsReceived: s.fps,
          inferenceMs: pipeline.inferenceMs === null ? null : Math.round(pipeline.inferenceMs * 10) / 10,
          violationsFlagged: pipeline.flagged,
          ...(plateReader ? { plateAttempts: pipeline.plateAttempts, platesRead: pipeline.platesRead } : {}),
          workerId,
          updatedAt: now,
        };
      },
    );
    await publishCameraStatuses(redis, config.QUEUE_PREFIX, statuses);
  };
  const timer = setInterval(() => {
    publish().catch((err: unknown) => log.debug({ err: errorMessage(err) }, 'camera status not published'));
  }, 1000);
  lifecycle.onClose('status', () => clearInterval(timer));
  log.info(
    {
      cameras: catalogue.size,
      capacity: config.INGEST_CAPACITY,
      model: detector.modelName,
      provider: detector.provider,
    },
    'ingest ready',
  );
});
