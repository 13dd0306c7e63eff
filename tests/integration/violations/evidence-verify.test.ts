/**
 * Evidence verification on real files: a flag turned into stills, crop, an H.264 clip (encoded by ffmpeg)
 * and a signed manifest in a real content-addressed store, then re-checked by `verifyEvidence` and by
 * the `evidence:verify` CLI, before and after single flipped bytes.
 */
import { execFile } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probeVideo } from '../../../ingest/ffmpeg-adapter.js';
import { buildEvidence, type EvidenceClip } from '../../../pipeline/evidence-builder.js';
import type { RecordViolationPayload } from '../../../pipeline/payloads.js';
import type { Flag } from '../../../violations/engine.js';
import { evidenceSignerFromKey, signManifest } from '../../../violations/evidence-signature.js';
import { EvidenceStore } from '../../../violations/evidence-store.js';
import { verifyEvidence } from '../../../violations/evidence-verify.js';
import { parseSceneConfig } from '../../../violations/scene-config.js';

const run = promisify(execFile);
const TSX = path.resolve('node_modules/.bin/tsx');
const W = 160;
const H = 90;

let dir: string;
let store: EvidenceStore;
let payload: RecordViolationPayload;
let manifestPath: string;
let publicKeyPath: string;
const { privateKey, publicKey } = generateKeyPairSync('ed25519');
const signer = evidenceSignerFromKey({ pem: privateKey.export({ type: 'pkcs8', format: 'pem' }) });

function frame(t: number, shade: number) {
  const data = Buffer.alloc(W * H * 3);
  for (let i = 0; i < data.length; i++) data[i] = (shade + (i % 97)) & 0xff;
  return { capturedAt: t, width: W, height: H, data };
}

/** A real 7 s H.264 clip, as the clip buffer hands it over. */
async function h264Clip(t0: number): Promise<EvidenceClip> {
  const file = path.join(dir, 'clip.mp4');
  await run('ffmpeg', [
    ...['-v', 'error', '-f', 'lavfi', '-i', 'testsrc=size=160x90:rate=10', '-t', '7'],
    ...['-c:v', 'libx264', '-preset', 'ultrafast', '-g', '10', '-pix_fmt', 'yuv420p', file],
  ]);
  const probe = await probeVideo(file);
  const bytes = await fs.readFile(file);
  await fs.rm(file);
  return {
    status: 'ok',
    bytes,
    mediaType: 'video/mp4',
    codec: probe.codec,
    startAt: t0 - 2500,
    endAt: t0 + 4500,
    frameCount: probe.frames,
    durationS: probe.durationS,
  };
}

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pn-evidence-verify-'));
  store = new EvidenceStore(dir);
  const t0 = Date.UTC(2026, 10, 22, 3, 0, 0);
  const clip = await h264Clip(t0);
  const box = { x: 0.4, y: 0.4, w: 0.2, h: 0.3 };
  const flag: Flag = {
    ruleCode: 'speeding',
    trackKey: 'mhx2k1-9',
    trackId: 9,
    vehicleClass: 'car',
    at: t0 + 1000,
    details: { measuredKmh: 71.5, limitKmh: 60, toleranceKmh: 3, speedExcessKmh: 8.5, speedTier: '[5,10)' },
    trajectory: [
      { t: t0, box, score: 0.8 },
      { t: t0 + 1000, box, score: 0.82 },
    ],
    stills: [
      { role: 'before', frame: frame(t0, 10), box },
      { role: 'at', frame: frame(t0 + 1000, 80), box },
      { role: 'after', frame: frame(t0 + 2000, 150), box: undefined },
    ],
    sightings: [],
    models: [{ name: 'nanodet-coco', version: '1' }],
  };
  payload = await buildEvidence({
    flag,
    camera: { id: 1, code: 'TN-001', name: 'Ngã tư Đồng Quang', location: 'TP Thái Nguyên' },
    scene: parseSceneConfig({}),
    sceneConfigVersion: 1,
    store,
    workerId: 'test',
    signer,
    clip,
  });
  manifestPath = store.resolve(payload.evidence.find((e) => e.kind === 'manifest')!.storageUri);
  publicKeyPath = path.join(dir, 'evidence-signing.pub.pem');
  await fs.writeFile(publicKeyPath, publicKey.export({ type: 'spki', format: 'pem' }));
});

afterAll(async () => {
  if (dir) await fs.rm(dir, { recursive: true, force: true });
});

/** Runs `fn` with one byte of `file` flipped, then restores it. */
async function withFlippedByte<T>(file: string, at: number, fn: () => Promise<T>): Promise<T> {
  const original = await fs.readFile(file);
  const bytes = Buffer.from(original);
  bytes[at] = bytes[at]! ^ 0x01;
  await fs.writeFile(file, bytes);
  try {
    return await fn();
  } finally {
    await fs.writeFile(file, original);
  }
}

describe('evidence verification', () => {
  it('verifies the files and the signature of a fresh violation, by path or by sha256', async () => {
    const byPath = await verifyEvidence({ manifest: manifestPath, publicKey });
    expect(byPath).toMatchObject({
      ok: true,
      problems: [],
      signature: { ok: true, pinned: true, keyId: signer.keyId },
    });
    expect(byPath.files.map((f) => f.kind).sort()).toEqual(
      ['still_after', 'still_at', 'still_before', 'vehicle_crop', 'clip'].sort(),
    );
    const sha = payload.evidence.find((e) => e.kind === 'manifest')!.sha256;
    expect((await verifyEvidence({ manifest: sha, evidenceDir: dir, publicKey })).ok).toBe(true);
  });

  it('names the file when one byte of any asset is flipped', async () => {
    const manifest = JSON.parse(await fs.readFile(manifestPath, 'utf8')) as {
      files: { kind: string; sha256: string }[];
    };
    for (const asset of payload.evidence.filter((e) => e.kind !== 'manifest')) {
      const file = store.resolve(asset.storageUri);
      const size = (await fs.stat(file)).size;
      for (const at of [0, Math.floor(size / 2), size - 1]) {
        const result = await withFlippedByte(file, at, () =>
          verifyEvidence({ manifest: manifestPath, publicKey }),
        );
        expect(result.ok).toBe(false);
        expect(result.signature.ok).toBe(true);
        expect(result.files.filter((f) => !f.ok).map((f) => f.kind)).toEqual([asset.kind]);
        expect(result.problems).toEqual([
          expect.stringMatching(new RegExp(`^file ${asset.kind} ${asset.sha256}: content hash is`)),
        ]);
      }
    }
    expect(manifest.files).toHaveLength(5);
  });

  it('detects a flipped byte in every field of the manifest file', async () => {
    const text = await fs.readFile(manifestPath, 'utf8');
    // The first character of every value in the file (strings, numbers, booleans).
    const offsets = [...text.matchAll(/: ("?)[^\s"{[]/g)].map((m) =>
      Buffer.byteLength(text.slice(0, m.index + 2 + m[1]!.length)),
    );
    expect(offsets.length).toBeGreaterThan(30);
    // The same bytes away from their content address: the signature alone must catch the change.
    const loose = path.join(dir, 'loose-manifest.json');
    for (const at of offsets) {
      const result = await withFlippedByte(manifestPath, at, async () => {
        await fs.copyFile(manifestPath, loose);
        return verifyEvidence({ manifest: manifestPath, publicKey });
      });
      expect(result.ok, `byte ${at}`).toBe(false);
      expect(result.problems[0]).toMatch(/^manifest: content hash .* does not match its address/);
      const away = await verifyEvidence({ manifest: loose, evidenceDir: dir, publicKey });
      expect(away.ok, `byte ${at}`).toBe(false);
      expect(
        away.problems.some((p) => /^(signature: |manifest: not valid JSON)/.test(p)),
        `byte ${at}`,
      ).toBe(true);
    }
  });

  it('detects a clip section that does not name the listed clip, even when signed by the trusted key', async () => {
    const manifest = JSON.parse(await fs.readFile(manifestPath, 'utf8')) as Record<string, unknown> & {
      clip: Record<string, unknown>;
    };
    const { signature: _s, ...unsigned } = manifest;
    const other = { ...unsigned, clip: { ...manifest.clip, sha256: 'b'.repeat(64) } };
    const bad = await store.put(Buffer.from(JSON.stringify(signManifest(other, signer))), 'application/json');
    const result = await verifyEvidence({ manifest: bad.sha256, evidenceDir: dir, publicKey });
    expect(result.ok).toBe(false);
    expect(result.problems).toEqual([`manifest: clip ${'b'.repeat(64)} is not the clip in its file list`]);

    const silent = { ...unsigned, clip: { status: 'missing' } };
    const bare = await store.put(
      Buffer.from(JSON.stringify(signManifest(silent, signer))),
      'application/json',
    );
    expect((await verifyEvidence({ manifest: bare.sha256, evidenceDir: dir, publicKey })).problems).toEqual([
      'manifest: clip missing without a reason',
    ]);
  });

  it('detects a manifest edited and re-signed with another key, and an unsigned one', async () => {
    const other = generateKeyPairSync('ed25519').privateKey;
    const forged = evidenceSignerFromKey({ pem: other.export({ type: 'pkcs8', format: 'pem' }) });
    const manifest = JSON.parse(await fs.readFile(manifestPath, 'utf8')) as Record<string, unknown>;
    const resigned = await store.put(
      Buffer.from(JSON.stringify(signManifest(manifest, forged))),
      'application/json',
    );
    const result = await verifyEvidence({ manifest: resigned.sha256, evidenceDir: dir, publicKey });
    expect(result.ok).toBe(false);
    expect(result.problems).toEqual([
      `signature: signed with key ${forged.keyId}, not the trusted key ${signer.keyId}`,
    ]);

    const { signature: _s, ...unsigned } = manifest;
    const bare = await store.put(Buffer.from(JSON.stringify(unsigned)), 'application/json');
    expect((await verifyEvidence({ manifest: bare.sha256, evidenceDir: dir })).problems).toEqual([
      'signature: manifest is not signed',
    ]);
  });
});

describe('npm run evidence:verify', () => {
  const cli = (args: string[]) =>
    run(TSX, ['tools/evidence-verify.ts', ...args]).then(
      (r) => ({ code: 0, out: r.stdout }),
      (err: { code: number; stdout: string; stderr: string }) => ({
        code: err.code,
        out: err.stdout + err.stderr,
      }),
    );

  it('prints every check and exits 0 for intact evidence', async () => {
    const { code, out } = await cli([manifestPath, '--public-key', publicKeyPath]);
    expect(code).toBe(0);
    expect(out).toContain(`ok   signature ${signer.keyId} (trusted key)`);
    expect(out).toMatch(/ok {3}still_at/);
    expect(out).toMatch(/clip {6}ok: h264, 70 frames, /);
    expect(out).toContain('VERIFIED: 5 files and the signature');
  });

  it('exits 1 naming the altered file', async () => {
    const at = payload.evidence.find((e) => e.kind === 'still_at')!;
    const { code, out } = await withFlippedByte(store.resolve(at.storageUri), 100, () =>
      cli([manifestPath, '--evidence-dir', dir, '--public-key', publicKeyPath]),
    );
    expect(code).toBe(1);
    expect(out).toContain(`FAIL still_at`);
    expect(out).toContain(`- file still_at ${at.sha256}: content hash is`);
  });

  it('exits 2 on bad usage', async () => {
    expect((await cli([])).code).toBe(2);
    expect((await cli([manifestPath, '--public-key'])).code).toBe(2);
  });
});
