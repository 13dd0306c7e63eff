/**
 * The public-holiday calendar that the fine procedure's deadlines use: supervisors enter the moving
 * holidays (Tết) each year, every change is audited, nobody else may change it.
 */
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyAuditChain } from '../../../db/repositories/audit.repository.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { createTestApp, makeUser, type TestApp, type TestUser } from './helpers.js';

let tdb: TestDatabase;
let t: TestApp;
let supervisor: TestUser;
let reviewer: TestUser;
let operator: TestUser;

beforeAll(async () => {
  tdb = await createTestDatabase();
  t = await createTestApp(tdb.db);
  supervisor = await makeUser(tdb.db, ['supervisor']);
  reviewer = await makeUser(tdb.db, ['reviewer']);
  operator = await makeUser(tdb.db, ['operator']);
});

afterAll(async () => {
  await t?.close();
  await tdb?.drop();
});

const api = () => request(t.app.app);

describe('public holidays', () => {
  it('lets a supervisor enter Tết, rename a day and remove a mistake, each change audited', async () => {
    const year = await api().get('/api/admin/holidays?year=2027').set(supervisor.bearer).expect(200);
    const seeded = (year.body as { items: { day: string; name: string }[] }).items.map((h) => h.day);
    // The fixed-date holidays are seeded by the migration; Tết is not.
    expect(seeded).toEqual(expect.arrayContaining(['2027-01-01', '2027-04-30', '2027-05-01', '2027-09-02']));
    expect(seeded).not.toContain('2027-02-08');

    for (const day of ['2027-02-05', '2027-02-08', '2027-02-09']) {
      const res = await api()
        .put(`/api/admin/holidays/${day}`)
        .set(supervisor.bearer)
        .send({ name: 'Tết Nguyên đán' })
        .expect(200);
      expect(res.body).toEqual({ day, name: 'Tết Nguyên đán', created: true });
    }
    const renamed = await api()
      .put('/api/admin/holidays/2027-02-09')
      .set(supervisor.bearer)
      .send({ name: 'Tết Nguyên đán (mùng 3)' })
      .expect(200);
    expect(renamed.body.created).toBe(false);
    await api().delete('/api/admin/holidays/2027-02-05').set(supervisor.bearer).expect(204);
    await api().delete('/api/admin/holidays/2027-02-05').set(supervisor.bearer).expect(404);

    const after = await api().get('/api/admin/holidays?year=2027').set(supervisor.bearer).expect(200);
    const items = (after.body as { items: { day: string; name: string }[] }).items;
    expect(items.filter((h) => h.day.startsWith('2027-02'))).toEqual([
      { day: '2027-02-08', name: 'Tết Nguyên đán' },
      { day: '2027-02-09', name: 'Tết Nguyên đán (mùng 3)' },
    ]);

    const audit = await tdb.db
      .selectFrom('audit_log')
      .select(['action', 'entity_id', 'actor'])
      .where('entity_type', '=', 'public_holiday')
      .orderBy('id')
      .execute();
    expect(audit.map((a) => `${a.action} ${a.entity_id}`)).toEqual([
      'holiday.add 2027-02-05',
      'holiday.add 2027-02-08',
      'holiday.add 2027-02-09',
      'holiday.rename 2027-02-09',
      'holiday.remove 2027-02-05',
    ]);
    expect(new Set(audit.map((a) => a.actor))).toEqual(new Set([`user:${supervisor.user.id}`]));
    expect((await verifyAuditChain(tdb.db)).ok).toBe(true);
  });

  it('refuses reviewers, operators and anonymous callers', async () => {
    for (const u of [reviewer, operator]) {
      await api().get('/api/admin/holidays?year=2027').set(u.bearer).expect(403);
      await api().put('/api/admin/holidays/2027-02-10').set(u.bearer).send({ name: 'x' }).expect(403);
      await api().delete('/api/admin/holidays/2027-01-01').set(u.bearer).expect(403);
    }
    await api().get('/api/admin/holidays?year=2027').expect(401);
  });

  it('says clearly what is wrong with a bad day, name or year', async () => {
    const bad = await api()
      .put('/api/admin/holidays/2027-02-30')
      .set(supervisor.bearer)
      .send({ name: 'Tết' })
      .expect(400);
    expect(JSON.stringify(bad.body)).toContain('2027-02-30');
    await api().put('/api/admin/holidays/27-2-8').set(supervisor.bearer).send({ name: 'Tết' }).expect(400);
    await api().put('/api/admin/holidays/2027-02-10').set(supervisor.bearer).send({ name: '  ' }).expect(400);
    await api().get('/api/admin/holidays?year=abc').set(supervisor.bearer).expect(400);
    await api().get('/api/admin/holidays').set(supervisor.bearer).expect(400);
  });
});
