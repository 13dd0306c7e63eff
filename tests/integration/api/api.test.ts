import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../../api/app.js';
import { createApiServices } from '../../../api/services/api-services.js';
import { createLogger } from '../../../core/logger.js';
import { upsertCameraByCode } from '../../../db/repositories/camera.repository.js';
import { addAsset } from '../../../db/repositories/evidence.repository.js';
import { recordViolation } from '../../../db/repositories/violation.repository.js';
import { addSceneConfigVersion } from '../../../db/repositories/scene-config.repository.js';
import { publishCameraStatuses } from '../../../pipeline/camera-status.js';
import { EvidenceStore } from '../../../violations/evidence-store.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { FAST_SCRYPT, makeUser, samplePath } from './helpers.js';

const REDIS_URL = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const TOKENS = {
  reviewer: 'reviewer-token-0123456789abcdef',
  supervisor: 'supervisor-token-0123456789abcdef',
  operator: 'operator-token-0123456789abcdef',
  admin: 'admin-token-0123456789abcdef',
};
const API_TOKENS = Object.entries(TOKENS)
  .map(([role, token]) => `${role}:${token}`)
  .join(',');

let tdb: TestDatabase;
let redis: Redis;
let evidenceDir: string;
let app: ReturnType<typeof createApp>;
let violationId: number;
let stillSha: string;
const prefix = `pn-test-api-${process.pid}-${Date.now()}`;

beforeAll(async () => {
  tdb = await createTestDatabase();
  redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  evidenceDir = await fs.mkdtemp(path.join(os.tmpdir(), 'pn-api-evidence-'));
  const store = new EvidenceStore(evidenceDir);

  const up = await upsertCameraByCode(tdb.db, {
    code: 'TN-101',
    name: 'Ngã tư Đồng Quang',
    location: 'TP Thái Nguyên',
    rtspUrl: 'rtsp://admin:s3cret-camera-password@10.0.0.7/stream1',
  });
  const down = await upsertCameraByCode(tdb.db, {
    code: 'TN-102',
    name: 'Cầu Gia Bẩy',
    rtspUrl: 'rtsp://10.0.0.8/s',
  });
  await addSceneConfigVersion(tdb.db, { cameraId: up.id, config: { stopLines: [] }, createdBy: 'test' });
  await publishCameraStatuses(redis, prefix, [
    {
      cameraId: String(up.id),
      code: 'TN-101',
      state: 'up',
      stateSince: Date.now() - 60_000,
      inferenceMs: 48.5,
      violationsFlagged: 3,
      lastFrameAt: Date.now(),
      framesReceived: 120,
      framesProcessed: 110,
      framesDropped: 10,
      restarts: 1,
      fpsReceived: 2,
      workerId: 'test',
      updatedAt: Date.now(),
    },
  ]);
  void down;

  const still = await store.put(Buffer.from('jpeg bytes of the still'), 'image/jpeg');
  stillSha = still.sha256;
  const v = await recordViolation(tdb.db, {
    cameraId: up.id,
    trackKey: 'k1-1',
    ruleCode: 'red_light',
    observedAt: new Date('2026-11-22T01:00:00Z'),
    vehicleClass: 'car',
    sceneConfigVersion: 1,
    details: { redForMs: 400 },
  });
  violationId = v.id;
  await addAsset(tdb.db, { violationId, kind: 'still_at', ...still });
  for (let i = 2; i <= 5; i++) {
    await recordViolation(tdb.db, {
      cameraId: up.id,
      trackKey: `k${i}-${i}`,
      ruleCode: 'red_light',
      observedAt: new Date(Date.UTC(2026, 10, 22, 1, i)),
      vehicleClass: 'car',
      sceneConfigVersion: 1,
    });
  }

  const services = createApiServices({
    db: tdb.db,
    redis,
    queuePrefix: prefix,
    store,
    auth: { scrypt: FAST_SCRYPT },
  });
  app = createApp({ services, log: createLogger({ level: 'silent' }), apiTokens: API_TOKENS });
});

afterAll(async () => {
  await redis?.quit();
  await tdb?.drop();
  if (evidenceDir) await fs.rm(evidenceDir, { recursive: true, force: true });
});

const auth = (role: keyof typeof TOKENS) => ({ Authorization: `Bearer ${TOKENS[role]}` });

describe('GET /health', () => {
  it('reports the database, Redis and each camera; degraded while a camera is down', async () => {
    const res = await request(app.app).get('/health');
    expect(res.status).toBe(200);
    expect(res.body.database.ok).toBe(true);
    expect(res.body.redis.ok).toBe(true);
    expect(res.body.cameras).toEqual([
      { code: 'TN-101', state: 'up' },
      { code: 'TN-102', state: 'down' },
    ]);
    expect(res.body.status).toBe('degraded');
  });
});

describe('GET /api/cameras', () => {
  it('lists cameras with their live state and never their stream URL', async () => {
    const res = await request(app.app).get('/api/cameras');
    expect(res.status).toBe(200);
    expect(res.body.items).toHaveLength(2);
    expect(res.body.items[0]).toMatchObject({
      code: 'TN-101',
      state: 'up',
      framesReceived: 120,
      framesDropped: 10,
    });
    expect(res.body.items[1]).toMatchObject({ code: 'TN-102', state: 'down' });
    expect(JSON.stringify(res.body)).not.toContain('s3cret');
    expect(JSON.stringify(res.body)).not.toContain('rtsp://');
  });
});

describe('GET /metrics', () => {
  it('exposes per-camera frame counters for every camera', async () => {
    const res = await request(app.app).get('/metrics');
    expect(res.status).toBe(200);
    expect(res.text).toContain('camera_frames_received_total{camera="TN-101"} 120');
    expect(res.text).toContain('camera_frames_dropped_total{camera="TN-101"} 10');
    expect(res.text).toContain('camera_stream_up{camera="TN-102"} 0');
  });
});

describe('GET /api/violations', () => {
  it('requires authentication', async () => {
    const res = await request(app.app).get('/api/violations');
    expect(res.status).toBe(401);
    expect(res.body).toEqual({ error: { code: 'unauthorized', message: 'authentication required' } });
  });

  it('refuses an unknown token', async () => {
    const res = await request(app.app)
      .get('/api/violations')
      .set('Authorization', 'Bearer not-a-real-token-at-all');
    expect(res.status).toBe(401);
  });

  it('pages newest first with a cursor and a total', async () => {
    const first = await request(app.app).get('/api/violations?limit=2').set(auth('reviewer'));
    expect(first.status).toBe(200);
    expect(first.body.total).toBe(5);
    expect(first.body.items.map((v: { trackKey?: string; observedAt: string }) => v.observedAt)).toEqual([
      '2026-11-22T01:05:00.000Z',
      '2026-11-22T01:04:00.000Z',
    ]);
    const second = await request(app.app)
      .get(`/api/violations?limit=2&cursor=${first.body.nextCursor}`)
      .set(auth('reviewer'));
    expect(second.body.items.map((v: { observedAt: string }) => v.observedAt)).toEqual([
      '2026-11-22T01:03:00.000Z',
      '2026-11-22T01:02:00.000Z',
    ]);
  });

  it('filters by rule and time', async () => {
    const res = await request(app.app)
      .get('/api/violations?rule=red_light&from=2026-11-22T01:03:00Z&to=2026-11-22T01:05:00Z')
      .set(auth('operator'));
    expect(res.body.total).toBe(2);
    const none = await request(app.app).get('/api/violations?rule=speeding').set(auth('operator'));
    expect(none.body.total).toBe(0);
  });

  it('answers malformed filters with a 400 naming the field, without internals', async () => {
    const res = await request(app.app)
      .get('/api/violations?limit=100000&from=yesterday')
      .set(auth('reviewer'));
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('bad_request');
    expect(res.body.error.message).toMatch(/limit/);
    expect(JSON.stringify(res.body)).not.toMatch(/at .*\.ts/);
  });
});

describe('GET /api/violations/:id', () => {
  it('shows a violation with links to its evidence', async () => {
    const res = await request(app.app).get(`/api/violations/${violationId}`).set(auth('reviewer'));
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      id: violationId,
      cameraCode: 'TN-101',
      ruleCode: 'red_light',
      status: 'flagged',
    });
    expect(res.body.evidence).toEqual([
      expect.objectContaining({
        kind: 'still_at',
        sha256: stillSha,
        url: `/api/violations/${violationId}/evidence/${stillSha}`,
      }),
    ]);
    const file = await request(app.app).get(res.body.evidence[0].url).set(auth('reviewer'));
    expect(file.status).toBe(200);
    expect(file.headers['content-type']).toBe('image/jpeg');
    expect(file.body.toString()).toBe('jpeg bytes of the still');
  });

  it('is closed to operators', async () => {
    const res = await request(app.app).get(`/api/violations/${violationId}`).set(auth('operator'));
    expect(res.status).toBe(403);
  });

  it('answers 404 for a missing violation and for evidence of another violation', async () => {
    expect((await request(app.app).get('/api/violations/999999').set(auth('reviewer'))).status).toBe(404);
    const other = await request(app.app)
      .get(`/api/violations/${violationId + 1}/evidence/${stillSha}`)
      .set(auth('reviewer'));
    expect(other.status).toBe(404);
  });
});

describe('GET /api/cameras/events', () => {
  it('streams the camera list as server-sent events', async () => {
    const res = await request(app.app).get('/api/cameras/events?once=1');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/event-stream/);
    const data = /event: cameras\ndata: (.*)\n/.exec(res.text)?.[1];
    const body = JSON.parse(data!) as {
      items: { code: string; state: string; alert: boolean; inferenceMs: number | null }[];
    };
    expect(body.items.map((c) => [c.code, c.state])).toEqual([
      ['TN-101', 'up'],
      ['TN-102', 'down'],
    ]);
    expect(body.items[0]!.inferenceMs).toBe(48.5);
    // TN-102 has never been seen by any worker: down for an unknown time is an alert.
    expect(body.items[1]!.alert).toBe(true);
    expect(body.items[0]!.alert).toBe(false);
  });
});

describe('route roles', () => {
  it('every route refuses every role it does not allow, and admits the ones it does', async () => {
    // Accounts with personal access tokens, one per role (scope '*'), and one with no role at all.
    const users = {
      reviewer: await makeUser(tdb.db, ['reviewer']),
      supervisor: await makeUser(tdb.db, ['supervisor']),
      operator: await makeUser(tdb.db, ['operator']),
      admin: await makeUser(tdb.db, ['admin']),
      none: await makeUser(tdb.db, []),
    };
    const routes = app.routes.routes;
    expect(routes.length).toBeGreaterThanOrEqual(18);
    const refused = (status: number) => status === 401 || status === 403;
    for (const route of routes) {
      // Ids that name nothing: an admitted caller gets past authorisation to a 400/404/409, never a change.
      // An event stream never ends by itself: ask it for one event.
      const streaming = route.response?.contentType === 'text/event-stream';
      const url = samplePath(route.path) + (streaming ? '?once=1' : '');
      const call = () => request(app.app)[route.method](url);
      const what = `${route.method} ${route.path}`;
      const roles = route.roles as readonly string[];
      if (roles.includes('public')) {
        expect(refused((await call()).status), `${what} anonymous`).toBe(false);
        continue;
      }
      expect((await call()).status, `${what} anonymous`).toBe(401);
      for (const [name, u] of Object.entries(users)) {
        const res = await call().set(u.bearer);
        const admitted = roles.includes('authenticated') || name === 'admin' || roles.includes(name);
        if (admitted) expect(refused(res.status), `${what} as ${name}: ${res.text}`).toBe(false);
        else expect(res.status, `${what} as ${name}`).toBe(403);
      }
    }
  });

  it('lists every route in the OpenAPI document with the roles it admits', async () => {
    const res = await request(app.app).get('/api/openapi.json');
    expect(res.status).toBe(200);
    expect(res.body.openapi).toBe('3.1.0');
    for (const route of app.routes.routes) {
      const op = res.body.paths[route.path.replace(/:([a-z0-9_]+)/gi, '{$1}')]?.[route.method];
      expect(op, `${route.method} ${route.path}`).toBeDefined();
      const roles = route.roles as readonly string[];
      const expected =
        roles.includes('public') || roles.includes('authenticated')
          ? roles
          : [...new Set([...roles, 'admin'])];
      expect(op['x-roles']).toEqual(expected);
      expect(op.security).toEqual(
        roles.includes('public') ? [] : [{ sessionCookie: [] }, { bearerToken: [] }],
      );
    }
    const decision = res.body.paths['/api/review/{id}/decision'].post;
    expect(decision.parameters[0]).toMatchObject({ name: 'id', in: 'path', required: true });
    expect(JSON.stringify(decision.requestBody)).toContain('plate_unreadable');
    const queue = res.body.paths['/api/review/queue'].get;
    expect(queue.parameters.map((p: { name: string }) => p.name)).toEqual(
      expect.arrayContaining(['stage', 'camera', 'rule', 'from', 'to', 'minConfidence', 'maxConfidence']),
    );
  });

  it('keeps machine tokens from API_TOKENS working, with their role', async () => {
    expect((await request(app.app).get('/api/auth/me').set(auth('operator'))).body).toMatchObject({
      kind: 'static_token',
      user: null,
      grants: [{ role: 'operator', scope: '*' }],
    });
    // Review needs a person: a machine token is refused even with the reviewer role.
    const claim = await request(app.app).post(`/api/review/${violationId}/claim`).set(auth('reviewer'));
    expect(claim.status).toBe(403);
    expect(claim.body.error.message).toMatch(/personal account/);
  });

  it('answers unknown routes with a JSON 404', async () => {
    const res = await request(app.app).get('/api/nothing-here');
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('not_found');
  });

  it('answers a malformed JSON body with a 400 and no stack trace', async () => {
    const res = await request(app.app)
      .post('/api/violations')
      .set('Content-Type', 'application/json')
      .send('{"a":');
    expect(res.status).toBe(400);
    expect(JSON.stringify(res.body)).not.toContain('SyntaxError');
  });
});

describe('GET /api/cameras: load and backlog for the operator', () => {
  it('reports each camera’s processing lag, pending evidence, violations in the last hour and the queue', async () => {
    const cam = await tdb.db
      .selectFrom('camera')
      .select('id')
      .where('code', '=', 'TN-101')
      .executeTakeFirstOrThrow();
    await recordViolation(tdb.db, {
      cameraId: Number(cam.id),
      trackKey: 'recent-1',
      ruleCode: 'wrong_way',
      observedAt: new Date(Date.now() - 10 * 60_000),
      vehicleClass: 'car',
      sceneConfigVersion: 1,
    });
    const now = Date.now();
    await publishCameraStatuses(redis, prefix, [
      {
        cameraId: String(cam.id),
        code: 'TN-101',
        state: 'up',
        stateSince: now - 60_000,
        inferenceMs: 40,
        lagMs: 850,
        pendingEvidence: 2,
        violationsFlagged: 6,
        lastFrameAt: now,
        framesReceived: 130,
        framesProcessed: 120,
        framesDropped: 10,
        restarts: 1,
        fpsReceived: 2,
        workerId: 'test',
        updatedAt: now,
      },
    ]);
    const res = await request(app.app).get('/api/cameras');
    expect(res.status).toBe(200);
    const tn101 = (res.body.items as { code: string }[]).find((c) => c.code === 'TN-101');
    // The five violations of 01:00–01:05 UTC are older than an hour; the new one is not.
    expect(tn101).toMatchObject({ lagMs: 850, pendingEvidence: 2, violationsLastHour: 1 });
    expect(res.body.queue).toEqual({ waiting: 0, active: 0, delayed: 0, failed: 0 });
  });
});
