import { AppError } from '../../core/errors.js';
import { mapDbErrors } from '../pg-errors.js';
import type {
  DbExecutor,
  JsonObject,
  NoticeRow,
  NoticeState,
  OffenderKind,
  PlateColor,
  ViolationStatus,
} from '../schema.js';
import { scopeCondition, type ViolationScope } from './violation.repository.js';

/**
 * Fine notices, which are also the fine cases: one per violation. Amount range, points and citation are
 * copied from the sanction rule in force on the day of the violation, so that a later amendment never
 * changes an issued notice. The state machine is fines/case-machine.ts; the database checks each
 * state's timestamps and refuses a notice or decision after the one-year limitation.
 * No owner data is stored here (the registry is read when a notice is produced).
 */

export interface Notice {
  id: number;
  violationId: number;
  noticeCode: string;
  state: NoticeState;
  sanctionRuleId: number | null;
  plate: string;
  vehicleClass: string;
  fineAmountVnd: number;
  points: number;
  legalBasis: string;
  citation: string;
  issuedBy: number | null;
  issuedAt: Date | null;
  dueAt: Date | null;
  deliveredAt: Date | null;
  paidAt: Date | null;
  cancelledAt: Date | null;
  cancelReason: string | null;
  fineMinVnd: number | null;
  fineMaxVnd: number | null;
  provisional: boolean;
  offenderKind: OffenderKind | null;
  fineReason: string | null;
  escalatedAt: Date | null;
  respondedAt: Date | null;
  decidedAt: Date | null;
  decisionNumber: string | null;
  expiredAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface NewNotice {
  violationId: number;
  /** Public reference, 6–40 of A–Z, 0–9 and '-'; a collision is a conflict (make a new code). */
  noticeCode: string;
  plate: string;
  vehicleClass: string;
  fineAmountVnd: number;
  points: number;
  legalBasis: string;
  citation: string;
  sanctionRuleId?: number | null;
  /** 'draft' (default) or 'issued' (then issuedAt is required). */
  state?: 'draft' | 'issued';
  issuedBy?: number | null;
  issuedAt?: Date | null;
  dueAt?: Date | null;
  /** The sanction rule's range (fineAmountVnd must lie in it). */
  fineMinVnd?: number | null;
  fineMaxVnd?: number | null;
  provisional?: boolean;
}

/** States a citizen looking up a plate may see: the notice has been sent (drafts, cancelled and expired cases are not shown). */
export const PUBLIC_NOTICE_STATES: readonly NoticeState[] = [
  'issued',
  'delivered',
  'escalated',
  'responded',
  'decided',
  'overdue',
  'paid',
];

function toNotice(row: NoticeRow): Notice {
  return {
    id: row.id,
    violationId: row.violation_id,
    noticeCode: row.notice_code,
    state: row.state,
    sanctionRuleId: row.sanction_rule_id,
    plate: row.plate,
    vehicleClass: row.vehicle_class,
    fineAmountVnd: row.fine_amount_vnd,
    points: row.points,
    legalBasis: row.legal_basis,
    citation: row.citation,
    issuedBy: row.issued_by,
    issuedAt: row.issued_at,
    dueAt: row.due_at,
    deliveredAt: row.delivered_at,
    paidAt: row.paid_at,
    cancelledAt: row.cancelled_at,
    cancelReason: row.cancel_reason,
    fineMinVnd: row.fine_min_vnd,
    fineMaxVnd: row.fine_max_vnd,
    provisional: row.provisional,
    offenderKind: row.offender_kind,
    fineReason: row.fine_reason,
    escalatedAt: row.escalated_at,
    respondedAt: row.responded_at,
    decidedAt: row.decided_at,
    decisionNumber: row.decision_number,
    expiredAt: row.expired_at,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/** Idempotent per violation: `created` is false when the violation already has a notice (returned). */
export async function createNotice(
  db: DbExecutor,
  n: NewNotice,
): Promise<{ notice: Notice; created: boolean }> {
  if (!Number.isSafeInteger(n.fineAmountVnd) || n.fineAmountVnd <= 0) {
    throw new AppError('bad_request', 'notice fine must be a positive integer amount of VND', {
      permanent: true,
    });
  }
  const inserted = await mapDbErrors('notice insert', () =>
    db
      .insertInto('notice')
      .values({
        violation_id: n.violationId,
        notice_code: n.noticeCode,
        state: n.state ?? 'draft',
        sanction_rule_id: n.sanctionRuleId ?? null,
        plate: n.plate,
        vehicle_class: n.vehicleClass,
        fine_amount_vnd: n.fineAmountVnd,
        points: n.points,
        legal_basis: n.legalBasis,
        citation: n.citation,
        issued_by: n.issuedBy ?? null,
        issued_at: n.issuedAt ?? null,
        due_at: n.dueAt ?? null,
        fine_min_vnd: n.fineMinVnd ?? null,
        fine_max_vnd: n.fineMaxVnd ?? null,
        provisional: n.provisional ?? false,
      })
      .onConflict((oc) => oc.column('violation_id').doNothing())
      .returningAll()
      .executeTakeFirst(),
  );
  if (inserted) return { notice: toNotice(inserted), created: true };
  const existing = await getNoticeByViolationId(db, n.violationId);
  if (!existing) {
    throw new AppError(
      'conflict',
      `notice of violation ${n.violationId}: concurrent insert not visible; retry`,
      {
        details: { violationId: n.violationId },
      },
    );
  }
  return { notice: existing, created: false };
}

export async function getNoticeByCode(db: DbExecutor, noticeCode: string): Promise<Notice | undefined> {
  const row = await db
    .selectFrom('notice')
    .selectAll()
    .where('notice_code', '=', noticeCode)
    .executeTakeFirst();
  return row && toNotice(row);
}

export async function getNoticeByViolationId(
  db: DbExecutor,
  violationId: number,
): Promise<Notice | undefined> {
  const row = await db
    .selectFrom('notice')
    .selectAll()
    .where('violation_id', '=', violationId)
    .executeTakeFirst();
  return row && toNotice(row);
}

/** A plate's notices, newest first; by default only those a citizen may see (not drafts or cancelled). */
export async function listNoticesByPlate(
  db: DbExecutor,
  plate: string,
  options: { states?: readonly NoticeState[]; limit?: number } = {},
): Promise<Notice[]> {
  const states = options.states ?? PUBLIC_NOTICE_STATES;
  if (states.length === 0) return [];
  const rows = await db
    .selectFrom('notice')
    .selectAll()
    .where('plate', '=', plate)
    .where('state', 'in', [...states])
    .orderBy('issued_at', (ob) => ob.desc().nullsLast())
    .orderBy('id', 'desc')
    .limit(options.limit ?? 100)
    .execute();
  return rows.map(toNotice);
}

export interface NoticeTransition {
  from: NoticeState | readonly NoticeState[];
  to: NoticeState;
  /** When it happened (default now): sets issued_at, delivered_at, paid_at or cancelled_at. */
  at?: Date;
  dueAt?: Date;
  issuedBy?: number;
  cancelReason?: string;
}

/** Compare-and-set of the notice state; undefined when missing or not in `from`. */
export async function updateNoticeState(
  db: DbExecutor,
  id: number,
  t: NoticeTransition,
): Promise<Notice | undefined> {
  const from = typeof t.from === 'string' ? [t.from] : [...t.from];
  if (from.length === 0) return undefined;
  const at = t.at ?? new Date();
  const row = await mapDbErrors(`notice ${t.to} update`, () =>
    db
      .updateTable('notice')
      .set({
        state: t.to,
        ...(t.to === 'issued' && { issued_at: at }),
        ...(t.to === 'delivered' && { delivered_at: at }),
        ...(t.to === 'paid' && { paid_at: at }),
        ...(t.to === 'cancelled' && { cancelled_at: at, cancel_reason: t.cancelReason ?? null }),
        ...(t.dueAt !== undefined && { due_at: t.dueAt }),
        ...(t.issuedBy !== undefined && { issued_by: t.issuedBy }),
      })
      .where('id', '=', id)
      .where('state', 'in', from)
      .returningAll()
      .executeTakeFirst(),
  );
  return row && toNotice(row);
}

export async function getNoticeById(db: DbExecutor, id: number): Promise<Notice | undefined> {
  const row = await db.selectFrom('notice').selectAll().where('id', '=', id).executeTakeFirst();
  return row && toNotice(row);
}

/** The columns a case transition may set (fines/case-machine.ts CaseChanges, plus the facts). */
export interface NoticeChanges {
  issuedAt?: Date;
  issuedBy?: number | null;
  deliveredAt?: Date;
  escalatedAt?: Date;
  respondedAt?: Date;
  decidedAt?: Date;
  dueAt?: Date;
  decisionNumber?: string;
  fineAmountVnd?: number;
  fineMinVnd?: number;
  fineMaxVnd?: number;
  fineReason?: string | null;
  offenderKind?: OffenderKind;
  paidAt?: Date;
  cancelledAt?: Date;
  cancelReason?: string;
  expiredAt?: Date;
}

/**
 * Compare-and-set of a case: moves it from `from` to `to` and sets the columns given, in one UPDATE.
 * Undefined when the case is missing or no longer in `from` (someone else moved it: reload). Constraint
 * errors (a state without its timestamps, a fine outside its range, the limitation trigger) come back as
 * AppErrors (400, or 409 for the limitation).
 */
export async function transitionNotice(
  db: DbExecutor,
  id: number,
  t: { from: NoticeState; to: NoticeState; set: NoticeChanges },
): Promise<Notice | undefined> {
  const c = t.set;
  const row = await mapDbErrors(`notice ${t.to} update`, () =>
    db
      .updateTable('notice')
      .set({
        state: t.to,
        ...(c.issuedAt !== undefined && { issued_at: c.issuedAt }),
        ...(c.issuedBy !== undefined && { issued_by: c.issuedBy }),
        ...(c.deliveredAt !== undefined && { delivered_at: c.deliveredAt }),
        ...(c.escalatedAt !== undefined && { escalated_at: c.escalatedAt }),
        ...(c.respondedAt !== undefined && { responded_at: c.respondedAt }),
        ...(c.decidedAt !== undefined && { decided_at: c.decidedAt }),
        ...(c.dueAt !== undefined && { due_at: c.dueAt }),
        ...(c.decisionNumber !== undefined && { decision_number: c.decisionNumber }),
        ...(c.fineAmountVnd !== undefined && { fine_amount_vnd: c.fineAmountVnd }),
        ...(c.fineMinVnd !== undefined && { fine_min_vnd: c.fineMinVnd }),
        ...(c.fineMaxVnd !== undefined && { fine_max_vnd: c.fineMaxVnd }),
        ...(c.fineReason !== undefined && { fine_reason: c.fineReason }),
        ...(c.offenderKind !== undefined && { offender_kind: c.offenderKind }),
        ...(c.paidAt !== undefined && { paid_at: c.paidAt }),
        ...(c.cancelledAt !== undefined && { cancelled_at: c.cancelledAt }),
        ...(c.cancelReason !== undefined && { cancel_reason: c.cancelReason }),
        ...(c.expiredAt !== undefined && { expired_at: c.expiredAt }),
      })
      .where('id', '=', id)
      .where('state', '=', t.from)
      .returningAll()
      .executeTakeFirst(),
  );
  return row && toNotice(row);
}

/** A case with what the staff views and the notice need from its violation, camera and sanction rule. */
export interface CaseRecord extends Notice {
  observedAt: Date;
  ruleCode: string;
  violationStatus: ViolationStatus;
  plateColor: PlateColor | null;
  violationDetails: JsonObject;
  cameraId: number;
  cameraCode: string;
  cameraName: string;
  cameraLocation: string;
  cameraUnit: string | null;
  /** The behaviour in Vietnamese, when the sanction rule has it; else null. */
  descriptionVi: string | null;
  /** The behaviour in English (sanction_rule.description). */
  description: string | null;
}

function caseQuery(db: DbExecutor) {
  return db
    .selectFrom('notice')
    .innerJoin('violation', 'violation.id', 'notice.violation_id')
    .innerJoin('camera', 'camera.id', 'violation.camera_id')
    .leftJoin('sanction_rule', 'sanction_rule.id', 'notice.sanction_rule_id')
    .selectAll('notice')
    .select([
      'violation.observed_at',
      'violation.rule_code',
      'violation.status as violation_status',
      'violation.plate_color',
      'violation.details as violation_details',
      'camera.id as camera_id',
      'camera.code as camera_code',
      'camera.name as camera_name',
      'camera.location as camera_location',
      'camera.unit as camera_unit',
      'sanction_rule.description_vi',
      'sanction_rule.description',
    ]);
}

type CaseRow = NoticeRow & {
  observed_at: Date;
  rule_code: string;
  violation_status: ViolationStatus;
  plate_color: PlateColor | null;
  violation_details: JsonObject;
  camera_id: number;
  camera_code: string;
  camera_name: string;
  camera_location: string;
  camera_unit: string | null;
  description_vi: string | null;
  description: string | null;
};

function toCaseRecord(row: CaseRow): CaseRecord {
  return {
    ...toNotice(row),
    observedAt: row.observed_at,
    ruleCode: row.rule_code,
    violationStatus: row.violation_status,
    plateColor: row.plate_color,
    violationDetails: row.violation_details,
    cameraId: row.camera_id,
    cameraCode: row.camera_code,
    cameraName: row.camera_name,
    cameraLocation: row.camera_location,
    cameraUnit: row.camera_unit,
    descriptionVi: row.description_vi,
    description: row.description,
  };
}

export async function getCaseRecord(db: DbExecutor, id: number): Promise<CaseRecord | undefined> {
  const row = await caseQuery(db).where('notice.id', '=', id).executeTakeFirst();
  return row && toCaseRecord(row);
}

export interface CaseFilter {
  scope?: ViolationScope;
  states?: readonly NoticeState[];
  cameraId?: number;
  /** Keyset: cases with id below this. */
  beforeId?: number;
  limit: number;
}

/** Cases, newest first (by id), in a scope. */
export async function listCaseRecords(db: DbExecutor, f: CaseFilter): Promise<CaseRecord[]> {
  if (!Number.isInteger(f.limit) || f.limit < 1 || f.limit > 500) {
    throw new AppError('bad_request', 'limit must be an integer from 1 to 500', { permanent: true });
  }
  let q = caseQuery(db);
  if (f.scope !== undefined) {
    const scope = f.scope;
    q = q.where((eb) => scopeCondition(eb, scope));
  }
  if (f.states !== undefined) {
    if (f.states.length === 0) return [];
    q = q.where('notice.state', 'in', [...f.states]);
  }
  if (f.cameraId !== undefined) q = q.where('violation.camera_id', '=', f.cameraId);
  if (f.beforeId !== undefined) q = q.where('notice.id', '<', f.beforeId);
  const rows = await q.orderBy('notice.id', 'desc').limit(f.limit).execute();
  return rows.map(toCaseRecord);
}

/**
 * Cases whose deadlines may call for an automatic transition, in id order: notices sent more than
 * `escalateIssuedBefore` ago without response, decisions whose payment deadline passed, and open cases
 * whose violation was recorded before `limitationObservedBefore`. The case machine decides for each.
 */
export async function listCasesDue(
  db: DbExecutor,
  due: { escalateIssuedBefore: Date; payDueBefore: Date; limitationObservedBefore: Date; limit: number },
): Promise<Notice[]> {
  const rows = await db
    .selectFrom('notice')
    .innerJoin('violation', 'violation.id', 'notice.violation_id')
    .selectAll('notice')
    .where((eb) =>
      eb.or([
        eb.and([
          eb('notice.state', 'in', ['issued', 'delivered']),
          eb('notice.issued_at', '<', due.escalateIssuedBefore),
        ]),
        eb.and([eb('notice.state', '=', 'decided'), eb('notice.due_at', '<', due.payDueBefore)]),
        eb.and([
          eb('notice.state', 'in', ['draft', 'issued', 'delivered', 'escalated', 'responded']),
          eb('violation.observed_at', '<', due.limitationObservedBefore),
        ]),
      ]),
    )
    .orderBy('notice.id')
    .limit(due.limit)
    .execute();
  return rows.map(toNotice);
}

// ---------------------------------------------------------------------------------------------------
// The public side: what the citizen lookup may show about a violation's case. No owner data, no
// notice code (it unlocks the owner view), no staff ids.

export interface PublicCaseStatus {
  violationId: number;
  /** One of PUBLIC_NOTICE_STATES. */
  state: NoticeState;
  fineMinVnd: number | null;
  fineMaxVnd: number | null;
  /** The fine decided, once there is a decision; null before (the range applies). */
  fineDecidedVnd: number | null;
  points: number;
  legalBasis: string;
  citation: string;
  /** Amounts carried over without verification against the text in force. */
  provisional: boolean;
  issuedAt: Date | null;
  /** Payment deadline, once decided. */
  payBy: Date | null;
  paidAt: Date | null;
}

/**
 * The public status of the cases of these violations, by violation id: only cases whose notice has
 * been sent (PUBLIC_NOTICE_STATES); a violation with no such case is absent from the map. For the
 * citizen lookup: one query for a page of violations.
 */
export async function getPublicCaseStatuses(
  db: DbExecutor,
  violationIds: readonly number[],
): Promise<Map<number, PublicCaseStatus>> {
  const out = new Map<number, PublicCaseStatus>();
  if (violationIds.length === 0) return out;
  const rows = await db
    .selectFrom('notice')
    .select([
      'violation_id',
      'state',
      'fine_min_vnd',
      'fine_max_vnd',
      'fine_amount_vnd',
      'decided_at',
      'points',
      'legal_basis',
      'citation',
      'provisional',
      'issued_at',
      'due_at',
      'paid_at',
    ])
    .where('violation_id', 'in', [...new Set(violationIds)])
    .where('state', 'in', [...PUBLIC_NOTICE_STATES])
    .execute();
  for (const r of rows) {
    out.set(r.violation_id, {
      violationId: r.violation_id,
      state: r.state,
      fineMinVnd: r.fine_min_vnd,
      fineMaxVnd: r.fine_max_vnd,
      fineDecidedVnd: r.decided_at ? r.fine_amount_vnd : null,
      points: r.points,
      legalBasis: r.legal_basis,
      citation: r.citation,
      provisional: r.provisional,
      issuedAt: r.issued_at,
      payBy: r.decided_at ? r.due_at : null,
      paidAt: r.paid_at,
    });
  }
  return out;
}

/** The public status of one violation's case, or undefined when no notice has been sent. */
export async function getPublicCaseStatus(
  db: DbExecutor,
  violationId: number,
): Promise<PublicCaseStatus | undefined> {
  return (await getPublicCaseStatuses(db, [violationId])).get(violationId);
}
