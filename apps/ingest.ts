/**
 * Ingest role: reads its cameras over RTSP, detects, tracks, judges and stores evidence; hands flagged
 * violations to the queue and publishes each camera's live state.
 */
import os from 'node:os';
import { errorMessage } from '../core/errors.js';
import { openDatabase } from '../db/database.js';
import { listCamerasWithStreamUrls } from '../db/repositories/camera.repository.js';
import { latestSceneConfig } from '../db/repositories/scene-config.repository.js';
import { createDetector } from '../detector/detector.js';
import { SelfHealingDetector } from '../detector/self-healing-detector.js';
import { CameraSupervisor, ingestSettings } from '../ingest/camera-supervisor.js';
import { CameraPipeline } from '../pipeline/camera-pipeline.js';
import { publishCameraStatuses, type CameraStatus } from '../pipeline/camera-status.js';
import { Outbox } from '../pipeline/outbox.js';
import type { RecordViolationPayload } from '../pipeline/payloads.js';
import { Producer } from '../pipeline/producer.js';
import { assertNoEviction, createRedis, waitForRedis } from '../pipeline/redis.js';
import { EvidenceStore } from '../violations/evidence-store.js';
import { parseSceneConfig } from '../violations/scene-config.js';
import { boot, run } from './boot.js';

run('ingest', async () => {
  const { config, log, lifecycle } = boot('ingest');
  const workerId = `${os.hostname()}:${process.pid}`;

  const database = await openDatabase(config, log);
  lifecycle.onClose('database', () => database.close());
  const wanted = config.INGEST_CAMERAS?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const cameras = (
    await listCamerasWithStreamUrls(database.db, { enabled: true, ...(wanted ? { codes: wanted } : {}) })
  ).filter((c) => c.rtspUrl);
  const scenes = new Map<number, { version: number; scene: ReturnType<typeof parseSceneConfig> }>();
  for (const camera of cameras) {
    const latest = await latestSceneConfig(database.db, camera.id);
    if (!latest) continue;
    try {
      scenes.set(camera.id, { version: latest.version, scene: parseSceneConfig(latest.config) });
    } catch (err) {
      log.error(
        { camera: camera.code, version: latest.version, err: errorMessage(err) },
        'invalid scene configuration; rules off for this camera',
      );
    }
  }

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
        maxQueue: Math.max(2, cameras.length),
        log: log.child({ module: 'detector' }),
      }),
    log.child({ module: 'detector' }),
  );
  lifecycle.onClose('detector', () => detector.close());
  const store = new EvidenceStore(config.evidenceDir);

  const settings = ingestSettings(config);
  // A camera without a scene configuration is still watched and detected on, but no rule applies.
  const noScene = { version: 0, scene: parseSceneConfig({}) };
  const running: {
    camera: (typeof cameras)[number];
    supervisor: CameraSupervisor;
    pipeline: CameraPipeline;
  }[] = [];
  for (const camera of cameras) {
    const camLog = log.child({ camera: camera.code });
    const scene = scenes.get(camera.id) ?? noScene;
    const pipeline = new CameraPipeline({
      camera: { id: camera.id, code: camera.code, name: camera.name, location: camera.location },
      scene: scene.scene,
      sceneConfigVersion: scene.version,
      detector,
      store,
      outbox,
      log: camLog,
      workerId,
    });
    const supervisor = new CameraSupervisor({
      ...settings,
      cameraId: camera.code,
      url: camera.rtspUrl!,
      ffmpegPath: config.FFMPEG_PATH,
      log: camLog,
      onFrame: (frame) => pipeline.onFrame(frame),
    });
    running.push({ camera, supervisor, pipeline });
    supervisor.start();
  }
  lifecycle.onClose('cameras', async () => {
    await Promise.all(running.map((r) => r.supervisor.stop()));
  });

  const publish = async () => {
    const now = Date.now();
    const statuses: CameraStatus[] = running.map(({ camera, supervisor, pipeline }) => {
      const s = supervisor.status();
      return {
        cameraId: String(camera.id),
        code: camera.code,
        state: s.state === 'up' ? 'up' : s.state === 'starting' || s.state === 'idle' ? 'starting' : 'down',
        reason: s.downReason ?? undefined,
        lastFrameAt: s.lastFrameAt,
        framesReceived: s.framesReceived,
        framesProcessed: pipeline.processed,
        framesDropped: s.framesDropped,
        restarts: s.restarts,
        fpsReceived: s.fps,
        workerId,
        updatedAt: now,
      };
    });
    await publishCameraStatuses(redis, config.QUEUE_PREFIX, statuses);
  };
  const timer = setInterval(() => {
    publish().catch((err: unknown) => log.debug({ err: errorMessage(err) }, 'camera status not published'));
  }, 1000);
  lifecycle.onClose('status', () => clearInterval(timer));
  log.info(
    { cameras: running.length, model: detector.modelName, provider: detector.provider },
    'ingest ready',
  );
});
