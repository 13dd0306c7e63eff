import { sql } from 'kysely';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { claimAnswer, decisionAnswer, reviewQueuePage, violationDetail } from '../../../api/schemas.js';
import { verifyAuditChain } from '../../../db/repositories/audit.repository.js';
import { addAsset } from '../../../db/repositories/evidence.repository.js';
import { openDatabaseByUrl } from '../../../db/database.js';
import { claimReview, listReviews } from '../../../db/repositories/review.repository.js';
import { getViolationById } from '../../../db/repositories/violation.repository.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import {
  createTestApp,
  makeCamera,
  makeUser,
  makeViolation,
  type TestApp,
  type TestUser,
} from './helpers.js';

let tdb: TestDatabase;
let t: TestApp;
let camA: number; // TN-201, unit CSGT-TN
let camB: number; // TN-202, unit CSGT-SC
let rev1: TestUser;
let rev2: TestUser;
let scoped: TestUser; // reviewer of camera TN-202 only
let unitScoped: TestUser; // reviewer of unit CSGT-TN only
let sup1: TestUser;
let sup2: TestUser;

beforeAll(async () => {
  tdb = await createTestDatabase();
  t = await createTestApp(tdb.db, { review: { leaseMs: 10 * 60_000, secondReviewBelow: 0.9 } });
  camA = (await makeCamera(tdb.db, 'TN-201', 'CSGT-TN')).id;
  camB = (await makeCamera(tdb.db, 'TN-202', 'CSGT-SC')).id;
  rev1 = await makeUser(tdb.db, ['reviewer']);
  rev2 = await makeUser(tdb.db, ['reviewer']);
  scoped = await makeUser(tdb.db, [{ role: 'reviewer', scope: 'camera:TN-202' }]);
  unitScoped = await makeUser(tdb.db, [{ role: 'reviewer', scope: 'unit:CSGT-TN' }]);
  sup1 = await makeUser(tdb.db, ['supervisor']);
  sup2 = await makeUser(tdb.db, ['supervisor']);
});

afterAll(async () => {
  await t?.close();
  await tdb?.drop();
});

const api = () => request(t.app.app);
const claim = (u: TestUser, id: number) => api().post(`/api/review/${id}/claim`).set(u.bearer);
const decide = (u: TestUser, id: number, body: object) =>
  api().post(`/api/review/${id}/decision`).set(u.bearer).send(body);

async function status(id: number): Promise<string> {
  return (await getViolationById(tdb.db, id))!.status;
}

async function audit(id: number) {
  return tdb.db
    .selectFrom('audit_log')
    .selectAll()
    .where('entity_type', '=', 'violation')
    .where('entity_id', '=', String(id))
    .orderBy('id')
    .execute();
}

describe('review queue', () => {
  let ids: { a1: number; a2: number; b1: number; low: number; speeding: number };
  beforeAll(async () => {
    ids = {
      a1: await makeViolation(tdb.db, camA, {
        observedAt: new Date('2026-11-20T01:00:00Z'),
        confidence: 0.95,
      }),
      a2: await makeViolation(tdb.db, camA, {
        observedAt: new Date('2026-11-20T02:00:00Z'),
        confidence: 0.99,
      }),
      b1: await makeViolation(tdb.db, camB, {
        observedAt: new Date('2026-11-20T03:00:00Z'),
        confidence: 0.92,
      }),
      low: await makeViolation(tdb.db, camB, {
        observedAt: new Date('2026-11-20T04:00:00Z'),
        confidence: 0.4,
      }),
      speeding: await makeViolation(tdb.db, camA, {
        observedAt: new Date('2026-11-20T05:00:00Z'),
        ruleCode: 'speeding',
        plate: null,
      }),
    };
  });
  const window = 'from=2026-11-20T00:00:00Z&to=2026-11-21T00:00:00Z';
  const queueIds = async (u: TestUser, query = '', time = window) => {
    const res = await api().get(`/api/review/queue?${time}${query}`).set(u.bearer);
    expect(res.status, res.text).toBe(200);
    expect(reviewQueuePage.safeParse(res.body).success).toBe(true);
    return res.body.items.map((i: { id: number }) => i.id) as number[];
  };

  it('lists flagged cases oldest first, with a total and a cursor', async () => {
    expect(await queueIds(rev1)).toEqual([ids.a1, ids.a2, ids.b1, ids.low, ids.speeding]);
    const first = await api().get(`/api/review/queue?${window}&limit=2`).set(rev1.bearer);
    expect(first.body.total).toBe(5);
    const next = await api()
      .get(`/api/review/queue?${window}&limit=2&cursor=${first.body.nextCursor}`)
      .set(rev1.bearer);
    expect(next.body.items.map((i: { id: number }) => i.id)).toEqual([ids.b1, ids.low]);
  });

  it('filters by camera, rule, time and plate-read confidence (an unread plate counts as 0)', async () => {
    expect(await queueIds(rev1, `&camera=${camB}`)).toEqual([ids.b1, ids.low]);
    expect(await queueIds(rev1, '&rule=speeding')).toEqual([ids.speeding]);
    expect(await queueIds(rev1, '', 'from=2026-11-20T02:00:00Z&to=2026-11-20T04:00:00Z')).toEqual([
      ids.a2,
      ids.b1,
    ]);
    expect(await queueIds(rev1, '&maxConfidence=0.5')).toEqual([ids.low, ids.speeding]);
    expect(await queueIds(rev1, '&minConfidence=0.95')).toEqual([ids.a1, ids.a2]);
    const bad = await api().get('/api/review/queue?minConfidence=2&stage=third').set(rev1.bearer);
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/query\.stage/);
  });

  it('shows a scoped reviewer only the cameras of their scope (by camera or by unit)', async () => {
    expect(await queueIds(scoped)).toEqual([ids.b1, ids.low]);
    expect(await queueIds(unitScoped)).toEqual([ids.a1, ids.a2, ids.speeding]);
    expect((await claim(scoped, ids.a1)).status).toBe(404);
    expect((await api().get(`/api/violations/${ids.a1}`).set(scoped.bearer)).status).toBe(404);
    const list = await api().get(`/api/violations?${window}`).set(scoped.bearer);
    expect(list.body.items.map((i: { id: number }) => i.id).sort()).toEqual([ids.b1, ids.low].sort());
  });

  it('keeps the second-review queue for supervisors', async () => {
    const res = await api().get('/api/review/queue?stage=second').set(rev1.bearer);
    expect(res.status).toBe(403);
    expect((await api().get('/api/review/queue?stage=second').set(sup1.bearer)).status).toBe(200);
  });

  it('records each read of the queue (plates are personal data)', async () => {
    await queueIds(rev2);
    const entry = await tdb.db
      .selectFrom('audit_log')
      .selectAll()
      .where('action', '=', 'violation.list')
      .where('actor', '=', `user:${rev2.user.id}`)
      .orderBy('id', 'desc')
      .executeTakeFirstOrThrow();
    expect(entry.details).toMatchObject({ via: 'review.queue', stage: 'first' });
    expect(entry.details['ids']).toEqual([ids.a1, ids.a2, ids.b1, ids.low, ids.speeding]);
  });
});

describe('claims', () => {
  it('gives a case to exactly one of two reviewers claiming at once', async () => {
    for (let round = 0; round < 8; round++) {
      const id = await makeViolation(tdb.db, camA);
      const [a, b] = await Promise.all([claim(rev1, id), claim(rev2, id)]);
      expect([a.status, b.status].sort(), `round ${round}`).toEqual([200, 409]);
      const winner = a.status === 200 ? rev1 : rev2;
      const loser = a.status === 200 ? b : a;
      expect(loser.body.error.message).toMatch(/another reviewer holds this case until/);
      const rows = await tdb.db
        .selectFrom('review_claim')
        .selectAll()
        .where('violation_id', '=', id)
        .execute();
      expect(rows).toHaveLength(1);
      expect(rows[0]!.user_id).toBe(winner.user.id);
      expect(await status(id)).toBe('in_review');
      expect((await audit(id)).filter((e) => e.action === 'violation.claim')).toHaveLength(1);
    }
  });

  it('makes a concurrent claim wait for the first one to commit, then refuses it', async () => {
    const id = await makeViolation(tdb.db, camA);
    const other = openDatabaseByUrl(tdb.url, 1);
    try {
      let settled = false;
      let second: Promise<unknown> | undefined;
      await tdb.db.transaction().execute(async (trx) => {
        const held = await claimReview(trx, {
          violationId: id,
          userId: rev1.user.id,
          stage: 'first',
          leaseMs: 60_000,
        });
        expect(held).toMatchObject({ userId: rev1.user.id, live: true });
        second = claimReview(other.db, {
          violationId: id,
          userId: rev2.user.id,
          stage: 'first',
          leaseMs: 60_000,
        }).finally(() => (settled = true));
        await new Promise((resolve) => setTimeout(resolve, 300));
        expect(settled).toBe(false); // blocked on the first claim's row
      });
      expect(await second).toBeUndefined();
    } finally {
      await other.close();
    }
  });

  it('answers the lease, renews it for the holder, and hides the case from the others', async () => {
    const id = await makeViolation(tdb.db, camA, { observedAt: new Date('2026-10-01T00:00:00Z') });
    const first = await claim(rev1, id);
    expect(first.status).toBe(200);
    expect(claimAnswer.safeParse(first.body).success).toBe(true);
    expect(first.body).toMatchObject({ violationId: id, stage: 'first', status: 'in_review' });
    expect(first.body.claim).toMatchObject({ mine: true, live: true });
    const lease =
      new Date(first.body.claim.expiresAt).getTime() - new Date(first.body.claim.claimedAt).getTime();
    expect(lease).toBe(10 * 60_000);
    const again = await claim(rev1, id);
    expect(again.status).toBe(200);
    const window = 'from=2026-10-01T00:00:00Z&to=2026-10-02T00:00:00Z';
    const mine = await api().get(`/api/review/queue?${window}`).set(rev1.bearer);
    expect(
      mine.body.items.map((i: { id: number; claim: { mine: boolean } }) => [i.id, i.claim.mine]),
    ).toEqual([[id, true]]);
    const theirs = await api().get(`/api/review/queue?${window}`).set(rev2.bearer);
    expect(theirs.body.items).toEqual([]);
  });

  it('lets another reviewer take a case whose lease expired; the first then cannot decide it', async () => {
    const id = await makeViolation(tdb.db, camA);
    expect((await claim(rev1, id)).status).toBe(200);
    await sql`UPDATE review_claim SET claimed_at = now() - interval '20 minutes', expires_at = now() - interval '10 minutes'
              WHERE violation_id = ${id}`.execute(tdb.db);
    const queue = await api().get('/api/review/queue?limit=200').set(rev2.bearer);
    const listed = queue.body.items.find((i: { id: number }) => i.id === id);
    expect(listed.claim).toMatchObject({ mine: false, live: false });
    expect((await claim(rev2, id)).status).toBe(200);
    const late = await decide(rev1, id, { decision: 'approve' });
    expect(late.status).toBe(409);
    expect((await decide(rev2, id, { decision: 'approve' })).status).toBe(200);
    expect(await status(id)).toBe('approved');
  });

  it('releases a case back to the queue', async () => {
    const id = await makeViolation(tdb.db, camA);
    expect((await claim(rev1, id)).status).toBe(200);
    expect((await api().post(`/api/review/${id}/release`).set(rev2.bearer)).status).toBe(409);
    expect((await api().post(`/api/review/${id}/release`).set(rev1.bearer)).status).toBe(204);
    expect(await status(id)).toBe('flagged');
    expect(
      await tdb.db.selectFrom('review_claim').selectAll().where('violation_id', '=', id).execute(),
    ).toEqual([]);
    expect((await audit(id)).map((e) => e.action)).toEqual(['violation.claim', 'violation.release']);
  });

  it('refuses to claim a case that waits for no review', async () => {
    const id = await makeViolation(tdb.db, camA);
    await claim(rev1, id);
    await decide(rev1, id, { decision: 'reject', reason: 'duplicate' });
    const res = await claim(rev2, id);
    expect(res.status).toBe(409);
    expect(res.body.error.message).toMatch(/rejected/);
    expect((await claim(rev2, 999_999)).status).toBe(404);
  });
});

describe('decisions', () => {
  it('approves a confidently read plate at once, writing a review row and an audit entry with the change', async () => {
    const id = await makeViolation(tdb.db, camA, { plate: '30A12345', confidence: 0.97 });
    await claim(rev1, id);
    const res = await decide(rev1, id, { decision: 'approve', note: 'rõ ràng' });
    expect(res.status, res.text).toBe(200);
    expect(decisionAnswer.safeParse(res.body).success).toBe(true);
    expect(res.body).toMatchObject({ status: 'approved', secondReview: { required: false, reasons: [] } });
    expect(res.body.review).toMatchObject({
      stage: 'first',
      decision: 'approve',
      plateBefore: null,
      plateAfter: null,
    });
    expect(await status(id)).toBe('approved');
    const entries = await audit(id);
    expect(entries.map((e) => e.action)).toEqual(['violation.claim', 'violation.approve']);
    expect(entries[1]).toMatchObject({ actor: `user:${rev1.user.id}` });
    expect(entries[1]!.details).toMatchObject({
      stage: 'first',
      from: 'in_review',
      to: 'approved',
      reviewId: res.body.review.id,
      plateCorrected: false,
    });
    expect(JSON.stringify(entries)).not.toContain('30A12345'); // plates stay out of the permanent log
    expect(
      await tdb.db.selectFrom('review_claim').selectAll().where('violation_id', '=', id).execute(),
    ).toEqual([]);
  });

  it('sends a corrected plate to a supervisor, keeping the original and every change', async () => {
    const id = await makeViolation(tdb.db, camA, { plate: '30A12345', confidence: 0.97 });
    await claim(rev1, id);
    const first = await decide(rev1, id, { decision: 'approve', plate: '30a-123.46' });
    expect(first.status, first.text).toBe(200);
    expect(first.body).toMatchObject({
      status: 'second_review',
      secondReview: { required: true, reasons: ['plate_corrected'] },
      review: { plateBefore: '30A12345', plateAfter: '30A12346' },
    });
    expect((await getViolationById(tdb.db, id))!).toMatchObject({ plate: '30A12346', plateConfidence: null });

    // Not a supervisor: refused.
    expect((await claim(rev2, id)).status).toBe(403);
    const secondQueue = await api().get('/api/review/queue?stage=second&limit=200').set(sup1.bearer);
    expect(secondQueue.body.items.map((i: { id: number }) => i.id)).toContain(id);
    const c = await claim(sup1, id);
    expect(c.status, c.text).toBe(200);
    expect(c.body).toMatchObject({ stage: 'second', status: 'second_review' });
    const second = await decide(sup1, id, { decision: 'approve', plate: '30A-123.47' });
    expect(second.status, second.text).toBe(200);
    expect(second.body).toMatchObject({
      status: 'approved',
      review: { stage: 'second', plateBefore: '30A12346', plateAfter: '30A12347' },
    });

    const reviews = await listReviews(tdb.db, id);
    expect(reviews.map((r) => [r.stage, r.decision, r.plateBefore, r.plateAfter, r.reviewerId])).toEqual([
      ['first', 'approve', '30A12345', '30A12346', rev1.user.id],
      ['second', 'approve', '30A12346', '30A12347', sup1.user.id],
    ]);
    const detail = await api().get(`/api/violations/${id}`).set(sup2.bearer);
    expect(violationDetail.safeParse(detail.body).success).toBe(true);
    expect(detail.body.reviews).toHaveLength(2);
    expect(detail.body).toMatchObject({ status: 'approved', plate: '30A12347' });
    expect((await audit(id)).map((e) => e.action)).toEqual([
      'violation.claim',
      'violation.approve',
      'violation.claim',
      'violation.approve',
      'violation.view',
    ]);
  });

  it('sends low-confidence reads to a second review that the first reviewer may not make', async () => {
    const id = await makeViolation(tdb.db, camB, { plate: '29B112345', confidence: 0.6 });
    await claim(sup1, id); // a supervisor may make the first review too
    const first = await decide(sup1, id, { decision: 'approve' });
    expect(first.body).toMatchObject({
      status: 'second_review',
      secondReview: { reasons: ['low_confidence'] },
    });
    const self = await claim(sup1, id);
    expect(self.status).toBe(403);
    expect(self.body.error.message).toMatch(/another supervisor/);
    const sup1Queue = await api().get('/api/review/queue?stage=second&limit=200').set(sup1.bearer);
    expect(sup1Queue.body.items.map((i: { id: number }) => i.id)).not.toContain(id);
    expect((await claim(sup2, id)).status).toBe(200);
    const res = await decide(sup2, id, { decision: 'reject', reason: 'plate_unreadable', note: 'mờ' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      status: 'rejected',
      review: { stage: 'second', reasonCode: 'plate_unreadable' },
    });
  });

  it('escalates to a supervisor with a note; a second review cannot escalate', async () => {
    const id = await makeViolation(tdb.db, camA);
    await claim(rev1, id);
    const res = await decide(rev1, id, { decision: 'escalate', note: 'xe ưu tiên?' });
    expect(res.body).toMatchObject({ status: 'second_review', secondReview: { reasons: ['escalated'] } });
    await claim(sup1, id);
    const again = await decide(sup1, id, { decision: 'escalate', note: 'again' });
    expect(again.status).toBe(400);
    expect(await status(id)).toBe('second_review');
  });

  it('rejects only with a listed reason, and "other" only with a note', async () => {
    const reasons = await api().get('/api/review/reasons').set(rev1.bearer);
    expect(reasons.body.items.map((r: { code: string }) => r.code)).toContain('emergency_vehicle');
    const id = await makeViolation(tdb.db, camA);
    await claim(rev1, id);
    expect((await decide(rev1, id, { decision: 'reject', reason: 'dont_like_it' })).status).toBe(400);
    expect((await decide(rev1, id, { decision: 'reject' })).status).toBe(400);
    const other = await decide(rev1, id, { decision: 'reject', reason: 'other' });
    expect(other.status).toBe(400);
    expect(other.body.error.message).toMatch(/note/);
    // A refused decision changes nothing: no review, no audit entry, the claim still held.
    expect(await listReviews(tdb.db, id)).toEqual([]);
    expect((await audit(id)).map((e) => e.action)).toEqual(['violation.claim']);
    expect(await status(id)).toBe('in_review');
    const ok = await decide(rev1, id, { decision: 'reject', reason: 'other', note: 'xe tang lễ' });
    expect(ok.body).toMatchObject({
      status: 'rejected',
      review: { reasonCode: 'other', note: 'xe tang lễ' },
    });
  });

  it('needs a plate to approve an unread one (and then a supervisor confirms it)', async () => {
    const id = await makeViolation(tdb.db, camA, { plate: null });
    await claim(rev1, id);
    const bare = await decide(rev1, id, { decision: 'approve' });
    expect(bare.status).toBe(400);
    expect(bare.body.error.message).toMatch(/plate/);
    expect((await decide(rev1, id, { decision: 'approve', plate: '3' })).status).toBe(400);
    const typed = await decide(rev1, id, { decision: 'approve', plate: '29-MĐ1 013.53' });
    expect(typed.body).toMatchObject({
      status: 'second_review',
      review: { plateBefore: null, plateAfter: '29MĐ101353' },
    });
  });

  it('refuses a decision without a claim', async () => {
    const id = await makeViolation(tdb.db, camA);
    const res = await decide(rev1, id, { decision: 'approve' });
    expect(res.status).toBe(409);
    expect(res.body.error.message).toMatch(/claim the case first/);
    expect(await status(id)).toBe('flagged');
  });
});

describe('reads of personal data', () => {
  it('records who viewed a violation and its evidence', async () => {
    const id = await makeViolation(tdb.db, camA);
    const still = await t.store.put(Buffer.from('jpeg'), 'image/jpeg');
    await addAsset(tdb.db, { violationId: id, kind: 'still_at', ...still });
    expect((await api().get(`/api/violations/${id}`).set(rev2.bearer)).status).toBe(200);
    expect((await api().get(`/api/violations/${id}/evidence/${still.sha256}`).set(rev2.bearer)).status).toBe(
      200,
    );
    const entries = await audit(id);
    expect(entries.map((e) => [e.action, e.actor])).toEqual([
      ['violation.view', `user:${rev2.user.id}`],
      ['evidence.view', `user:${rev2.user.id}`],
    ]);
    expect(entries[1]!.details).toEqual({ kind: 'still_at', sha256: still.sha256 });

    const list = await api().get('/api/violations?limit=3').set(rev2.bearer);
    const read = await tdb.db
      .selectFrom('audit_log')
      .selectAll()
      .where('action', '=', 'violation.list')
      .orderBy('id', 'desc')
      .executeTakeFirstOrThrow();
    expect(read.actor).toBe(`user:${rev2.user.id}`);
    expect(read.details['ids']).toEqual(list.body.items.map((i: { id: number }) => i.id));
  });
});

describe('audit chain', () => {
  it('stays whole after every flow above', async () => {
    expect(await verifyAuditChain(tdb.db)).toMatchObject({ ok: true });
  });
});
