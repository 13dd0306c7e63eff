import { AppError } from '../../core/errors.js';
import { mapDbErrors } from '../pg-errors.js';
import type { DbExecutor, NoticeRow, NoticeState } from '../schema.js';

/**
 * Fine notices: one per violation. Amount, points and citation are copied from the sanction rule in
 * force on the day of the violation, so that a later amendment never changes an issued notice.
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
}

/** States a citizen looking up a plate may see. */
export const PUBLIC_NOTICE_STATES: readonly NoticeState[] = ['issued', 'delivered', 'paid', 'overdue'];

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
