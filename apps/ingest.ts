/**
 * Ingest role: reads its cameras over RTSP, detects, tracks, judges and stores evidence; hands flagged
 * violations to the queue and publishes each camera's live state.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { AppError, errorMessage } from '../core/errors.js';
import { openDatabase } from '../db/database.js';
import { listCamerasWithStreamUrls, type CameraWithStreamUrl } from '../db/repositories/camera.repository.js';
import { latestSceneConfig } from '../db/repositories/scene-config.repository.js';
import { createDetector } from '../detector/detector.js';
import { createPlateReader, type PlateReader } from '../detector/plates/plate-reader.js';
import { SelfHealingDetector } from '../detector/self-healing-detector.js';
import { CameraSupervisor, ingestSettings, type SupervisorStopOutcome } from '../ingest/camera-supervisor.js';
import { ClipBuffer, processClipDir, sweepDeadClipDirs } from '../ingest/clip-buffer.js';
import { SHUTDOWN_STOP } from '../ingest/process-control.js';
import { CameraLeases } from '../pipeline/camera-leases.js';
import { CameraPipeline } from '../pipeline/camera-pipeline.js';
import { motionGateFromConfig } from '../pipeline/motion-gate.js';
import { SnapshotPublisher } from '../pipeline/camera-snapshot.js';
import { publishCameraStatuses, type CameraStatus } from '../pipeline/camera-status.js';
import { EvidenceJournal } from '../pipeline/evidence-journal.js';
import { Outbox } from '../pipeline/outbox.js';
import type { RecordViolationPayload } from '../pipeline/payloads.js';
import { Producer } from '../pipeline/producer.js';
import { assertNoEviction, createRedis, waitForRedis } from '../pipeline/redis.js';
import { followExternalSignals, SignalFeedReader } from '../pipeline/signal-feed.js';
import { loadEvidenceSigner } from '../violations/evidence-signature.js';
import { EvidenceStore } from '../violations/evidence-store.js';
import { MAX_DETECTION_TILES, parseSceneConfig, type SceneConfig } from '../violations/scene-config.js';
import { boot, run } from './boot.js';

/**
 * At shutdown, flags already seen are turned into evidence and jobs until this long after the cameras
 * began to stop; what is still unfinished then stays in the evidence journal, for the worker that takes
 * the camera over (its `recover()`). Leaves the other closers most of the rest of the lifecycle's 15 s.
 */
const SHUTDOWN_EVIDENCE_DEADLINE_MS = 9_000;

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
        ...(config.DETECTOR_MODEL_VERSION === undefined
          ? {}
          : { modelVersion: config.DETECTOR_MODEL_VERSION }),
        provider: config.DETECTOR_PROVIDER,
        cudaDevice: config.DETECTOR_CUDA_DEVICE,
        threads: config.DETECTOR_THREADS,
        scoreThreshold: config.DETECTOR_SCORE_THRESHOLD,
        // Each camera has at most one frame in flight (newest wins upstream), detected whole and in each
        // of its scene's zoom windows at once, so this never rejects.
        maxQueue: Math.max(2, config.INGEST_CAPACITY * (1 + MAX_DETECTION_TILES)),
        // DETECTOR_BATCH_MAX > 1: frames of different cameras share one session call (batch collector).
        batch: { maxBatch: config.DETECTOR_BATCH_MAX, maxWaitMs: config.DETECTOR_BATCH_WAIT_MS },
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
  // Beside the store (the same volume): a worker that takes a camera over finishes what the last one left.
  const motionGate = motionGateFromConfig(config);
  const journal = new EvidenceJournal(
    path.join(config.evidenceDir, 'journal'),
    log.child({ module: 'journal' }),
  );
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

  // Each camera's rolling recording (its own H.264, copied into ~1 s segments) for the violation clips,
  // in a folder of this process; folders left by dead processes of this host go first.
  const swept = await sweepDeadClipDirs(config.clipBufferDir, os.hostname());
  if (swept.length > 0) log.info({ folders: swept }, 'removed the recordings of dead ingest processes');
  const clipDir = processClipDir(config.clipBufferDir, os.hostname());
  lifecycle.onClose('clip buffers', () => fs.rm(clipDir, { recursive: true, force: true }));

  // Phase changes posted by signal controllers reach the cameras this process holds (pipeline/signal-feed.ts).
  const signals = new SignalFeedReader({ redis, prefix: config.QUEUE_PREFIX, log });
  signals.start();
  lifecycle.onClose('signal feed', () => signals.stop());

  /** Set when the cameras' shutdown begins: frames still arriving are no longer analysed. */
  let shuttingDown = false;
  const running = new Map<
    string,
    {
      entry: Entry;
      supervisor: CameraSupervisor;
      pipeline: CameraPipeline;
      clips: ClipBuffer;
      unfollowSignals: () => void;
    }
  >();
  const startCamera = (cameraId: string) => {
    const entry = catalogue.get(cameraId);
    if (!entry) throw new Error(`camera ${cameraId} is not in the catalogue`);
    const { camera } = entry;
    const camLog = log.child({ camera: camera.code });
    const clips = new ClipBuffer({
      cameraId: camera.code,
      dir: path.join(clipDir, `${camera.code}-${randomBytes(3).toString('hex')}`),
      keepS: config.INGEST_CLIP_BUFFER_S,
      ffmpegPath: config.FFMPEG_PATH,
      log: camLog,
    });
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
      clips,
      journal,
      motionGate,
    });
    // Acts a previous holder of the camera journalled and did not send (killed, or Redis was down).
    void pipeline.recover(config.INGEST_RECOVER_AFTER_MS);
    // The scene editor's live picture: a JPEG in Redis every few seconds, only while someone asks.
    const snapshots = new SnapshotPublisher({
      redis,
      prefix: config.QUEUE_PREFIX,
      cameraId: String(camera.id),
      log: camLog,
    });
    const supervisor = new CameraSupervisor({
      ...settings,
      cameraId: camera.code,
      url: camera.rtspUrl!,
      ffmpegPath: config.FFMPEG_PATH,
      log: camLog,
      recorder: clips,
      onFrame: (frame) => {
        if (shuttingDown) return;
        snapshots.offer(frame);
        return pipeline.onFrame(frame);
      },
    });
    const unfollowSignals = followExternalSignals(signals, entry.scene, pipeline.engine.signals, camLog);
    running.set(cameraId, { entry, supervisor, pipeline, clips, unfollowSignals });
    supervisor.start();
    camLog.info({ sceneVersion: entry.version }, 'camera started');
  };
  const stopCamera = async (cameraId: string) => {
    const r = running.get(cameraId);
    running.delete(cameraId);
    r?.unfollowSignals();
    await r?.supervisor.stop();
    // No more recording: pending clips are cut from what is on disk (partial when the act was too
    // recent), then the camera's folder goes.
    await r?.clips.close();
    // Flags already seen still become evidence and jobs (the outbox closes after the cameras).
    await r?.pipeline.finish();
  };

  /**
   * Shutdown of every camera together, phase by phase over all of them (hundreds of cameras: nothing one
   * camera at a time, each phase's duration logged): streams (every ffmpeg ended at once with the
   * shutdown grace periods, no quit request; the detector closes meanwhile, so no camera waits behind the
   * frames other cameras have queued), leases (handed back in one round trip: no stream runs any more, so
   * another worker may take the cameras now; the round trip runs beside the next phases), clips (pending clips cut from what is on disk), evidence
   * (flags already seen become evidence and jobs until SHUTDOWN_EVIDENCE_DEADLINE_MS; anything left is in
   * the evidence journal for the camera's next worker).
   */
  const stopAllCameras = async (cameraIds: string[], release: () => Promise<number>) => {
    shuttingDown = true;
    const startedAt = performance.now();
    let mark = startedAt;
    const lap = () => {
      const now = performance.now();
      const ms = Math.round(now - mark);
      mark = now;
      return ms;
    };
    const cams = cameraIds.flatMap((id) => {
      const r = running.get(id);
      running.delete(id);
      return r ? [r] : [];
    });
    const detectorClosed = detector
      .close()
      .catch((err: unknown) => log.warn({ err: errorMessage(err) }, 'detector did not close cleanly'));
    const ffmpeg: Partial<Record<SupervisorStopOutcome, number>> = {};
    await Promise.all(
      cams.map(async (r) => {
        r.unfollowSignals();
        const outcome = await r.supervisor.stop(SHUTDOWN_STOP);
        ffmpeg[outcome] = (ffmpeg[outcome] ?? 0) + 1;
      }),
    );
    const streams = lap();
    // The leases go back while the evidence is finished (a slow Redis never holds the drain up).
    const releaseFrom = performance.now();
    let leasesMs = 0;
    const releasing = release().finally(() => (leasesMs = Math.round(performance.now() - releaseFrom)));
    await Promise.all(cams.map((r) => r.clips.close()));
    const clipsMs = lap();
    const left = Math.max(0, SHUTDOWN_EVIDENCE_DEADLINE_MS - (performance.now() - startedAt));
    let deadline: NodeJS.Timeout | undefined;
    const drained = await Promise.race([
      Promise.all(cams.map((r) => r.pipeline.finish())).then(() => true),
      new Promise<false>((resolve) => (deadline = setTimeout(() => resolve(false), left))),
    ]);
    clearTimeout(deadline);
    const drainMs = lap();
    const released = await releasing;
    await detectorClosed;
    const pendingEvidence = cams.reduce((n, r) => n + r.pipeline.pendingEvidence, 0);
    log.info(
      {
        cameras: cams.length,
        released,
        ffmpeg,
        pendingEvidence,
        ms: {
          streams,
          release: leasesMs,
          clips: clipsMs,
          drain: drainMs,
          total: Math.round(performance.now() - startedAt),
        },
      },
      'cameras stopped',
    );
    if (!drained) {
      log.warn(
        { pendingEvidence, deadlineMs: SHUTDOWN_EVIDENCE_DEADLINE_MS },
        'evidence unfinished at the shutdown deadline: left in the evidence journal for the next worker',
      );
    }
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
    stopAll: stopAllCameras,
  });
  leases.setCameras([...catalogue.keys()]);
  leases.start();
  lifecycle.onClose('cameras', async () => {
    await leases.stop();
  });

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

  // Entries too young to take at a camera's start (their worker may still have been finishing them), and
  // those whose sealing failed here, are finished on the next pass.
  const recoverTimer = setInterval(
    () => {
      for (const r of running.values()) void r.pipeline.recover(config.INGEST_RECOVER_AFTER_MS);
    },
    Math.max(1_000, Math.min(60_000, config.INGEST_RECOVER_AFTER_MS / 2)),
  );
  recoverTimer.unref();
  lifecycle.onClose('journal recovery', () => clearInterval(recoverTimer));

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
          framesDropped: s.framesDropped + pipeline.detectorDropped,
          restarts: s.restarts,
          fpsReceived: s.fps,
          inferenceMs: pipeline.inferenceMs === null ? null : Math.round(pipeline.inferenceMs * 10) / 10,
          lagMs: pipeline.lagMs === null ? null : Math.round(pipeline.lagMs),
          pendingEvidence: pipeline.pendingEvidence,
          violationsFlagged: pipeline.flagged,
          detector: {
            model: detector.modelName,
            provider: detector.provider,
            requestedProvider: config.DETECTOR_PROVIDER,
            maxBatch: detector.maxBatch,
          },
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
      maxBatch: detector.maxBatch,
    },
    'ingest ready',
  );
});
