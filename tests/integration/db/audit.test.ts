import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, afterEach, describe, expect, it } from 'vitest';
import { AUDIT_GENESIS_HASH } from '../../../db/audit-canonical.js';
import { openDatabaseByUrl, type Database } from '../../../db/database.js';
import {
  appendAudit,
  listAuditForEntity,
  verifyAuditChain,
} from '../../../db/repositories/audit.repository.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';

/** Runs SQL as the superuser with triggers off (session_replication_role = replica): a tamperer's view. */
async function asTamperer(url: string, statements: string[]): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('SET session_replication_role = replica');
    for (const s of statements) await client.query(s);
  } finally {
    await client.end();
  }
}

async function appendSome(t: TestDatabase, n: number): Promise<void> {
  for (let i = 1; i <= n; i++) {
    await appendAudit(t.db, {
      actor: i % 2 ? 'user:7' : 'system:worker',
      action: 'violation.approve',
      entityType: 'violation',
      entityId: i,
      details: { i, note: 'Đã duyệt\n"ok"', nested: { b: 1.5, a: [true, null] } },
    });
  }
}

describe('audit log', () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase();
  });
  afterAll(async () => {
    await t?.drop();
  });

  it('starts empty and verifies', async () => {
    expect(await verifyAuditChain(t.db)).toEqual({
      ok: true,
      checked: 0,
      lastId: 0,
      lastHash: AUDIT_GENESIS_HASH,
    });
  });

  it('chains each entry to the previous one with gapless ids and verifies', async () => {
    const a = await appendAudit(t.db, {
      actor: 'user:1',
      action: 'camera.update',
      entityType: 'camera',
      entityId: 'TN-001',
    });
    const b = await appendAudit(t.db, {
      actor: 'user:1',
      action: 'violation.approve',
      entityType: 'violation',
      entityId: 42,
      details: { from: 'in_review', to: 'approved', plate: { before: null, after: '30A12345' } },
    });
    expect([a.id, b.id]).toEqual([1, 2]);
    const rows = await listAuditForEntity(t.db, 'violation', 42);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      prevHash: a.hash,
      hash: b.hash,
      entityId: '42',
      details: { to: 'approved' },
    });
    expect(rows[0]!.at.getTime()).toBeGreaterThanOrEqual(a.at.getTime());
    await appendSome(t, 5);
    const result = await verifyAuditChain(t.db, { batchSize: 3 });
    expect(result).toMatchObject({ ok: true, checked: 7, lastId: 7 });
  });

  it('ignores caller-supplied ids, times and hashes', async () => {
    await sql`INSERT INTO audit_log (id, at, actor, action, entity_type, prev_hash, hash)
              VALUES (1000, '2000-01-01', 'user:evil', 'backdate.attempt', 'x', ${'f'.repeat(64)}, ${'e'.repeat(64)})`.execute(
      t.db,
    );
    const last = await t.db
      .selectFrom('audit_log')
      .selectAll()
      .orderBy('id', 'desc')
      .limit(1)
      .executeTakeFirstOrThrow();
    expect(last.id).toBe(8);
    expect(last.at.getFullYear()).toBeGreaterThanOrEqual(2026);
    expect(last.hash).not.toBe('e'.repeat(64));
    expect((await verifyAuditChain(t.db)).ok).toBe(true);
  });

  it.each([
    ['UPDATE', `UPDATE audit_log SET actor = 'someone else'`],
    ['UPDATE of no row', `UPDATE audit_log SET actor = 'x' WHERE id = -1`],
    ['DELETE', `DELETE FROM audit_log WHERE id = 1`],
    ['TRUNCATE', `TRUNCATE audit_log`],
    ['UPDATE of the head', `UPDATE audit_log_head SET last_id = 0`],
    ['DELETE of the head', `DELETE FROM audit_log_head`],
    ['TRUNCATE of the head', `TRUNCATE audit_log_head`],
  ])('refuses %s', async (_name, statement) => {
    await expect(sql.raw(statement).execute(t.db)).rejects.toThrow(/refused/);
    expect((await verifyAuditChain(t.db)).ok).toBe(true);
  });

  it('keeps one linear chain under concurrent writers', async () => {
    const pools: Database[] = Array.from({ length: 4 }, () => openDatabaseByUrl(t.url, 3));
    try {
      await Promise.all(
        Array.from({ length: 40 }, (_, i) =>
          appendAudit(pools[i % pools.length]!.db, {
            actor: `worker:${i % 4}`,
            action: 'violation.flagged',
            entityType: 'violation',
            entityId: 1000 + i,
          }),
        ),
      );
    } finally {
      await Promise.all(pools.map((p) => p.close()));
    }
    const result = await verifyAuditChain(t.db);
    expect(result).toMatchObject({ ok: true, checked: 48 });
  });

  it('makes a REPEATABLE READ writer racing another fail rather than fork the chain', async () => {
    const other = openDatabaseByUrl(t.url, 1);
    try {
      const outcome = await t.db
        .transaction()
        .setIsolationLevel('repeatable read')
        .execute(async (trx) => {
          await sql`SELECT 1 FROM audit_log LIMIT 1`.execute(trx); // take the snapshot now
          await appendAudit(other.db, {
            actor: 'user:2',
            action: 'notice.issue',
            entityType: 'notice',
            entityId: 1,
          });
          return appendAudit(trx, {
            actor: 'user:3',
            action: 'notice.issue',
            entityType: 'notice',
            entityId: 2,
          }).then(
            () => 'appended',
            (err: unknown) => String((err as Error).message),
          );
        })
        .catch((err: unknown) => String((err as Error).message));
      expect(outcome).toMatch(/serializ|concurrent update/i);
    } finally {
      await other.close();
    }
    expect((await verifyAuditChain(t.db)).ok).toBe(true);
  });
});

describe('audit chain verification against tampering', () => {
  let t: TestDatabase;
  beforeEach(async () => {
    t = await createTestDatabase();
    await appendSome(t, 6);
    expect((await verifyAuditChain(t.db)).ok).toBe(true);
  });
  afterEach(async () => {
    await t?.drop();
  });

  it('detects a row whose details were changed with the triggers disabled', async () => {
    await asTamperer(t.url, [`UPDATE audit_log SET details = details || '{"i": 99}' WHERE id = 4`]);
    expect(await verifyAuditChain(t.db)).toMatchObject({
      ok: false,
      brokenAtId: 4,
      reason: 'hash_mismatch',
      checked: 3,
    });
  });

  it('detects a rewritten row whose own hash was recomputed (the next link breaks)', async () => {
    await asTamperer(t.url, [
      `UPDATE audit_log SET actor = 'user:innocent',
         hash = encode(sha256(convert_to(prev_hash || audit_log_canonical(id, at, 'user:innocent', action, entity_type, entity_id, details), 'UTF8')), 'hex')
       WHERE id = 3`,
    ]);
    expect(await verifyAuditChain(t.db)).toMatchObject({
      ok: false,
      brokenAtId: 4,
      reason: 'prev_hash_mismatch',
    });
  });

  it('detects a deleted row', async () => {
    await asTamperer(t.url, ['DELETE FROM audit_log WHERE id = 2']);
    expect(await verifyAuditChain(t.db)).toMatchObject({ ok: false, brokenAtId: 3, reason: 'id_gap' });
  });

  it('detects a removed tail', async () => {
    await asTamperer(t.url, ['DELETE FROM audit_log WHERE id >= 5']);
    expect(await verifyAuditChain(t.db)).toMatchObject({ ok: false, reason: 'head_mismatch', checked: 4 });
  });

  it('detects a changed time', async () => {
    await asTamperer(t.url, [`UPDATE audit_log SET at = at - interval '1 day' WHERE id = 6`]);
    expect(await verifyAuditChain(t.db)).toMatchObject({ ok: false, brokenAtId: 6, reason: 'hash_mismatch' });
  });
});
