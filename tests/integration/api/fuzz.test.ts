/**
 * Fuzzed input for every route of the route table: random JSON bodies, query strings and path values,
 * sent by an admin (admitted everywhere) so that validation, not authorisation, answers. A value the
 * route's schema refuses must get a 400 {error:{code:'bad_request'}}; nothing may get a 500, and no answer
 * may carry a stack trace or a source path. Deterministic (seeded), so a failure replays.
 */
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RouteSpec } from '../../../api/route-table.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import {
  createTestApp,
  makeCamera,
  makeUser,
  makeViolation,
  samplePath,
  type TestApp,
  type TestUser,
} from './helpers.js';

/** mulberry32: a small seeded PRNG. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

const NASTY_STRINGS = [
  '',
  ' ',
  'approve',
  'reject',
  'escalate',
  'other',
  '30A-123.45',
  "' OR 1=1 --",
  '<script>alert(1)</script>',
  '../../etc/passwd',
  '\u0000',
  '\uFFFF\uD800',
  'Đ'.repeat(30),
  'x'.repeat(5000),
  '{"decision":"approve"}',
  '__proto__',
  'constructor',
  'NaN',
  '-1',
  '1e309',
  '2026-13-45T99:99:99Z',
];
const NASTY_KEYS = [
  'decision',
  'plate',
  'reason',
  'note',
  'username',
  'password',
  'name',
  'expiresInDays',
  '__proto__',
  'constructor',
  'prototype',
  'admin',
  '',
];

function value(rnd: () => number, depth = 0): unknown {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  switch (Math.floor(rnd() * (depth > 2 ? 5 : 8))) {
    case 0:
      return null;
    case 1:
      return rnd() < 0.5;
    case 2:
      return pick([
        0,
        -1,
        1,
        0.5,
        1e308,
        -1e308,
        Number.MAX_SAFE_INTEGER + 2,
        3650,
        3651,
        Math.floor(rnd() * 1e6),
      ]);
    case 3:
    case 4:
      return pick(NASTY_STRINGS);
    case 5:
      return Array.from({ length: Math.floor(rnd() * 4) }, () => value(rnd, depth + 1));
    default: {
      const obj: Record<string, unknown> = {};
      for (let i = Math.floor(rnd() * 5); i > 0; i--) obj[pick(NASTY_KEYS)] = value(rnd, depth + 1);
      return obj;
    }
  }
}

/** A body that is often nearly right: the real keys of the route with random values. */
function nearMiss(rnd: () => number): unknown {
  const obj: Record<string, unknown> = {};
  for (const key of NASTY_KEYS.slice(0, 8)) if (rnd() < 0.5) obj[key] = value(rnd, 2);
  return obj;
}

function expectCleanError(res: request.Response, what: string): void {
  const text = res.text;
  expect(res.status, `${what}: ${text.slice(0, 300)}`).toBeLessThan(500);
  expect(text, what).not.toMatch(/\bat [\w.<>]+ \(|\.ts:\d+|node_modules|ZodError|SyntaxError|TypeError/);
  if (res.status >= 400) {
    expect(res.body?.error?.code, what).toBeTypeOf('string');
    expect(res.body.error.message.length, what).toBeLessThanOrEqual(500);
  }
}

let tdb: TestDatabase;
let t: TestApp;
let admin: TestUser;

beforeAll(async () => {
  tdb = await createTestDatabase();
  t = await createTestApp(tdb.db);
  admin = await makeUser(tdb.db, ['admin']);
  const camera = await makeCamera(tdb.db, 'TN-401');
  await makeViolation(tdb.db, camera.id);
});

afterAll(async () => {
  await t?.close();
  await tdb?.drop();
});

describe('fuzzed input', () => {
  it('gets a 400 without internals for every body a route refuses', async () => {
    const routes = t.app.routes.routes.filter(
      (r): r is RouteSpec & { body: NonNullable<RouteSpec['body']> } => !!r.body,
    );
    expect(routes.map((r) => r.path)).toEqual(
      expect.arrayContaining(['/api/auth/login', '/api/review/:id/decision', '/api/admin/users/:id/tokens']),
    );
    const rnd = prng(20261123);
    let refused = 0;
    for (const route of routes) {
      for (let i = 0; i < 60; i++) {
        const body = i % 3 === 0 ? nearMiss(rnd) : value(rnd);
        const agent = request(t.app.app);
        const res = await agent[route.method](samplePath(route.path))
          .set(admin.bearer)
          .set('Content-Type', 'application/json')
          .send(JSON.stringify(body));
        const what = `${route.method} ${route.path} ${JSON.stringify(body)?.slice(0, 200)}`;
        expectCleanError(res, what);
        if (!route.body.safeParse(body).success) {
          // A top-level scalar is refused by the JSON parser (400 'malformed request'); anything else by the schema.
          expect(res.status, what).toBe(400);
          expect(res.body.error.code, what).toBe('bad_request');
          refused++;
        }
      }
    }
    expect(refused).toBeGreaterThan(routes.length * 40);
  });

  it('gets a 400 without internals for malformed, oversized or mistyped bodies', async () => {
    const route = '/api/review/1/decision';
    const cases: [string, string][] = [
      ['application/json', '{"decision":'],
      ['application/json', '{"decision":"approve",}'],
      ['application/json', '"approve"'],
      ['application/json', 'null'],
      ['application/json', `{"note":"${'x'.repeat(300_000)}"}`],
      ['text/plain', 'decision=approve'],
      ['application/x-www-form-urlencoded', 'decision=approve'],
    ];
    for (const [type, body] of cases) {
      const res = await request(t.app.app).post(route).set(admin.bearer).set('Content-Type', type).send(body);
      expectCleanError(res, `${type} ${body.slice(0, 40)}`);
      expect([400, 413], `${type} ${body.slice(0, 40)}`).toContain(res.status);
    }
  });

  it('gets a 400 without internals for fuzzed query strings', async () => {
    const routes = t.app.routes.routes.filter((r) => r.query);
    const rnd = prng(7);
    for (const route of routes) {
      for (let i = 0; i < 60; i++) {
        const params = new URLSearchParams();
        for (let k = Math.floor(rnd() * 4) + 1; k > 0; k--) {
          const key = [
            'stage',
            'camera',
            'rule',
            'from',
            'to',
            'minConfidence',
            'maxConfidence',
            'limit',
            'cursor',
            'status',
            'x',
          ][Math.floor(rnd() * 11)]!;
          params.append(key, String(value(rnd, 3)));
        }
        const res = await request(t.app.app).get(`${route.path}?${params}`).set(admin.bearer);
        const query = Object.fromEntries(
          [...new Set(params.keys())].map((k) => [
            k,
            params.getAll(k).length > 1 ? params.getAll(k) : params.get(k),
          ]),
        );
        const what = `${route.path}?${params.toString().slice(0, 200)}`;
        expectCleanError(res, what);
        if (!route.query!.safeParse(query).success) expect(res.status, what).toBe(400);
      }
    }
  });

  it('answers fuzzed path values with a 400 or a 404, never a 500', async () => {
    const routes = t.app.routes.routes.filter((r) => r.params);
    const rnd = prng(99);
    for (const route of routes) {
      for (let i = 0; i < 20; i++) {
        const raw = String(value(rnd, 3)).slice(0, 100) || 'x';
        if (/^\d{1,15}$/.test(raw)) continue; // a real id: the admin's own account and token are ids 1
        const url = route.path.replace(/:([A-Za-z0-9_]+)/g, () =>
          encodeURIComponent(raw.replace(/[\uD800-\uDFFF]/g, '\uFFFD')),
        );
        const res = await request(t.app.app)[route.method](url).set(admin.bearer).send({});
        expectCleanError(res, `${route.method} ${url}`);
        expect([400, 404], `${route.method} ${url}`).toContain(res.status);
      }
    }
    for (const bad of ['%E0%A4%A', '%', '%00', '..%2F..%2Fetc%2Fpasswd']) {
      const res = await request(t.app.app).get(`/api/violations/${bad}`).set(admin.bearer);
      expectCleanError(res, bad);
      expect([400, 404], bad).toContain(res.status);
    }
  });
});
