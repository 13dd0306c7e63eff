/**
 * A violation's clip through the camera pipeline, on real components: a simulated RTSP camera playing
 * the shared traffic clip, its ffmpeg decoding frames for the ONNX detector while copying its H.264 into
 * the clip buffer, the tracker and a rule, then the evidence bundle: the clip is in it (ffprobe: H.264,
 * at least 3 s either side of the act), the manifest is signed over it, and verification passes.
 */
import { execFile } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { createDetector, type Detector } from '../../../detector/detector.js';
import { CameraSupervisor } from '../../../ingest/camera-supervisor.js';
import { ClipBuffer } from '../../../ingest/clip-buffer.js';
import { CameraPipeline } from '../../../pipeline/camera-pipeline.js';
import { Outbox } from '../../../pipeline/outbox.js';
import type { RecordViolationPayload } from '../../../pipeline/payloads.js';
import { evidenceSignerFromKey } from '../../../violations/evidence-signature.js';
import { EvidenceStore } from '../../../violations/evidence-store.js';
import { verifyEvidence } from '../../../violations/evidence-verify.js';
import { parseSceneConfig } from '../../../violations/scene-config.js';
import { WHOLE_FRAME_CAR_SIDEWALK } from '../helpers/ingest-process.js';
import { log, missing, sharedDir, simClip, startFleet, stopFleets, until } from '../ingest/sim-env.js';

const run = promisify(execFile);
const SHARED_CLIP = path.join(sharedDir, 'data', 'video', 'car-detection.mp4');
const shared = await fs
  .stat(SHARED_CLIP)
  .then(() => true)
  .catch(() => false);
const skip = missing ?? (shared ? undefined : `${SHARED_CLIP} is absent (set SHARED_DIR)`);
if (skip) console.warn(`[clip-evidence] skipped: ${skip}`);

const { privateKey, publicKey } = generateKeyPairSync('ed25519');
const signer = evidenceSignerFromKey({ pem: privateKey.export({ type: 'pkcs8', format: 'pem' }) });

describe.skipIf(skip)('violation clip through the camera pipeline', () => {
  let dir: string;
  let detector: Detector | undefined;
  let supervisor: CameraSupervisor | undefined;
  let clips: ClipBuffer | undefined;

  afterAll(async () => {
    await supervisor?.stop();
    await clips?.close();
    await detector?.close();
    await stopFleets();
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  it('records a flagged car with its H.264 clip from 3 s before to 3 s after, signed in the bundle', async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pn-clip-evidence-'));
    const store = new EvidenceStore(path.join(dir, 'evidence'));
    const fleet = await startFleet({ count: 1, port: 0, clip: await simClip() });
    detector = await createDetector({ modelName: 'nanodet-coco', scoreThreshold: 0.2, log });
    const scene = parseSceneConfig(WHOLE_FRAME_CAR_SIDEWALK);
    const sent: RecordViolationPayload[] = [];
    const outbox = new Outbox<RecordViolationPayload>(async (p) => {
      sent.push(p);
    }, log);
    clips = new ClipBuffer({ cameraId: 'CLIP-E2E', dir: path.join(dir, 'clips'), keepS: 20, log });
    const pipeline = new CameraPipeline({
      camera: { id: 7, code: 'CLIP-E2E', name: 'Clip camera', location: null },
      scene,
      sceneConfigVersion: 1,
      detector,
      store,
      outbox,
      log,
      workerId: 'test',
      signer,
      clips,
    });
    supervisor = new CameraSupervisor({
      cameraId: 'CLIP-E2E',
      url: fleet.urls[0]!,
      fps: 2,
      width: 640,
      stallTimeoutMs: 10_000,
      backoffMinMs: 200,
      backoffMaxMs: 1000,
      maxRestartsPerMinute: 60,
      log,
      recorder: clips,
      onFrame: (frame) => pipeline.onFrame(frame),
    });
    const startedAt = Date.now();
    supervisor.start();
    // An act in the camera's first seconds has less than 3 s of recording before it; take the first
    // one with enough recording behind it.
    const settled = (p: RecordViolationPayload) => Date.parse(p.observedAt) >= startedAt + 6000;
    await until(() => sent.some(settled), 120_000, 'a violation with its evidence');
    const payload = sent.find(settled)!;
    const observedAt = Date.parse(payload.observedAt);

    const clipRef = payload.evidence.find((e) => e.kind === 'clip');
    expect(clipRef, 'the bundle has a clip').toBeDefined();
    const file = store.resolve(clipRef!.storageUri);
    const { stdout } = await run('ffprobe', [
      ...['-v', 'error', '-count_frames', '-select_streams', 'v:0'],
      ...['-show_entries', 'stream=codec_name,nb_read_frames:format=duration', '-of', 'json', file],
    ]);
    const probe = JSON.parse(stdout) as {
      streams: { codec_name: string; nb_read_frames: string }[];
      format: { duration: string };
    };
    expect(probe.streams[0]!.codec_name).toBe('h264');
    expect(Number(probe.format.duration)).toBeGreaterThanOrEqual(6);

    const manifestRef = payload.evidence.find((e) => e.kind === 'manifest')!;
    const manifest = JSON.parse((await store.read(manifestRef.storageUri)).toString()) as {
      clip: {
        status: string;
        sha256: string;
        startCapturedAt: string;
        endCapturedAt: string;
        frameCount: number;
      };
    };
    expect(manifest.clip.status).toBe('ok');
    expect(manifest.clip.sha256).toBe(clipRef!.sha256);
    expect(manifest.clip.frameCount).toBe(Number(probe.streams[0]!.nb_read_frames));
    expect(Date.parse(manifest.clip.startCapturedAt)).toBeLessThanOrEqual(observedAt - 3000);
    expect(Date.parse(manifest.clip.endCapturedAt)).toBeGreaterThanOrEqual(observedAt + 3000);
    const check = await verifyEvidence({ manifest: store.resolve(manifestRef.storageUri), publicKey });
    expect(check.ok, check.problems.join('; ')).toBe(true);
  });
});
