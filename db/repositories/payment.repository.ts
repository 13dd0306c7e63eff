import { mapDbErrors } from '../pg-errors.js';
import type { DbExecutor, PaymentMethod, PaymentRow } from '../schema.js';

/**
 * Payments towards a decided fine. Rows are immutable (the database refuses UPDATE and DELETE); a
 * (method, reference) pair records one payment only, so a receipt entered twice is a conflict.
 */

export interface Payment {
  id: number;
  noticeId: number;
  amountVnd: number;
  principalVnd: number;
  interestVnd: number;
  daysLate: number;
  method: PaymentMethod;
  reference: string;
  paidAt: Date;
  recordedBy: string;
  createdAt: Date;
}

export interface NewPayment {
  noticeId: number;
  amountVnd: number;
  principalVnd: number;
  interestVnd: number;
  daysLate: number;
  method: PaymentMethod;
  reference: string;
  paidAt: Date;
  /** Audit actor of the person recording it. */
  recordedBy: string;
}

function toPayment(row: PaymentRow): Payment {
  return {
    id: row.id,
    noticeId: row.notice_id,
    amountVnd: row.amount_vnd,
    principalVnd: row.principal_vnd,
    interestVnd: row.interest_vnd,
    daysLate: row.days_late,
    method: row.method,
    reference: row.reference,
    paidAt: row.paid_at,
    recordedBy: row.recorded_by,
    createdAt: row.created_at,
  };
}

export async function addPayment(db: DbExecutor, p: NewPayment): Promise<Payment> {
  const row = await mapDbErrors('payment insert', () =>
    db
      .insertInto('payment')
      .values({
        notice_id: p.noticeId,
        amount_vnd: p.amountVnd,
        principal_vnd: p.principalVnd,
        interest_vnd: p.interestVnd,
        days_late: p.daysLate,
        method: p.method,
        reference: p.reference,
        paid_at: p.paidAt,
        recorded_by: p.recordedBy,
      })
      .returningAll()
      .executeTakeFirstOrThrow(),
  );
  return toPayment(row);
}

/** The payments of a case in time order. */
export async function listPayments(db: DbExecutor, noticeId: number): Promise<Payment[]> {
  const rows = await db
    .selectFrom('payment')
    .selectAll()
    .where('notice_id', '=', noticeId)
    .orderBy('paid_at')
    .orderBy('id')
    .execute();
  return rows.map(toPayment);
}
