/**
 * The external signal feed end to end on real components: a signal controller posts phase changes to
 * the API (roles, scope, validation), they are stored in PostgreSQL and relayed through Redis to the
 * signal timeline of the camera pipeline that follows the intersection.
 */
import { Redis } from 'ioredis';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../../core/logger.js';
import { addSceneConfigVersion } from '../../../db/repositories/scene-config.repository.js';
import { listPhaseReports } from '../../../db/repositories/signal.repository.js';
import { upsertCameraByCode } from '../../../db/repositories/camera.repository.js';
import type { JsonObject } from '../../../db/schema.js';
import { followExternalSignals, SignalFeedReader } from '../../../pipeline/signal-feed.js';
import { ViolationEngine } from '../../../violations/engine.js';
import { parseSceneConfig } from '../../../violations/scene-config.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { createTestApp, makeUser, REDIS_URL, type TestApp, type TestUser } from './helpers.js';

const log = createLogger({ level: 'silent' });
const CONTROLLER_TOKEN = 'controller-token-0123456789abcdef';
const OPERATOR_TOKEN = 'operator-token-0123456789abcdef';
const prefix = `pn-test-signals-${process.pid}-${Date.now()}`;

const scene = parseSceneConfig({
  stopLines: [{ id: 'SL-1', a: { x: 0.1, y: 0.6 }, b: { x: 0.9, y: 0.6 }, towards: { x: 0.5, y: 0.9 } }],
  signals: { main: { kind: 'external', intersectionId: 'TN-X1', controllerGroup: 'SG-2' } },
});

let tdb: TestDatabase;
let t: TestApp;
let reviewer: TestUser;
let scopedController: TestUser;
let readerRedis: Redis;
const readers: SignalFeedReader[] = [];

const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  request(t.app.app)
    .post(path)
    .set(headers)
    .send(body as object);
const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });
const iso = (ms: number) => new Date(ms).toISOString();

beforeAll(async () => {
  tdb = await createTestDatabase();
  t = await createTestApp(tdb.db, {
    apiTokens: `signal_controller:${CONTROLLER_TOKEN},operator:${OPERATOR_TOKEN}`,
    queuePrefix: prefix,
  });
  const a = await upsertCameraByCode(tdb.db, { code: 'TN-301', name: 'Nút Đồng Quang', unit: 'TN' });
  await addSceneConfigVersion(tdb.db, {
    cameraId: a.id,
    config: scene as unknown as JsonObject,
    createdBy: 'test',
  });
  const b = await upsertCameraByCode(tdb.db, { code: 'SC-302', name: 'Nút Sông Công', unit: 'SC' });
  await addSceneConfigVersion(tdb.db, {
    cameraId: b.id,
    config: { signals: { main: { kind: 'external', intersectionId: 'SC-X9' } } },
    createdBy: 'test',
  });
  reviewer = await makeUser(tdb.db, ['reviewer']);
  scopedController = await makeUser(tdb.db, [{ role: 'signal_controller', scope: 'unit:TN' }]);
  readerRedis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
});

afterAll(async () => {
  await Promise.all(readers.map((r) => r.stop()));
  if (readerRedis) {
    const keys = await readerRedis.keys(`${prefix}:*`);
    if (keys.length > 0) await readerRedis.del(...keys);
    await readerRedis.quit();
  }
  await t?.close();
  await tdb?.drop();
});

describe('POST /api/signals/:intersectionId: who may post', () => {
  const body = () => ({ phases: [{ group: 'SG-2', colour: 'green', at: iso(Date.now() - 60_000) }] });

  it('refuses anonymous callers, staff roles and other machine roles', async () => {
    expect((await post('/api/signals/TN-X1', body())).status).toBe(401);
    expect((await post('/api/signals/TN-X1', body(), reviewer.bearer)).status).toBe(403);
    expect((await post('/api/signals/TN-X1', body(), bearer(OPERATOR_TOKEN))).status).toBe(403);
    expect((await post('/api/signals/TN-X1', body(), bearer('not-a-known-token-at-all-123'))).status).toBe(
      401,
    );
  });

  it('admits the signal controller, and a scoped one only inside its scope', async () => {
    const res = await post('/api/signals/TN-X1', body(), bearer(CONTROLLER_TOKEN));
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ intersectionId: 'TN-X1', received: 1, stored: 1, cameras: ['TN-301'] });
    expect((await post('/api/signals/TN-X1', body(), scopedController.bearer)).status).toBe(202);
    const outside = await post('/api/signals/SC-X9', body(), scopedController.bearer);
    expect(outside.status).toBe(403);
    expect(outside.body.error.message).toMatch(/outside your scope/);
  });

  it('lists the route with its role in the OpenAPI document', async () => {
    const doc = (await request(t.app.app).get('/api/openapi.json')).body as {
      paths: Record<string, Record<string, { 'x-roles': string[]; requestBody?: unknown }>>;
    };
    const op = doc.paths['/api/signals/{intersectionId}']!['post']!;
    expect(op['x-roles'].sort()).toEqual(['admin', 'signal_controller']);
    expect(op.requestBody).toBeDefined();
  });
});

describe('POST /api/signals/:intersectionId: input', () => {
  const auth = bearer(CONTROLLER_TOKEN);
  const at = () => iso(Date.now() - 30_000);

  it.each([
    ['no body', undefined],
    ['no phases', {}],
    ['an empty list', { phases: [] }],
    ['an unknown colour', { phases: [{ group: 'SG-2', colour: 'blue', at: at() }] }],
    ['a time without offset', { phases: [{ group: 'SG-2', colour: 'red', at: '2026-11-24T08:00:00' }] }],
    ['a time that is no time', { phases: [{ group: 'SG-2', colour: 'red', at: 'yesterday' }] }],
    ['a group id with spaces', { phases: [{ group: 'SG 2', colour: 'red', at: at() }] }],
    ['an unknown field', { phases: [{ group: 'SG-2', colour: 'red', at: at(), lane: 3 }] }],
    ['a field beside phases', { phases: [{ group: 'SG-2', colour: 'red', at: at() }], controller: 'x' }],
  ])('answers 400 for %s', async (_what, body) => {
    const res = await post('/api/signals/TN-X1', body, auth);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('bad_request');
  });

  it('answers 400 for two phases of one group at one time, and for a time from the future', async () => {
    const same = at();
    const twice = await post(
      '/api/signals/TN-X1',
      {
        phases: [
          { group: 'SG-2', colour: 'red', at: same },
          { group: 'SG-2', colour: 'green', at: same },
        ],
      },
      auth,
    );
    expect(twice.status).toBe(400);
    const future = await post(
      '/api/signals/TN-X1',
      { phases: [{ group: 'SG-2', colour: 'red', at: iso(Date.now() + 5 * 60_000) }] },
      auth,
    );
    expect(future.status).toBe(400);
    expect(future.body.error.message).toMatch(/phases\.0\.at: .* ahead of the server's clock/);
  });

  it('answers 400 for a malformed intersection id and 404 for one no camera follows', async () => {
    const body = { phases: [{ group: 'SG-2', colour: 'red', at: at() }] };
    expect((await post('/api/signals/bad%20id', body, auth)).status).toBe(400);
    const unknown = await post('/api/signals/TN-NOWHERE', body, auth);
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.message).toMatch(/no camera's scene follows intersection TN-NOWHERE/);
  });

  it('stores each phase once: a retried post counts duplicates and stores nothing new', async () => {
    const base = Date.now() - 120_000;
    const body = {
      phases: [
        { group: 'SG-2', colour: 'amber', at: iso(base) },
        { group: 'SG-2', colour: 'red', at: iso(base + 3000) },
        { group: 'PED-1', colour: 'green', at: iso(base + 3000) },
      ],
    };
    const first = await post('/api/signals/TN-X1', body, auth);
    expect(first.body).toMatchObject({ received: 3, stored: 3, duplicates: 0 });
    const again = await post('/api/signals/TN-X1', body, auth);
    expect(again.body).toMatchObject({ received: 3, stored: 0, duplicates: 3 });
    const rows = await listPhaseReports(tdb.db, 'TN-X1', { from: new Date(base), to: new Date(base + 3000) });
    expect(rows.map((r) => [r.signalGroup, r.phase, r.controllerAt.getTime()])).toEqual([
      ['SG-2', 'amber', base],
      ['SG-2', 'red', base + 3000],
      ['PED-1', 'green', base + 3000],
    ]);
    expect(rows.every((r) => r.receivedBy.startsWith('token:signal_controller:'))).toBe(true);
  });
});

describe('relay to the camera pipeline', () => {
  it("puts a posted phase into the following camera's signal timeline through Redis", async () => {
    const reader = new SignalFeedReader({ redis: readerRedis, prefix, log, blockMs: 200 });
    readers.push(reader);
    reader.start();
    const engine = new ViolationEngine(scene);
    const stop = followExternalSignals(reader, scene, engine.signals, log);

    const redAt = Date.now() - 2000;
    const res = await post(
      '/api/signals/TN-X1',
      {
        phases: [
          { group: 'SG-2', colour: 'amber', at: iso(redAt - 3000) },
          { group: 'SG-2', colour: 'red', at: iso(redAt) },
          // Another group of the same controller: this scene does not follow it.
          { group: 'PED-1', colour: 'red', at: iso(redAt) },
        ],
      },
      bearer(CONTROLLER_TOKEN),
    );
    expect(res.status).toBe(202);
    await expect
      .poll(() => engine.signalAt('main', redAt + 1500).phase, { timeout: 10_000, interval: 50 })
      .toBe('red');
    expect(engine.signalAt('main', redAt + 1500)).toMatchObject({
      phase: 'red',
      source: 'external',
      sincePhaseStartMs: 1500,
      startObserved: true,
    });
    expect(engine.signalAt('main', redAt - 1000).phase).toBe('amber');

    // A pipeline that starts later (a camera moving to another process) learns the phase in force.
    const late = new ViolationEngine(scene);
    const stopLate = followExternalSignals(reader, scene, late.signals, log);
    await expect
      .poll(() => late.signalAt('main', redAt + 1500).phase, { timeout: 10_000, interval: 50 })
      .toBe('red');

    // Unsubscribed: later phases no longer arrive.
    stop();
    stopLate();
    await post(
      '/api/signals/TN-X1',
      { phases: [{ group: 'SG-2', colour: 'green', at: iso(redAt + 1000) }] },
      bearer(CONTROLLER_TOKEN),
    );
    await new Promise((r) => setTimeout(r, 600));
    expect(engine.signalAt('main', redAt + 1500).phase).toBe('red');
  });
});
