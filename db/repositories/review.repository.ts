import { mapDbErrors } from '../pg-errors.js';
import type { DbExecutor, ReviewDecision, ReviewRow } from '../schema.js';

/**
 * Reviews: a reviewer's decision on a violation. Immutable (the database refuses UPDATE); a changed
 * mind is a new review. The service that records a review also moves the violation's status and
 * appends to the audit log, in one transaction.
 */

export interface Review {
  id: number;
  violationId: number;
  reviewerId: number;
  decision: ReviewDecision;
  reasonCode: string | null;
  plateBefore: string | null;
  plateAfter: string | null;
  note: string | null;
  createdAt: Date;
}

export interface NewReview {
  violationId: number;
  reviewerId: number;
  decision: ReviewDecision;
  /** Required for 'reject' (the database checks it). */
  reasonCode?: string | null;
  plateBefore?: string | null;
  plateAfter?: string | null;
  note?: string | null;
}

function toReview(row: ReviewRow): Review {
  return {
    id: row.id,
    violationId: row.violation_id,
    reviewerId: row.reviewer_id,
    decision: row.decision,
    reasonCode: row.reason_code,
    plateBefore: row.plate_before,
    plateAfter: row.plate_after,
    note: row.note,
    createdAt: row.created_at,
  };
}

export async function addReview(db: DbExecutor, review: NewReview): Promise<Review> {
  const row = await mapDbErrors('review insert', () =>
    db
      .insertInto('review')
      .values({
        violation_id: review.violationId,
        reviewer_id: review.reviewerId,
        decision: review.decision,
        reason_code: review.reasonCode ?? null,
        plate_before: review.plateBefore ?? null,
        plate_after: review.plateAfter ?? null,
        note: review.note ?? null,
      })
      .returningAll()
      .executeTakeFirstOrThrow(),
  );
  return toReview(row);
}

/** The reviews of a violation, oldest first. */
export async function listReviews(db: DbExecutor, violationId: number): Promise<Review[]> {
  const rows = await db
    .selectFrom('review')
    .selectAll()
    .where('violation_id', '=', violationId)
    .orderBy('created_at')
    .orderBy('id')
    .execute();
  return rows.map(toReview);
}
