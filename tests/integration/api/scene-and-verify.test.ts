/**
 * The routes behind the scene editor and the review page's evidence check, on a real PostgreSQL and
 * Redis: a camera's scene versions (GET/POST /api/cameras/:id/scene), its live snapshot published by a
 * real SnapshotPublisher (GET /api/cameras/:id/snapshot), and GET /api/violations/:id/verify over a
 * real signed evidence bundle. Roles refused, bad input a 400, out-of-scope a 404.
 */
import { generateKeyPairSync } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import sharp from 'sharp';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../../api/app.js';
import { sceneAnswer } from '../../../api/routes/scene.routes.js';
import { evidenceCheckAnswer } from '../../../api/schemas.js';
import { createApiServices } from '../../../api/services/api-services.js';
import { createLogger } from '../../../core/logger.js';
import { addAsset } from '../../../db/repositories/evidence.repository.js';
import { latestSceneConfig } from '../../../db/repositories/scene-config.repository.js';
import { SnapshotPublisher } from '../../../pipeline/camera-snapshot.js';
import { evidenceSignerFromKey, signManifest } from '../../../violations/evidence-signature.js';
import { EvidenceStore } from '../../../violations/evidence-store.js';
import { parseSceneConfig } from '../../../violations/scene-config.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { FAST_SCRYPT, makeCamera, makeUser, makeViolation, REDIS_URL, type TestUser } from './helpers.js';

let tdb: TestDatabase;
let redis: Redis;
let evidenceDir: string;
let store: EvidenceStore;
let app: ReturnType<typeof createApp>;
const prefix = `pn-test-scene-${process.pid}-${Date.now()}`;
const signingKey = generateKeyPairSync('ed25519');
let cam: number;
let otherCam: number;
let op: TestUser;
let opElsewhere: TestUser;
let rev: TestUser;

const api = () => request(app.app);
const silent = createLogger({ level: 'silent' });

beforeAll(async () => {
  tdb = await createTestDatabase();
  redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  evidenceDir = await fs.mkdtemp(path.join(os.tmpdir(), 'pn-scene-evidence-'));
  store = new EvidenceStore(evidenceDir);
  const services = createApiServices({
    db: tdb.db,
    redis,
    queuePrefix: prefix,
    store,
    auth: { scrypt: FAST_SCRYPT },
    evidencePublicKey: signingKey.publicKey,
    scenes: { snapshotWaitMs: 3_000, snapshotFreshMs: 2_000, pollMs: 50 },
  });
  app = createApp({ services, log: silent });
  cam = (await makeCamera(tdb.db, 'SC-001', 'CSGT-A')).id;
  otherCam = (await makeCamera(tdb.db, 'SC-002', 'CSGT-B')).id;
  op = await makeUser(tdb.db, ['operator']);
  opElsewhere = await makeUser(tdb.db, [{ role: 'operator', scope: 'unit:CSGT-B' }]);
  rev = await makeUser(tdb.db, ['reviewer']);
});

afterAll(async () => {
  await redis?.quit();
  await tdb?.drop();
  if (evidenceDir) await fs.rm(evidenceDir, { recursive: true, force: true });
});

const SCENE = {
  stopLines: [
    {
      id: 'sl-1',
      a: { x: 0.1, y: 0.6 },
      b: { x: 0.9, y: 0.62 },
      towards: { x: 0.5, y: 0.3 },
      signal: 'main',
    },
  ],
  signals: { main: { kind: 'fixed-time', greenS: 30, amberS: 3, redS: 30 } },
  lanes: [
    {
      id: 'lane-1',
      polygon: [
        { x: 0.1, y: 0.9 },
        { x: 0.4, y: 0.9 },
        { x: 0.45, y: 0.4 },
        { x: 0.3, y: 0.4 },
      ],
      direction: { entry: { x: 0.25, y: 0.9 }, exit: { x: 0.37, y: 0.4 } },
      allowedClasses: ['car'],
    },
  ],
};

async function auditCount(action: string, entityId: number): Promise<number> {
  const rows = await tdb.db
    .selectFrom('audit_log')
    .select('id')
    .where('action', '=', action)
    .where('entity_id', '=', String(entityId))
    .execute();
  return rows.length;
}

describe('scene configuration versions', () => {
  it("answers the camera's latest version and the list of versions to an operator", async () => {
    const res = await api().get(`/api/cameras/${cam}/scene`).set(op.bearer);
    expect(res.status, res.text).toBe(200);
    expect(sceneAnswer.safeParse(res.body).success).toBe(true);
    expect(res.body.camera).toMatchObject({ id: cam, code: 'SC-001' });
    expect(res.body.latest).toMatchObject({ version: 1, config: { stopLines: [] } });
    expect(res.body.versions.map((v: { version: number }) => v.version)).toEqual([1]);
  });

  it('saves an edit as a new version with every default spelled out, audited', async () => {
    const res = await api()
      .post(`/api/cameras/${cam}/scene`)
      .set(op.bearer)
      .send({ basedOnVersion: 1, config: SCENE });
    expect(res.status, res.text).toBe(201);
    expect(res.body.version).toBe(2);
    const stored = await latestSceneConfig(tdb.db, cam);
    expect(stored!.version).toBe(2);
    expect(stored!.createdBy).toBe(`user:${op.user.id}`);
    // The stored form is the parsed one: it parses to itself.
    expect(parseSceneConfig(stored!.config)).toEqual(stored!.config);
    expect(stored!.config).toMatchObject({ minScore: 0.35, lanes: [{ against: 'wrong_way' }] });
    expect(await auditCount('scene_config.create', cam)).toBe(1);
    const after = await api().get(`/api/cameras/${cam}/scene`).set(op.bearer).expect(200);
    expect(after.body.versions.map((v: { version: number }) => v.version)).toEqual([2, 1]);
  });

  it('refuses an edit started from an older version (409), changing nothing', async () => {
    const res = await api()
      .post(`/api/cameras/${cam}/scene`)
      .set(op.bearer)
      .send({ basedOnVersion: 1, config: {} });
    expect(res.status).toBe(409);
    expect((await latestSceneConfig(tdb.db, cam))!.version).toBe(2);
  });

  it('refuses an invalid scene with a 400 naming the field', async () => {
    const bad = { ...SCENE, stopLines: [{ ...SCENE.stopLines[0], a: { x: 1.4, y: 0.6 } }] };
    const res = await api()
      .post(`/api/cameras/${cam}/scene`)
      .set(op.bearer)
      .send({ basedOnVersion: 2, config: bad });
    expect(res.status).toBe(400);
    expect(res.body.error.message).toContain('config.stopLines.0.a.x');
    const dup = { ...SCENE, lanes: [SCENE.lanes[0], SCENE.lanes[0]] };
    const res2 = await api()
      .post(`/api/cameras/${cam}/scene`)
      .set(op.bearer)
      .send({ basedOnVersion: 2, config: dup });
    expect(res2.status).toBe(400);
    expect(res2.body.error.message).toMatch(/duplicate id lane-1/);
    const unknown = await api()
      .post(`/api/cameras/${cam}/scene`)
      .set(op.bearer)
      .send({ basedOnVersion: 2, config: { ...SCENE, zones: [] } });
    expect(unknown.status).toBe(400);
    expect((await latestSceneConfig(tdb.db, cam))!.version).toBe(2);
  });

  it('refuses reviewers (403) and anonymous callers (401); a camera outside the scope is a 404', async () => {
    expect((await api().get(`/api/cameras/${cam}/scene`).set(rev.bearer)).status).toBe(403);
    expect((await api().get(`/api/cameras/${cam}/scene`)).status).toBe(401);
    expect(
      (await api().post(`/api/cameras/${cam}/scene`).set(rev.bearer).send({ basedOnVersion: 2, config: {} }))
        .status,
    ).toBe(403);
    expect((await api().get(`/api/cameras/${cam}/scene`).set(opElsewhere.bearer)).status).toBe(404);
    expect((await api().get(`/api/cameras/${otherCam}/scene`).set(opElsewhere.bearer)).status).toBe(200);
    expect(
      (
        await api()
          .post(`/api/cameras/${cam}/scene`)
          .set(opElsewhere.bearer)
          .send({ basedOnVersion: 2, config: {} })
      ).status,
    ).toBe(404);
    expect((await api().get('/api/cameras/abc/scene').set(op.bearer)).status).toBe(400);
  });
});

describe('camera snapshot', () => {
  /** A 320×180 rgb24 frame: left half red, right half blue. */
  const frame = (capturedAt: number) => {
    const width = 320;
    const height = 180;
    const data = Buffer.alloc(width * height * 3);
    for (let i = 0; i < width * height; i++) {
      const left = i % width < width / 2;
      data[i * 3] = left ? 220 : 10;
      data[i * 3 + 2] = left ? 10 : 220;
    }
    return { data, width, height, capturedAt };
  };

  it('is a 503 naming the camera when no worker sends pictures', async () => {
    const res = await api().get(`/api/cameras/${otherCam}/snapshot`).set(op.bearer);
    expect(res.status).toBe(503);
    expect(res.body.error.message).toContain('SC-002');
  });

  it("serves the frame the camera's worker publishes once asked, as a JPEG, audited", async () => {
    const publisher = new SnapshotPublisher({
      redis,
      prefix,
      cameraId: String(cam),
      log: silent,
      intervalMs: 100,
      checkMs: 50,
    });
    // The ingest side: frames keep coming; nothing is encoded until the API asks.
    let running = true;
    const feed = (async () => {
      while (running) {
        publisher.offer(frame(Date.now()));
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    try {
      await new Promise((r) => setTimeout(r, 300));
      expect(publisher.published).toBe(0);
      const res = await api().get(`/api/cameras/${cam}/snapshot`).set(op.bearer).buffer(true);
      expect(res.status, res.text).toBe(200);
      expect(res.headers['content-type']).toBe('image/jpeg');
      expect(res.headers['x-snapshot-fresh']).toBe('true');
      expect(Date.now() - Date.parse(res.headers['x-captured-at'] as string)).toBeLessThan(5_000);
      const body = res.body as Buffer;
      const { data, info } = await sharp(body).raw().toBuffer({ resolveWithObject: true });
      expect([info.width, info.height]).toEqual([320, 180]);
      // Left red, right blue: the picture is the frame's.
      const px = (x: number, y: number) => [...data.subarray((y * 320 + x) * 3, (y * 320 + x) * 3 + 3)];
      expect(px(40, 90)[0]).toBeGreaterThan(150);
      expect(px(280, 90)[2]).toBeGreaterThan(150);
      expect(publisher.published).toBeGreaterThan(0);
      expect(await auditCount('camera.snapshot', cam)).toBe(1);
    } finally {
      running = false;
      await feed;
    }
  });

  it('refuses reviewers and cameras outside the scope', async () => {
    expect((await api().get(`/api/cameras/${cam}/snapshot`).set(rev.bearer)).status).toBe(403);
    expect((await api().get(`/api/cameras/${cam}/snapshot`).set(opElsewhere.bearer)).status).toBe(404);
  });
});

describe('evidence verification', () => {
  /** A violation with a real signed bundle: two stills and a manifest listing them. */
  async function bundle(opts: { sign?: 'deployment' | 'other' } = {}) {
    const id = await makeViolation(tdb.db, cam);
    const jpeg = (r: number) =>
      sharp({ create: { width: 64, height: 48, channels: 3, background: { r, g: 0, b: 0 } } })
        .jpeg()
        .toBuffer();
    const at = await store.put(await jpeg(200), 'image/jpeg');
    const before = await store.put(await jpeg(100), 'image/jpeg');
    const files = [
      { kind: 'still_at' as const, ...at },
      { kind: 'still_before' as const, ...before },
    ];
    const key = opts.sign === 'other' ? generateKeyPairSync('ed25519').privateKey : signingKey.privateKey;
    const manifest = signManifest(
      {
        schema: 'phat-nguoi/evidence-manifest@1',
        files: files.map((f) => ({
          kind: f.kind,
          sha256: f.sha256,
          mediaType: f.mediaType,
          sizeBytes: f.sizeBytes,
        })),
      },
      evidenceSignerFromKey({ pem: key.export({ type: 'pkcs8', format: 'pem' }) }),
    );
    const m = await store.put(Buffer.from(JSON.stringify(manifest, null, 2)), 'application/json');
    for (const f of files) await addAsset(tdb.db, { violationId: id, ...f });
    await addAsset(tdb.db, { violationId: id, kind: 'manifest', ...m });
    return { id, at, before };
  }

  it('verifies an intact bundle against the deployment key, audited', async () => {
    const { id } = await bundle();
    const res = await api().get(`/api/violations/${id}/verify`).set(rev.bearer);
    expect(res.status, res.text).toBe(200);
    expect(evidenceCheckAnswer.safeParse(res.body).success).toBe(true);
    expect(res.body).toMatchObject({ ok: true, signature: { ok: true, pinned: true }, problems: [] });
    expect(res.body.files).toHaveLength(2);
    expect(JSON.stringify(res.body)).not.toContain(evidenceDir); // no server paths
    expect(await auditCount('evidence.verify', id)).toBe(1);
  });

  it('names an altered file, a foreign signing key and a database row the manifest does not list', async () => {
    const { id, at } = await bundle();
    await fs.writeFile(store.resolve(at.storageUri), Buffer.from('not the picture'));
    const altered = await api().get(`/api/violations/${id}/verify`).set(rev.bearer).expect(200);
    expect(altered.body.ok).toBe(false);
    expect(altered.body.problems.join('\n')).toMatch(new RegExp(`file still_at ${at.sha256}`));

    const foreign = await bundle({ sign: 'other' });
    const f = await api().get(`/api/violations/${foreign.id}/verify`).set(rev.bearer).expect(200);
    expect(f.body).toMatchObject({ ok: false, signature: { ok: false, pinned: true } });

    const extra = await bundle();
    const crop = await store.put(Buffer.from('crop bytes'), 'image/jpeg');
    await addAsset(tdb.db, { violationId: extra.id, kind: 'vehicle_crop', ...crop });
    const e = await api().get(`/api/violations/${extra.id}/verify`).set(rev.bearer).expect(200);
    expect(e.body.ok).toBe(false);
    expect(e.body.problems).toContain(`database row vehicle_crop ${crop.sha256} is not in the manifest`);
  });

  it('is a 422 without a manifest, a 404 for no such violation, a 403 for operators, a 400 for a bad id', async () => {
    const bare = await makeViolation(tdb.db, cam);
    expect((await api().get(`/api/violations/${bare}/verify`).set(rev.bearer)).status).toBe(422);
    expect((await api().get('/api/violations/999999/verify').set(rev.bearer)).status).toBe(404);
    expect((await api().get(`/api/violations/${bare}/verify`).set(op.bearer)).status).toBe(403);
    expect((await api().get('/api/violations/x1/verify').set(rev.bearer)).status).toBe(400);
  });
});
