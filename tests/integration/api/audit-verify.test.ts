import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { createTestApp, makeCamera, makeUser, makeViolation } from './helpers.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

function auditVerify(url: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'apps/audit-verify.ts')], {
      cwd: ROOT,
      env: { PATH: process.env['PATH'], HOME: process.env['HOME'], DATABASE_URL: url, LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Runs SQL as the table owner with the append-only trigger disabled: what a tamperer with access would do. */
async function tamper(url: string, statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only');
    await client.query(statement);
    await client.query('ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only');
  } finally {
    await client.end();
  }
}

/** A database whose audit log holds the entries of a real review: claim, approve, views. */
async function reviewedDatabase(): Promise<TestDatabase> {
  const tdb = await createTestDatabase();
  const t = await createTestApp(tdb.db);
  try {
    const camera = await makeCamera(tdb.db, 'TN-301');
    const reviewer = await makeUser(tdb.db, ['reviewer']);
    for (let i = 0; i < 3; i++) {
      const id = await makeViolation(tdb.db, camera.id);
      expect((await request(t.app.app).post(`/api/review/${id}/claim`).set(reviewer.bearer)).status).toBe(
        200,
      );
      const decided = await request(t.app.app)
        .post(`/api/review/${id}/decision`)
        .set(reviewer.bearer)
        .send({ decision: 'approve' });
      expect(decided.status).toBe(200);
      expect((await request(t.app.app).get(`/api/violations/${id}`).set(reviewer.bearer)).status).toBe(200);
    }
  } finally {
    await t.close();
  }
  return tdb;
}

describe('npm run audit:verify', () => {
  const dbs: TestDatabase[] = [];
  const fresh = async () => {
    const tdb = await reviewedDatabase();
    dbs.push(tdb);
    return tdb;
  };
  let intact: TestDatabase;
  beforeAll(async () => {
    intact = await fresh();
  });
  afterAll(async () => {
    await Promise.all(dbs.map((d) => d.drop()));
  });

  it('reports an intact chain and exits 0', async () => {
    const out = await auditVerify(intact.url);
    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    // The fixture user's api_token.create, then 3 × (claim, approve, the fine case it opens, view).
    expect(out.stdout).toMatch(/chain intact: 13 entries, last id 13/);
  });

  it('names the first changed row and exits non-zero', async () => {
    const tdb = await fresh();
    await tamper(tdb.url, `UPDATE audit_log SET details = '{"to":"rejected"}' WHERE id = 3`);
    const out = await auditVerify(tdb.url);
    expect(out.code).toBe(3);
    expect(out.stdout).toMatch(/CHAIN BROKEN at id 3 \(hash_mismatch\)/);
    expect(out.stdout).toMatch(/2 entries before it verified/);
  });

  it('names a deleted row', async () => {
    const tdb = await fresh();
    await tamper(tdb.url, 'DELETE FROM audit_log WHERE id = 5');
    const out = await auditVerify(tdb.url);
    expect(out.code).toBe(3);
    expect(out.stdout).toMatch(/CHAIN BROKEN at id 6 \(id_gap\)/);
  });

  it('notices rows cut off the end', async () => {
    const tdb = await fresh();
    await tamper(tdb.url, 'DELETE FROM audit_log WHERE id >= 9');
    const out = await auditVerify(tdb.url);
    expect(out.code).toBe(3);
    expect(out.stdout).toMatch(/CHAIN BROKEN at id 13 \(head_mismatch\)/);
  });

  it('exits 1 when it cannot reach the database', async () => {
    const out = await auditVerify('postgres://nobody@127.0.0.1:1/none');
    expect(out.code).toBe(1);
    expect(out.stderr).toMatch(/could not check/);
  });
});
