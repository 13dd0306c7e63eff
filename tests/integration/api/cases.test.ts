import { sql } from 'kysely';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { caseDetail, casePage, paymentAnswer } from '../../../api/case-schemas.js';
import { decisionAnswer } from '../../../api/schemas.js';
import { verifyAuditChain } from '../../../db/repositories/audit.repository.js';
import { addAsset } from '../../../db/repositories/evidence.repository.js';
import { getNoticeById, getPublicCaseStatus } from '../../../db/repositories/notice.repository.js';
import { upsertPoliceUnit } from '../../../db/repositories/police-unit.repository.js';
import { upsertVehicleRegistration } from '../../../db/repositories/vehicle-registration.repository.js';
import { getViolationById, recordViolation } from '../../../db/repositories/violation.repository.js';
import { createCaseService } from '../../../fines/case.service.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { createTestApp, makeCamera, makeUser, type TestApp, type TestUser } from './helpers.js';

let tdb: TestDatabase;
let t: TestApp;
let cam: number;
let rev: TestUser;
let sup: TestUser;
let op: TestUser;
let elsewhere: TestUser; // reviewer of another camera only

const OWNER = 'Nguyễn Văn <b>Kiểm</b> Thử';

beforeAll(async () => {
  tdb = await createTestDatabase();
  t = await createTestApp(tdb.db);
  cam = (await makeCamera(tdb.db, 'TN-501', 'CSGT-TN')).id;
  await makeCamera(tdb.db, 'TN-502', 'CSGT-XX'); // a camera whose unit has no contact details
  await upsertPoliceUnit(tdb.db, {
    code: 'CSGT-TN',
    name: 'Phòng CSGT Công an tỉnh Thái Nguyên',
    address: 'Số 1 Đường Thử',
    phone: '0208 000 0000',
  });
  await upsertVehicleRegistration(tdb.db, {
    plate: '20A11111',
    vehicleClass: 'car',
    ownerName: OWNER,
    ownerAddress: 'Số 10 <script>alert(1)</script>',
  });
  await upsertVehicleRegistration(tdb.db, {
    plate: '20C22222',
    vehicleClass: 'car',
    ownerKind: 'organisation',
    ownerName: 'Công ty TNHH Thử',
    ownerAddress: 'Khu công nghiệp Thử',
  });
  rev = await makeUser(tdb.db, ['reviewer']);
  sup = await makeUser(tdb.db, ['supervisor']);
  op = await makeUser(tdb.db, ['operator']);
  elsewhere = await makeUser(tdb.db, [{ role: 'reviewer', scope: 'camera:TN-502' }]);
});

afterAll(async () => {
  await t?.close();
  await tdb?.drop();
});

const api = () => request(t.app.app);
const DAY = 86_400_000;

/** Records a violation and approves it through the review API; returns the decision answer's case. */
async function approved(v: { plate: string; observedAt: Date; ruleCode?: string; details?: object }) {
  const { id } = await recordViolation(tdb.db, {
    cameraId: cam,
    trackKey: `case-${Math.random()}`,
    ruleCode: v.ruleCode ?? 'red_light',
    observedAt: v.observedAt,
    vehicleClass: 'car',
    sceneConfigVersion: 1,
    plate: v.plate,
    plateConfidence: 0.97,
    details: (v.details ?? {}) as never,
  });
  expect((await api().post(`/api/review/${id}/claim`).set(rev.bearer)).status).toBe(200);
  const res = await api().post(`/api/review/${id}/decision`).set(rev.bearer).send({ decision: 'approve' });
  expect(res.status, res.text).toBe(200);
  expect(decisionAnswer.safeParse(res.body).success).toBe(true);
  return { violationId: id, decision: res.body };
}

const recent = () => new Date(Date.now() - 2 * DAY);

describe('approval opens a case with the sanction in force at capture time', () => {
  it('takes range, default midpoint, points and citation from the rule table, flagging provisional rows', async () => {
    const { violationId, decision } = await approved({ plate: '20A11111', observedAt: recent() });
    expect(decision.status).toBe('approved');
    // Captured after 15 Aug 2026: the Decree 168 amounts carried over as provisional rows.
    expect(decision.case).toMatchObject({
      opened: true,
      created: true,
      state: 'draft',
      sanction: {
        citation: '6.9.b',
        fineMinVnd: 18_000_000,
        fineMaxVnd: 20_000_000,
        fineAmountVnd: 19_000_000,
        points: 4,
        provisional: true,
        descriptionVi: 'Không chấp hành hiệu lệnh của đèn tín hiệu giao thông',
      },
    });
    expect(decision.case.noticeCode).toMatch(/^PN-/);
    const open = await tdb.db
      .selectFrom('audit_log')
      .selectAll()
      .where('action', '=', 'case.open')
      .where('entity_id', '=', String(decision.case.caseId))
      .executeTakeFirstOrThrow();
    expect(open.details).toMatchObject({ violationId, citation: '6.9.b', provisional: true });
  });

  it('uses the Decree 168 rows for a violation captured before the amendment, and the speed tier', async () => {
    const before = await approved({ plate: '20A11111', observedAt: new Date('2026-08-10T03:00:00Z') });
    expect(before.decision.case.sanction).toMatchObject({ legalBasis: '168/2024/NĐ-CP', provisional: false });
    const speeding = await approved({
      plate: '20A11111',
      observedAt: recent(),
      ruleCode: 'speeding',
      details: { speedExcessKmh: 25.4, measuredKmh: 75.4, limitKmh: 50, toleranceKmh: 0 },
    });
    expect(speeding.decision.case.sanction).toMatchObject({
      citation: '6.6.a',
      fineMinVnd: 6_000_000,
      fineMaxVnd: 8_000_000,
      fineAmountVnd: 7_000_000,
    });
  });

  it('opens no case when no rule applies, and says why', async () => {
    const { decision } = await approved({ plate: '20A11111', observedAt: recent(), ruleCode: 'no_helmet' });
    expect(decision.case).toEqual({ opened: false, reason: 'no_sanction_rule' });
  });
});

describe('the case procedure over the API', () => {
  let caseId: number;
  let violationId: number;
  beforeAll(async () => {
    const a = await approved({ plate: '20A11111', observedAt: recent() });
    caseId = a.decision.case.caseId;
    violationId = a.violationId;
    await addAsset(tdb.db, {
      violationId,
      kind: 'still_at',
      mediaType: 'image/jpeg',
      sha256: 'b'.repeat(64),
      sizeBytes: 10,
      storageUri: 'sha256/bb/x.jpg',
    });
  });

  it('is not public before the notice is sent', async () => {
    expect(await getPublicCaseStatus(tdb.db, violationId)).toBeUndefined();
  });

  it('issues the notice after reading the owner from the registry (audited), then shows it publicly without owner data', async () => {
    const res = await api().post(`/api/cases/${caseId}/issue`).set(rev.bearer);
    expect(res.status, res.text).toBe(200);
    expect(caseDetail.safeParse(res.body).success).toBe(true);
    expect(res.body).toMatchObject({ state: 'issued', offenderKind: 'individual' });
    expect(res.body.allowedActions).toEqual(['deliver', 'escalate', 'respond', 'cancel', 'expire']);
    expect((await getViolationById(tdb.db, violationId))!.status).toBe('notified');
    const read = await tdb.db
      .selectFrom('audit_log')
      .selectAll()
      .where('action', '=', 'owner.read')
      .where('entity_id', '=', String(caseId))
      .execute();
    expect(read.map((r) => r.details)).toEqual([
      { purpose: 'notice.issue', registry: 'local', violationId, found: true },
    ]);
    const status = await getPublicCaseStatus(tdb.db, violationId);
    expect(status).toMatchObject({
      state: 'issued',
      fineMinVnd: 18_000_000,
      fineMaxVnd: 20_000_000,
      fineDecidedVnd: null,
    });
    expect(JSON.stringify(status)).not.toMatch(/PN-|Kiểm|Số 10/);
    // Issuing twice is a conflict.
    expect((await api().post(`/api/cases/${caseId}/issue`).set(rev.bearer)).status).toBe(409);
  });

  it('prints the notice with the fields the law asks for, escaping registry text, each render audited', async () => {
    const res = await api().get(`/api/cases/${caseId}/notice`).set(sup.bearer);
    expect(res.status, res.text).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/html; charset=utf-8/);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers['content-security-policy']).toContain("default-src 'none'");
    const html = res.text;
    const notice = (await getNoticeById(tdb.db, caseId))!;
    for (const text of [
      notice.noticeCode,
      '20A11111',
      'Nguyễn Văn &lt;b&gt;Kiểm&lt;/b&gt; Thử',
      'Số 10 &lt;script&gt;alert(1)&lt;/script&gt;',
      'Không chấp hành hiệu lệnh của đèn tín hiệu giao thông',
      'Điểm b khoản 9 Điều 6',
      'Từ 18.000.000 đồng đến 20.000.000 đồng',
      'camera TN-501',
      'Phòng CSGT Công an tỉnh Thái Nguyên',
      '0208 000 0000',
      'b'.repeat(64),
    ]) {
      expect(html, text).toContain(text);
    }
    expect(html).not.toContain('<script>alert(1)');
    const renders = await tdb.db
      .selectFrom('audit_log')
      .select('details')
      .where('action', '=', 'owner.read')
      .where('entity_id', '=', String(caseId))
      .where(sql`details->>'purpose'`, '=', 'notice.render')
      .execute();
    expect(renders).toHaveLength(1);
    await api().get(`/api/cases/${caseId}/notice`).set(rev.bearer).expect(200);
    expect(
      await tdb.db
        .selectFrom('audit_log')
        .select('id')
        .where('action', '=', 'owner.read')
        .where(sql`details->>'purpose'`, '=', 'notice.render')
        .where('actor', '=', `user:${rev.user.id}`)
        .execute(),
    ).toHaveLength(1);
  });

  it('refuses the notice and the cases to roles and scopes that may not see them', async () => {
    expect((await api().get(`/api/cases/${caseId}/notice`)).status).toBe(401);
    expect((await api().get(`/api/cases/${caseId}/notice`).set(op.bearer)).status).toBe(403);
    expect((await api().get('/api/cases').set(op.bearer)).status).toBe(403);
    expect((await api().get(`/api/cases/${caseId}`).set(elsewhere.bearer)).status).toBe(404);
    expect((await api().get(`/api/cases/${caseId}/notice`).set(elsewhere.bearer)).status).toBe(404);
    expect(
      (await api().post(`/api/cases/${caseId}/decide`).set(rev.bearer).send({ decisionNumber: '1/QĐ' }))
        .status,
    ).toBe(403);
    expect(
      (await api().post(`/api/cases/${caseId}/cancel`).set(rev.bearer).send({ reason: 'x' })).status,
    ).toBe(403);
    expect((await api().post('/api/cases/deadlines/run').set(rev.bearer)).status).toBe(403);
  });

  it('runs notice → response → decision → payment in full, closing the case', async () => {
    await api().post(`/api/cases/${caseId}/deliver`).set(rev.bearer).send({}).expect(200);
    // Escalation only after 20 days: refused now.
    expect((await api().post(`/api/cases/${caseId}/escalate`).set(sup.bearer)).status).toBe(409);
    await api().post(`/api/cases/${caseId}/respond`).set(rev.bearer).expect(200);
    const wrong = await api()
      .post(`/api/cases/${caseId}/decide`)
      .set(sup.bearer)
      .send({ decisionNumber: '15/QĐ-XPHC', fineAmountVnd: 18_500_000 });
    expect(wrong.status).toBe(400);
    expect(wrong.body.error.message).toMatch(/needs a reason/);
    const decided = await api()
      .post(`/api/cases/${caseId}/decide`)
      .set(sup.bearer)
      .send({ decisionNumber: '15/QĐ-XPHC', fineAmountVnd: 18_500_000, reason: 'first offence, admitted' });
    expect(decided.status, decided.text).toBe(200);
    expect(decided.body).toMatchObject({
      state: 'decided',
      sanction: { fineAmountVnd: 18_500_000 },
      balance: { owedVnd: 18_500_000, daysLate: 0 },
    });
    expect(decided.body.deadlines.payBy).not.toBeNull();

    const pay = (body: object) => api().post(`/api/cases/${caseId}/payments`).set(rev.bearer).send(body);
    const now = new Date().toISOString();
    expect(
      (await pay({ amountVnd: 18_500_001, method: 'bank_transfer', reference: 'FT-1', paidAt: now })).status,
    ).toBe(400);
    expect((await pay({ amountVnd: 1, method: 'bitcoin', reference: 'FT-1', paidAt: now })).status).toBe(400);
    const future = new Date(Date.now() + DAY).toISOString();
    expect((await pay({ amountVnd: 1, method: 'cash', reference: 'R-0', paidAt: future })).status).toBe(400);
    const part = await pay({ amountVnd: 8_500_000, method: 'bank_transfer', reference: 'FT-1', paidAt: now });
    expect(part.status, part.text).toBe(200);
    expect(paymentAnswer.safeParse(part.body).success).toBe(true);
    expect(part.body.case).toMatchObject({ state: 'decided', balance: { owedVnd: 10_000_000 } });
    // The same receipt twice is one payment.
    expect(
      (await pay({ amountVnd: 10_000_000, method: 'bank_transfer', reference: 'FT-1', paidAt: now })).status,
    ).toBe(409);
    const rest = await pay({
      amountVnd: 10_000_000,
      method: 'cash',
      reference: 'BL-0001',
      paidAt: new Date().toISOString(),
    });
    expect(rest.status, rest.text).toBe(200);
    expect(rest.body.case).toMatchObject({ state: 'paid', balance: { owedVnd: 0 } });
    expect(rest.body.case.payments).toHaveLength(2);
    expect((await getViolationById(tdb.db, violationId))!.status).toBe('closed');
    expect(await getPublicCaseStatus(tdb.db, violationId)).toMatchObject({
      state: 'paid',
      fineDecidedVnd: 18_500_000,
    });
    expect(
      (await pay({ amountVnd: 1, method: 'cash', reference: 'BL-0002', paidAt: new Date().toISOString() }))
        .status,
    ).toBe(409);
    await expect(sql`UPDATE payment SET amount_vnd = 1`.execute(tdb.db)).rejects.toThrow(/immutable/);

    const detail = await api().get(`/api/cases/${caseId}`).set(rev.bearer);
    expect(caseDetail.safeParse(detail.body).success).toBe(true);
    const actions = await tdb.db
      .selectFrom('audit_log')
      .select('action')
      .where('entity_type', '=', 'notice')
      .where('entity_id', '=', String(caseId))
      .orderBy('id')
      .execute();
    expect(actions.map((a) => a.action)).toEqual([
      'case.open',
      'owner.read',
      'case.issue',
      'owner.read',
      'owner.read',
      'case.deliver',
      'case.respond',
      'case.decide',
      'case.payment',
      'case.payment',
      'case.settle',
      'case.view',
    ]);
  });

  it('lists cases in scope with their deadlines', async () => {
    const res = await api().get('/api/cases?state=paid,issued&limit=5').set(rev.bearer);
    expect(res.status, res.text).toBe(200);
    expect(casePage.safeParse(res.body).success).toBe(true);
    expect(res.body.items.map((c: { id: number }) => c.id)).toContain(caseId);
    expect((await api().get('/api/cases').set(elsewhere.bearer)).body.items).toEqual([]);
    expect((await api().get('/api/cases?state=bogus').set(rev.bearer)).status).toBe(400);
  });
});

describe('organisations, missing registrations and units', () => {
  it('doubles the fine range for an organisation owner when the notice is issued', async () => {
    const { decision } = await approved({ plate: '20C22222', observedAt: recent() });
    const res = await api().post(`/api/cases/${decision.case.caseId}/issue`).set(rev.bearer);
    expect(res.status, res.text).toBe(200);
    expect(res.body).toMatchObject({
      offenderKind: 'organisation',
      sanction: { fineMinVnd: 36_000_000, fineMaxVnd: 40_000_000, fineAmountVnd: 38_000_000 },
    });
  });

  it('refuses to issue when the registry has no owner (the read still happens and nothing changes)', async () => {
    const { decision } = await approved({ plate: '99Z99999', observedAt: recent() });
    const res = await api().post(`/api/cases/${decision.case.caseId}/issue`).set(rev.bearer);
    expect(res.status).toBe(409);
    expect(res.body.error.message).toMatch(/registry has no owner/);
    expect((await getNoticeById(tdb.db, decision.case.caseId))!.state).toBe('draft');
  });
});

describe('the one-year limitation', () => {
  it('is enforced by the database: no notice or decision after a year', async () => {
    const { violationId, decision } = await approved({
      plate: '20A11111',
      observedAt: new Date(Date.now() - 370 * DAY),
    });
    expect(decision.case).toMatchObject({ opened: true, state: 'draft' });
    const id = decision.case.caseId as number;
    // Around the application: the trigger refuses it.
    await expect(
      sql`UPDATE notice SET state = 'issued', issued_at = now() - interval '300 days' WHERE id = ${id}`.execute(
        tdb.db,
      ),
    ).rejects.toThrow(/limitation/);
    await expect(
      sql`UPDATE notice SET issued_at = now() WHERE id = ${id}`.execute(tdb.db),
    ).rejects.toMatchObject({ code: '23001' });
    // Through the API: refused before any owner data is read.
    const res = await api().post(`/api/cases/${id}/issue`).set(rev.bearer);
    expect(res.status).toBe(409);
    expect(res.body.error.message).toMatch(/^limitation/);
    expect(
      await tdb.db
        .selectFrom('audit_log')
        .select('id')
        .where('action', '=', 'owner.read')
        .where('entity_id', '=', String(id))
        .execute(),
    ).toEqual([]);
    // The sweep closes it as expired.
    const swept = await api().post('/api/cases/deadlines/run').set(sup.bearer);
    expect(swept.status).toBe(200);
    expect(swept.body.expired).toBeGreaterThanOrEqual(1);
    expect((await getNoticeById(tdb.db, id))!.state).toBe('expired');
    expect((await getViolationById(tdb.db, violationId))!.status).toBe('expired');
  });

  it('also refuses a decision recorded past the limitation even when the notice went out in time', async () => {
    const { decision } = await approved({ plate: '20A11111', observedAt: new Date(Date.now() - 300 * DAY) });
    const id = decision.case.caseId as number;
    await sql`UPDATE notice SET state = 'issued', issued_at = now(), offender_kind = 'individual' WHERE id = ${id}`.execute(
      tdb.db,
    );
    await sql`UPDATE notice SET state = 'responded', responded_at = now() WHERE id = ${id}`.execute(tdb.db);
    await expect(
      sql`UPDATE notice SET state = 'decided', decided_at = now() + interval '70 days', due_at = now() + interval '80 days',
            decision_number = 'Q-1' WHERE id = ${id}`.execute(tdb.db),
    ).rejects.toThrow(/limitation/);
    await sql`UPDATE notice SET state = 'decided', decided_at = now(), due_at = now() + interval '10 days',
            decision_number = 'Q-2' WHERE id = ${id}`.execute(tdb.db);
  });
});

describe('deadlines over time (a service with its own clock)', () => {
  it('escalates after 20 days, marks an unpaid decision overdue, and charges late interest', async () => {
    let clock = Date.now();
    const cases = createCaseService(tdb.db, { now: () => new Date(clock) });
    const actor = { actor: `user:${sup.user.id}`, userId: sup.user.id };
    const { decision } = await approved({ plate: '20A11111', observedAt: recent() });
    const id = decision.case.caseId as number;
    const issued = await cases.act(actor, id, 'issue', {});
    // Just past the 20-day period (whose end moves to a working day when it falls on a weekend or holiday).
    const escalateAfter = Date.parse(issued.deadlines.escalateAfter!);
    expect(escalateAfter - clock).toBeGreaterThanOrEqual(20 * DAY);
    expect(escalateAfter - clock).toBeLessThan(26 * DAY);
    clock = escalateAfter - 60_000;
    expect((await cases.runDeadlines('system:test')).escalated).toBe(0);
    clock = escalateAfter + 1;
    const swept = await cases.runDeadlines('system:test');
    expect(swept.escalated).toBeGreaterThanOrEqual(1);
    const escalated = await cases.get(actor, id);
    expect(escalated.state).toBe('escalated');
    const entry = await tdb.db
      .selectFrom('audit_log')
      .select('details')
      .where('action', '=', 'case.escalate')
      .where('entity_id', '=', String(id))
      .executeTakeFirstOrThrow();
    expect(entry.details).toMatchObject({
      automatic: true,
      notify: ['vehicle_registration', 'vehicle_inspection'],
    });

    await cases.act(actor, id, 'respond', {});
    const decided = await cases.act(actor, id, 'decide', { decisionNumber: '77/QĐ-XPHC' });
    // 3 days past the payment deadline (10 days from the day after the decision, or the next working day).
    clock = Date.parse(decided.deadlines.payBy!) + 3 * DAY;
    expect((await cases.runDeadlines('system:test')).overdue).toBeGreaterThanOrEqual(1);
    const overdue = await cases.get(actor, id);
    expect(overdue.state).toBe('overdue');
    expect(overdue.balance).toMatchObject({ principalOutstandingVnd: 19_000_000, daysLate: 3 });
    expect(overdue.balance!.interestOutstandingVnd).toBe(3 * 9_500);
    const first = await cases.recordPayment(actor, id, {
      amountVnd: 19_000_000,
      method: 'national_portal',
      reference: 'DVC-0001',
      paidAt: new Date(clock),
    });
    expect(first.payment).toMatchObject({ principalVnd: 19_000_000, interestVnd: 0, daysLate: 3 });
    expect(first.case).toMatchObject({ state: 'overdue', balance: { owedVnd: 28_500 } });
    const second = await cases.recordPayment(actor, id, {
      amountVnd: 28_500,
      method: 'national_portal',
      reference: 'DVC-0002',
      paidAt: new Date(clock),
    });
    expect(second.payment).toMatchObject({ principalVnd: 0, interestVnd: 28_500 });
    expect(second.case.state).toBe('paid');
    const settle = await tdb.db
      .selectFrom('audit_log')
      .select('details')
      .where('action', '=', 'case.settle')
      .where('entity_id', '=', String(id))
      .executeTakeFirstOrThrow();
    expect(settle.details).toMatchObject({ warningLifted: true });
  });
});

describe('audit', () => {
  it('keeps a verifiable chain with no owner data in it', async () => {
    const check = await verifyAuditChain(tdb.db);
    expect(check.ok).toBe(true);
    const leaked = await tdb.db
      .selectFrom('audit_log')
      .select('id')
      .where(sql`details::text`, 'like', '%Kiểm%')
      .execute();
    expect(leaked).toEqual([]);
  });
});
