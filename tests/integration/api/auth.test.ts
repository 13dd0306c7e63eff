import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sql } from 'kysely';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loginAnswer, meAnswer } from '../../../api/schemas.js';
import { LOGIN_REFUSED } from '../../../api/services/auth.service.js';
import { verifyAuditChain } from '../../../db/repositories/audit.repository.js';
import { findUserForLogin } from '../../../db/repositories/user.repository.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { cookieAttributes, createTestApp, makeUser, type TestApp, type TestUser } from './helpers.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const LOCKOUT = 3;

let tdb: TestDatabase;
let t: TestApp;

beforeAll(async () => {
  tdb = await createTestDatabase();
  t = await createTestApp(tdb.db, {
    // Test accounts are hashed with ln=10; the service's own parameters are one step up, so a login
    // exercises the rehash path.
    auth: { lockoutThreshold: LOCKOUT, lockoutMs: 60_000, scrypt: { ln: 11, r: 8, p: 1 } },
    apiTokens: 'operator:static-operator-token-0123456789',
  });
});

afterAll(async () => {
  await t?.close();
  await tdb?.drop();
});

async function login(
  u: { user: { username: string }; password: string },
  headers: Record<string, string> = {},
) {
  return request(t.app.app)
    .post('/api/auth/login')
    .set(headers)
    .send({ username: u.user.username, password: u.password });
}

/** The Cookie header value of a login answer. */
function sessionCookie(res: request.Response): string {
  const value = cookieAttributes(res, 'pn_session')?.get('value');
  if (!value) throw new Error(`no session cookie in ${JSON.stringify(res.headers['set-cookie'])}`);
  return `pn_session=${value}`;
}

async function auditActions(action: string, entityId?: number) {
  let q = tdb.db.selectFrom('audit_log').selectAll().where('action', '=', action);
  if (entityId !== undefined) q = q.where('entity_id', '=', String(entityId));
  return q.orderBy('id').execute();
}

describe('password login', () => {
  let reviewer: TestUser;
  beforeAll(async () => {
    reviewer = await makeUser(tdb.db, ['reviewer'], { password: 'mật khẩu đủ dài 123' });
  });

  it('sets an httpOnly, SameSite=Strict session cookie and answers the CSRF token, never the secret', async () => {
    const res = await login(reviewer);
    expect(res.status).toBe(200);
    expect(loginAnswer.safeParse(res.body).success).toBe(true);
    expect(res.body.user).toMatchObject({
      username: reviewer.user.username,
      roles: [{ role: 'reviewer', scope: '*' }],
    });
    const cookie = cookieAttributes(res, 'pn_session')!;
    expect(cookie.get('value')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(cookie.has('httponly')).toBe(true);
    expect(cookie.get('samesite')).toBe('Strict');
    expect(cookie.get('path')).toBe('/');
    expect(Number(cookie.get('max-age'))).toBe(12 * 3600);
    expect(cookie.has('secure')).toBe(false); // plain http
    expect(JSON.stringify(res.body)).not.toContain(cookie.get('value'));
    expect(JSON.stringify(res.body)).not.toContain('scrypt');
    expect(res.headers['cache-control']).toBe('no-store');
  });

  it('marks the cookie Secure when the request came over https through the (loopback) proxy', async () => {
    const res = await login(reviewer, { 'X-Forwarded-Proto': 'https' });
    expect(res.status).toBe(200);
    expect(cookieAttributes(res, 'pn_session')!.has('secure')).toBe(true);
  });

  it('stores only sha256 of the session secret', async () => {
    const res = await login(reviewer);
    const secret = cookieAttributes(res, 'pn_session')!.get('value')!;
    const rows = await tdb.db.selectFrom('user_session').select('token_hash').execute();
    expect(rows.map((r) => r.token_hash)).toContain(createHash('sha256').update(secret).digest('hex'));
    expect(JSON.stringify(rows)).not.toContain(secret);
  });

  it('upgrades a hash made with weaker scrypt parameters at login', async () => {
    const u = await makeUser(tdb.db, ['reviewer']);
    expect((await findUserForLogin(tdb.db, u.user.username))!.passwordHash).toMatch(
      /^\$scrypt\$ln=10,r=8,p=1\$/,
    );
    expect((await login(u)).status).toBe(200);
    expect((await findUserForLogin(tdb.db, u.user.username))!.passwordHash).toMatch(
      /^\$scrypt\$ln=11,r=8,p=1\$/,
    );
    expect((await login(u)).status).toBe(200);
  });

  it('answers who is signed in, with the same CSRF token, to the cookie', async () => {
    const res = await login(reviewer);
    const me = await request(t.app.app).get('/api/auth/me').set('Cookie', sessionCookie(res));
    expect(me.status).toBe(200);
    expect(meAnswer.safeParse(me.body).success).toBe(true);
    expect(me.body).toMatchObject({
      kind: 'session',
      user: { id: reviewer.user.id, username: reviewer.user.username },
      csrfToken: res.body.csrfToken,
    });
  });

  it('refuses a wrong password and an unknown user with the same answer', async () => {
    const wrong = await login({ user: reviewer.user, password: 'not the password' });
    const unknown = await login({ user: { username: 'nobody-here' }, password: 'whatever it is' });
    for (const res of [wrong, unknown]) {
      expect(res.status).toBe(401);
      expect(res.body).toEqual({ error: { code: 'unauthorized', message: LOGIN_REFUSED } });
      expect(res.headers['set-cookie']).toBeUndefined();
    }
  });

  it('answers malformed login bodies with a 400', async () => {
    for (const body of [
      {},
      { username: 'a' },
      { username: 'a', password: 'b', admin: true },
      { username: 1, password: 2 },
    ]) {
      const res = await request(t.app.app).post('/api/auth/login').send(body);
      expect(res.status, JSON.stringify(body)).toBe(400);
    }
  });
});

describe('lockout', () => {
  it(`locks the account after ${LOCKOUT} failures, refuses even the right password, and an admin can unlock it`, async () => {
    const u = await makeUser(tdb.db, ['reviewer']);
    const admin = await makeUser(tdb.db, ['admin']);
    for (let i = 0; i < LOCKOUT; i++) {
      expect((await login({ user: u.user, password: `wrong guess ${i}` })).status).toBe(401);
    }
    const stored = await findUserForLogin(tdb.db, u.user.username);
    expect(stored!.failedLogins).toBe(LOCKOUT);
    expect(stored!.lockedUntil!.getTime()).toBeGreaterThan(Date.now() + 50_000);

    const locked = await login(u);
    expect(locked.status).toBe(401);
    expect(locked.body.error.message).toBe(LOGIN_REFUSED); // no hint that the account exists or is locked
    expect(locked.headers['set-cookie']).toBeUndefined();

    const refusals = await auditActions('auth.login_refused', u.user.id);
    expect(refusals.map((r) => r.details['reason'])).toEqual([
      'wrong_password',
      'wrong_password',
      'wrong_password',
      'locked',
    ]);
    expect(refusals[2]!.details).toMatchObject({ failedLogins: 3, locked: true });

    const listed = await request(t.app.app).get('/api/admin/users').set(admin.bearer);
    expect(listed.body.items.find((x: { id: number }) => x.id === u.user.id).lockedUntil).not.toBeNull();
    expect(
      (await request(t.app.app).post(`/api/admin/users/${u.user.id}/unlock`).set(admin.bearer)).status,
    ).toBe(204);
    expect((await login(u)).status).toBe(200);
    expect((await findUserForLogin(tdb.db, u.user.username))!.failedLogins).toBe(0);
  });

  it('does not count failures while locked (the lock is not extended by guessing)', async () => {
    const u = await makeUser(tdb.db, ['reviewer']);
    for (let i = 0; i < LOCKOUT + 3; i++) await login({ user: u.user, password: `wrong ${i}` });
    expect((await findUserForLogin(tdb.db, u.user.username))!.failedLogins).toBe(LOCKOUT);
  });
});

describe('CSRF', () => {
  it('refuses every state-changing route called with the session cookie but without the token', async () => {
    const admin = await makeUser(tdb.db, ['admin']);
    const res = await login(admin);
    const cookie = sessionCookie(res);
    const unsafe = t.app.routes.routes.filter((r) => r.method !== 'get' && r.csrf !== false);
    expect(unsafe.length).toBeGreaterThanOrEqual(6);
    for (const route of unsafe) {
      const url = route.path.replace(/:([a-z0-9_]+)/gi, '999999');
      for (const token of [undefined, 'wrong-token', `${res.body.csrfToken}x`]) {
        const call = request(t.app.app)[route.method](url).set('Cookie', cookie);
        if (token !== undefined) call.set('X-CSRF-Token', token);
        const answer = await call.send({});
        expect(answer.status, `${route.method} ${route.path} with ${token}`).toBe(403);
        expect(answer.body.error.message).toMatch(/CSRF/);
      }
      // With the token the same call gets past the check (to validation, a 404, or — for a route that
      // needs no body, such as the deadline sweep — success); logout is tried last.
      if (route.path === '/api/auth/logout') continue;
      const agent = request(t.app.app);
      const ok = await agent[route.method](url)
        .set('Cookie', cookie)
        .set('X-CSRF-Token', res.body.csrfToken)
        .send({});
      expect([200, 201, 204, 400, 404, 409], `${route.method} ${route.path}`).toContain(ok.status);
    }
    const out = await request(t.app.app)
      .post('/api/auth/logout')
      .set('Cookie', cookie)
      .set('X-CSRF-Token', res.body.csrfToken);
    expect(out.status).toBe(204);
  });

  it("does not accept another session's token", async () => {
    const u = await makeUser(tdb.db, ['admin']);
    const a = await login(u);
    const b = await login(u);
    const res = await request(t.app.app)
      .post('/api/auth/logout')
      .set('Cookie', sessionCookie(a))
      .set('X-CSRF-Token', b.body.csrfToken);
    expect(res.status).toBe(403);
  });

  it('is not needed with a bearer token', async () => {
    const admin = await makeUser(tdb.db, ['admin']);
    const res = await request(t.app.app).post(`/api/admin/users/${admin.user.id}/unlock`).set(admin.bearer);
    expect(res.status).toBe(204);
  });
});

describe('logout and session expiry', () => {
  it('ends the session: the cookie is cleared and no longer works; the logout is audited', async () => {
    const u = await makeUser(tdb.db, ['supervisor']);
    const res = await login(u);
    const cookie = sessionCookie(res);
    const out = await request(t.app.app)
      .post('/api/auth/logout')
      .set('Cookie', cookie)
      .set('X-CSRF-Token', res.body.csrfToken);
    expect(out.status).toBe(204);
    const cleared = cookieAttributes(out, 'pn_session')!;
    expect(cleared.get('value')).toBe('');
    expect(new Date(cleared.get('expires')!).getTime()).toBeLessThan(Date.now());
    expect((await request(t.app.app).get('/api/auth/me').set('Cookie', cookie)).status).toBe(401);
    expect((await request(t.app.app).get('/api/review/queue').set('Cookie', cookie)).status).toBe(401);
    const entry = (await auditActions('auth.logout')).at(-1)!;
    expect(entry.actor).toBe(`user:${u.user.id}`);
    const sessionId = Number(entry.entity_id);
    const row = await tdb.db
      .selectFrom('user_session')
      .selectAll()
      .where('id', '=', sessionId)
      .executeTakeFirstOrThrow();
    expect(row).toMatchObject({ user_id: u.user.id, revoke_reason: 'logout' });
    // Public routes still answer to the stale cookie.
    expect((await request(t.app.app).get('/api/cameras').set('Cookie', cookie)).status).toBe(200);
  });

  it('ends a session left idle past the idle timeout', async () => {
    const u = await makeUser(tdb.db, ['reviewer']);
    const res = await login(u);
    const cookie = sessionCookie(res);
    expect((await request(t.app.app).get('/api/auth/me').set('Cookie', cookie)).status).toBe(200);
    await sql`UPDATE user_session SET last_seen_at = now() - interval '31 minutes' WHERE user_id = ${u.user.id}`.execute(
      tdb.db,
    );
    expect((await request(t.app.app).get('/api/auth/me').set('Cookie', cookie)).status).toBe(401);
  });

  it('ends the sessions and tokens of an account an admin disables', async () => {
    const u = await makeUser(tdb.db, ['reviewer']);
    const admin = await makeUser(tdb.db, ['admin']);
    const res = await login(u);
    expect(
      (await request(t.app.app).post(`/api/admin/users/${u.user.id}/disable`).set(admin.bearer)).status,
    ).toBe(204);
    const session = await tdb.db
      .selectFrom('user_session')
      .select('revoke_reason')
      .where('user_id', '=', u.user.id)
      .executeTakeFirstOrThrow();
    expect(session.revoke_reason).toBe('user_disabled');
    expect((await request(t.app.app).get('/api/auth/me').set('Cookie', sessionCookie(res))).status).toBe(401);
    expect((await request(t.app.app).get('/api/auth/me').set(u.bearer)).status).toBe(401);
    expect((await login(u)).status).toBe(401);
    expect((await auditActions('auth.login_refused', u.user.id)).at(-1)!.details['reason']).toBe('disabled');
    expect((await auditActions('user.disable', u.user.id))[0]!.details).toEqual({ sessionsEnded: 1 });
    expect(
      (await request(t.app.app).post(`/api/admin/users/${u.user.id}/enable`).set(admin.bearer)).status,
    ).toBe(204);
    expect((await request(t.app.app).get('/api/auth/me').set(u.bearer)).status).toBe(200);
    expect((await login(u)).status).toBe(200);
  });
});

describe('personal access tokens', () => {
  it('an admin makes one (shown once), the user calls with it, and a revoked one stops working', async () => {
    const admin = await makeUser(tdb.db, ['admin']);
    const u = await makeUser(tdb.db, [{ role: 'reviewer', scope: 'unit:CSGT-TN' }]);
    const made = await request(t.app.app)
      .post(`/api/admin/users/${u.user.id}/tokens`)
      .set(admin.bearer)
      .send({ name: 'review desk', expiresInDays: 30 });
    expect(made.status).toBe(201);
    const secret: string = made.body.secret;
    expect(secret).toMatch(/^pnat_[A-Za-z0-9_-]{43}$/);
    expect(made.body.token).toMatchObject({
      userId: u.user.id,
      name: 'review desk',
      prefix: secret.slice(0, 11),
      createdBy: `user:${admin.user.id}`,
    });

    const me = await request(t.app.app).get('/api/auth/me').set('Authorization', `Bearer ${secret}`);
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({
      kind: 'api_token',
      user: { id: u.user.id },
      grants: [{ role: 'reviewer', scope: 'unit:CSGT-TN' }],
    });
    expect(me.body.csrfToken).toBeUndefined();

    const row = await tdb.db
      .selectFrom('api_token')
      .selectAll()
      .where('id', '=', made.body.token.id)
      .executeTakeFirstOrThrow();
    expect(row.token_hash).toBe(createHash('sha256').update(secret).digest('hex'));
    expect(row.last_used_at).not.toBeNull();
    const list = await request(t.app.app).get(`/api/admin/users/${u.user.id}/tokens`).set(admin.bearer);
    expect(list.body.items.map((x: { id: number }) => x.id)).toContain(made.body.token.id);
    expect(JSON.stringify(list.body)).not.toContain(secret);

    expect(
      (await request(t.app.app).delete(`/api/admin/tokens/${made.body.token.id}`).set(admin.bearer)).status,
    ).toBe(204);
    const after = await request(t.app.app).get('/api/auth/me').set('Authorization', `Bearer ${secret}`);
    expect(after.status).toBe(401);
    expect((await request(t.app.app).delete('/api/admin/tokens/999999').set(admin.bearer)).status).toBe(404);
    expect((await auditActions('api_token.create', made.body.token.id)).length).toBe(1);
    expect((await auditActions('api_token.revoke', made.body.token.id)).length).toBe(1);
  });

  it('refuses an expired token and an unknown one', async () => {
    const u = await makeUser(tdb.db, ['operator']);
    expect((await request(t.app.app).get('/api/violations').set(u.bearer)).status).toBe(200);
    await sql`UPDATE api_token SET expires_at = created_at + interval '1 millisecond' WHERE user_id = ${u.user.id}`.execute(
      tdb.db,
    );
    expect((await request(t.app.app).get('/api/violations').set(u.bearer)).status).toBe(401);
    const unknown = await request(t.app.app)
      .get('/api/violations')
      .set('Authorization', `Bearer pnat_${'A'.repeat(43)}`);
    expect(unknown.status).toBe(401);
    expect(unknown.body.error.message).toBe('unknown or expired token');
  });

  it('keeps API_TOKENS working beside them', async () => {
    const res = await request(t.app.app)
      .get('/api/violations')
      .set('Authorization', 'Bearer static-operator-token-0123456789');
    expect(res.status).toBe(200);
  });
});

describe('npm run user:create', () => {
  function runCli(
    args: string[],
    stdin: string | null,
  ): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return new Promise((resolve, reject) => {
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', path.join(ROOT, 'apps/user-create.ts'), ...args],
        {
          cwd: ROOT,
          env: {
            PATH: process.env['PATH'],
            HOME: process.env['HOME'],
            DATABASE_URL: tdb.url,
            LOG_LEVEL: 'warn',
            NODE_ENV: 'test',
          },
          stdio: [stdin === null ? 'ignore' : 'pipe', 'pipe', 'pipe'],
        },
      );
      let stdout = '';
      let stderr = '';
      child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
      child.once('error', reject);
      child.once('exit', (code) => resolve({ code, stdout, stderr }));
      if (stdin !== null) child.stdin!.end(stdin);
    });
  }

  it('reads the password from stdin, scopes roles to --unit and prints a token once', async () => {
    const out = await runCli(
      ['--username', 'Cli.Reviewer', '--role', 'reviewer', '--unit', 'CSGT-TN', '--token'],
      'a long enough password\n',
    );
    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    expect(out.stdout).toContain('created cli.reviewer');
    expect(out.stdout).not.toContain('password  ');
    const token = /(pnat_[A-Za-z0-9_-]{43})/.exec(out.stdout)?.[1];
    expect(token).toBeDefined();
    const res = await login({ user: { username: 'cli.reviewer' }, password: 'a long enough password' });
    expect(res.status).toBe(200);
    expect(res.body.user).toMatchObject({
      unit: 'CSGT-TN',
      roles: [{ role: 'reviewer', scope: 'unit:CSGT-TN' }],
    });
    const me = await request(t.app.app).get('/api/auth/me').set('Authorization', `Bearer ${token}`);
    expect(me.body.user.username).toBe('cli.reviewer');
    expect((await auditActions('user.create', res.body.user.id))[0]!.actor).toBe('system:cli');
  });

  it('generates and prints a password when stdin is empty', async () => {
    const out = await runCli(
      ['--username', 'cli-supervisor', '--role', 'supervisor', '--role', 'reviewer'],
      null,
    );
    expect(out.code).toBe(0);
    const password = /password {2}(\S+)/.exec(out.stdout)?.[1];
    expect(password).toMatch(/^[A-Za-z2-9]{20}$/);
    const res = await login({ user: { username: 'cli-supervisor' }, password: password! });
    expect(res.status).toBe(200);
    expect(res.body.user.roles.map((g: { role: string }) => g.role).sort()).toEqual([
      'reviewer',
      'supervisor',
    ]);
  });

  it('refuses bad usage with exit code 2, and a taken username with 1', async () => {
    expect((await runCli(['--username', 'x', '--role', 'reviewer'], null)).code).toBe(2);
    expect((await runCli(['--username', 'someone', '--role', 'king'], null)).code).toBe(2);
    expect((await runCli(['--username', 'someone', '--role', 'reviewer'], 'short\n')).code).toBe(2);
    const taken = await runCli(['--username', 'cli-supervisor', '--role', 'reviewer'], null);
    expect(taken.code).toBe(1);
    expect(taken.stderr).toMatch(/already exists/);
  });
});

describe('audit chain', () => {
  it('stays whole after all of the above', async () => {
    expect(await verifyAuditChain(tdb.db)).toMatchObject({ ok: true });
  });
});
