/**
 * Violation clips on real components: a simulated RTSP camera (GStreamer), the camera's own ffmpeg
 * copying its H.264 into segments beside the analysed frames, the clip cut around a moment, put into a
 * signed evidence bundle, checked by ffprobe and by the evidence verifier, before and after a flipped
 * byte. Then a camera that drops mid-clip, and the disk bound.
 */
import { execFile } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CameraSupervisor, type CameraUpEvent } from '../../../ingest/camera-supervisor.js';
import { ClipBuffer, type ClipResult } from '../../../ingest/clip-buffer.js';
import { buildEvidence } from '../../../pipeline/evidence-builder.js';
import type { Flag } from '../../../violations/engine.js';
import { evidenceSignerFromKey } from '../../../violations/evidence-signature.js';
import { EvidenceStore } from '../../../violations/evidence-store.js';
import { verifyEvidence } from '../../../violations/evidence-verify.js';
import { parseSceneConfig } from '../../../violations/scene-config.js';
import { log, missing, nextEvent, simClip, startFleet, stopFleets, until } from './sim-env.js';

const run = promisify(execFile);
const { privateKey, publicKey } = generateKeyPairSync('ed25519');
const signer = evidenceSignerFromKey({ pem: privateKey.export({ type: 'pkcs8', format: 'pem' }) });

let root: string;
const supervisors: CameraSupervisor[] = [];
const buffers: ClipBuffer[] = [];

beforeAll(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'pn-clips-'));
});
afterEach(async () => {
  await Promise.all(supervisors.splice(0).map((s) => s.stop()));
  await Promise.all(buffers.splice(0).map((b) => b.close()));
  await stopFleets();
});
afterAll(async () => {
  if (root) await fs.rm(root, { recursive: true, force: true });
});

/** A camera with a clip buffer, started and up. */
async function recordingCamera(url: string, name: string, keepS = 20) {
  const clips = new ClipBuffer({ cameraId: name, dir: path.join(root, name), keepS, log });
  buffers.push(clips);
  const supervisor = new CameraSupervisor({
    cameraId: name,
    url,
    fps: 2,
    width: 320,
    stallTimeoutMs: 5000,
    backoffMinMs: 200,
    backoffMaxMs: 1000,
    maxRestartsPerMinute: 60,
    log,
    recorder: clips,
    onFrame: () => undefined,
  });
  supervisors.push(supervisor);
  const up = nextEvent<CameraUpEvent>(supervisor, 'up', 30_000);
  supervisor.start();
  await up;
  return { clips, supervisor };
}

/** What ffprobe (not the code under test) says of a video file. */
async function ffprobe(file: string) {
  const { stdout } = await run('ffprobe', [
    '-v',
    'error',
    '-count_frames',
    '-select_streams',
    'v:0',
    '-show_entries',
    'stream=codec_name,nb_read_frames:format=duration,format_name',
    '-of',
    'json',
    file,
  ]);
  const json = JSON.parse(stdout) as {
    streams: { codec_name: string; nb_read_frames: string }[];
    format: { duration: string; format_name: string };
  };
  return {
    codec: json.streams[0]!.codec_name,
    frames: Number(json.streams[0]!.nb_read_frames),
    durationS: Number(json.format.duration),
    format: json.format.format_name,
  };
}

function flagAt(at: number): Flag {
  const W = 64;
  const H = 36;
  const frame = (t: number) => ({ capturedAt: t, width: W, height: H, data: Buffer.alloc(W * H * 3, 90) });
  const box = { x: 0.3, y: 0.3, w: 0.2, h: 0.2 };
  return {
    ruleCode: 'red_light',
    trackKey: `clip-${at.toString(36)}`,
    trackId: 1,
    vehicleClass: 'car',
    at,
    details: { redForMs: 2400, signalGroup: 'main' },
    trajectory: [{ t: at, box, score: 0.9 }],
    stills: [
      { role: 'before', frame: frame(at - 1000), box },
      { role: 'at', frame: frame(at), box },
      { role: 'after', frame: frame(at + 1000), box },
    ],
    sightings: [],
    models: [{ name: 'nanodet-coco', version: '1' }],
  };
}

describe.skipIf(missing)('violation clips from the simulated RTSP cameras', () => {
  it('puts an H.264 clip from 3 s before to 3 s after the moment into the signed bundle', async () => {
    const fleet = await startFleet({ count: 1, port: 0, clip: await simClip() });
    const { clips } = await recordingCamera(fleet.urls[0]!, 'CLIP-1');
    // Enough recording before the moment, then a moment whose "after" is still to come.
    await new Promise((r) => setTimeout(r, 5000));
    const t = Date.now();
    const asked = Date.now();
    const clip = await clips.clip(t - 3500, t + 3500);
    expect(clip.status).toBe('ok');
    const ok = clip as Extract<ClipResult, { status: 'ok' | 'partial' }>;
    // It waited for the seconds after the moment to be recorded.
    expect(Date.now() - asked).toBeGreaterThanOrEqual(3000);
    expect(ok.startAt).toBeLessThanOrEqual(t - 3000);
    expect(ok.endAt).toBeGreaterThanOrEqual(t + 3000);
    expect(ok.codec).toBe('h264');

    const dir = path.join(root, 'store-1');
    const store = new EvidenceStore(dir);
    const payload = await buildEvidence({
      flag: flagAt(t),
      camera: { id: 1, code: 'CLIP-1', name: 'Clip camera', location: null },
      scene: parseSceneConfig({}),
      sceneConfigVersion: 1,
      store,
      workerId: 'test',
      signer,
      clip,
    });
    const asset = payload.evidence.find((e) => e.kind === 'clip')!;
    expect(asset.mediaType).toBe('video/mp4');
    const file = store.resolve(asset.storageUri);
    const probed = await ffprobe(file);
    expect(probed.codec).toBe('h264');
    expect(probed.format).toContain('mp4');
    expect(probed.durationS).toBeGreaterThanOrEqual(6);
    expect(probed.frames).toBe(ok.frameCount);
    // 12.5 fps camera: about as many frames as seconds recorded.
    expect(probed.frames).toBeGreaterThanOrEqual(Math.floor(6 * 12.5));

    const manifestRef = payload.evidence.find((e) => e.kind === 'manifest')!;
    const manifest = JSON.parse((await store.read(manifestRef.storageUri)).toString()) as {
      clip: Record<string, unknown>;
      files: { kind: string; sha256: string }[];
    };
    expect(manifest.clip).toMatchObject({
      status: 'ok',
      file: `${asset.sha256}.mp4`,
      sha256: asset.sha256,
      codec: 'h264',
      frameCount: probed.frames,
    });
    expect(Date.parse(manifest.clip['startCapturedAt'] as string)).toBeLessThanOrEqual(t - 3000);
    expect(Date.parse(manifest.clip['endCapturedAt'] as string)).toBeGreaterThanOrEqual(t + 3000);
    expect(manifest.files.map((f) => f.kind)).toContain('clip');

    const manifestPath = store.resolve(manifestRef.storageUri);
    expect(await verifyEvidence({ manifest: manifestPath, publicKey })).toMatchObject({ ok: true });
    // One flipped byte in the clip is found and named.
    const original = await fs.readFile(file);
    const flipped = Buffer.from(original);
    const at = Math.floor(flipped.length / 2);
    flipped[at] = flipped[at]! ^ 0x01;
    await fs.writeFile(file, flipped);
    const tampered = await verifyEvidence({ manifest: manifestPath, publicKey });
    expect(tampered.ok).toBe(false);
    expect(tampered.signature.ok).toBe(true);
    expect(tampered.files.filter((f) => !f.ok).map((f) => f.kind)).toEqual(['clip']);
    await fs.writeFile(file, original);
  });

  it('records the violation without a whole clip when the camera drops, saying why', async () => {
    const fleet = await startFleet({ count: 1, port: 0, clip: await simClip() });
    const { clips, supervisor } = await recordingCamera(fleet.urls[0]!, 'CLIP-2');
    await new Promise((r) => setTimeout(r, 5000));
    const t = Date.now();
    const pending = clips.clip(t - 3500, t + 3500);
    // The camera goes away one second after the moment.
    await new Promise((r) => setTimeout(r, 1000));
    process.kill(fleet.pid, 'SIGKILL');
    await until(() => supervisor.status().state === 'down', 15_000, 'the camera to be down');
    const asked = Date.now();
    const clip = await pending;
    // Once nothing records, the clip is cut from what there is, without waiting out its deadline.
    expect(Date.now() - asked).toBeLessThan(8000);
    expect(clip.status).toBe('partial');
    expect(clip.reason).toMatch(/covered .* only/);

    const store = new EvidenceStore(path.join(root, 'store-2'));
    const payload = await buildEvidence({
      flag: flagAt(t),
      camera: { id: 2, code: 'CLIP-2', name: 'Clip camera', location: null },
      scene: parseSceneConfig({}),
      sceneConfigVersion: 1,
      store,
      workerId: 'test',
      signer,
      clip,
    });
    const manifestRef = payload.evidence.find((e) => e.kind === 'manifest')!;
    const manifest = JSON.parse((await store.read(manifestRef.storageUri)).toString()) as {
      clip: { status: string; reason: string };
    };
    expect(manifest.clip.status).toBe('partial');
    expect(manifest.clip.reason).toBe(clip.reason);
    expect((await verifyEvidence({ manifest: store.resolve(manifestRef.storageUri), publicKey })).ok).toBe(
      true,
    );

    // A clip asked for after the camera dropped has nothing to wait for.
    const late = await clips.clip(Date.now(), Date.now() + 7000);
    expect(late).toMatchObject({ status: 'missing' });
    const bundle = await buildEvidence({
      flag: flagAt(Date.now()),
      camera: { id: 2, code: 'CLIP-2', name: 'Clip camera', location: null },
      scene: parseSceneConfig({}),
      sceneConfigVersion: 1,
      store,
      workerId: 'test',
      signer,
      clip: late,
    });
    expect(bundle.evidence.map((e) => e.kind)).not.toContain('clip');
    const m = JSON.parse(
      (await store.read(bundle.evidence.find((e) => e.kind === 'manifest')!.storageUri)).toString(),
    ) as { clip: { status: string; reason: string } };
    expect(m.clip).toEqual({ status: 'missing', reason: (late as { reason: string }).reason });
  });

  it('keeps the disk bounded: segment files wrap, and closing removes the folder', async () => {
    const fleet = await startFleet({ count: 1, port: 0, clip: await simClip() });
    const { clips, supervisor } = await recordingCamera(fleet.urls[0]!, 'CLIP-3', 8);
    await until(() => clips.stats().recorded >= 14, 40_000, 'fourteen segments');
    // Only what lies within the buffer's 8 s is offered for clips.
    expect(clips.stats().segments).toBeLessThanOrEqual(9);
    const runs = await fs.readdir(path.join(root, 'CLIP-3'));
    expect(runs).toHaveLength(1);
    const files = (await fs.readdir(path.join(root, 'CLIP-3', runs[0]!))).filter((f) => f.endsWith('.ts'));
    // keepS 8 with 1 s segments: 10 names, reused round-robin.
    expect(files.length).toBeLessThanOrEqual(10);
    expect(clips.stats().maxFiles).toBe(10);
    await supervisor.stop();
    await clips.close();
    await expect(fs.stat(path.join(root, 'CLIP-3'))).rejects.toThrow(/ENOENT/);
  });
});
