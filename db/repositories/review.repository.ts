import { sql } from 'kysely';
import { AppError } from '../../core/errors.js';
import { decodeCursor, encodeCursor } from '../cursor.js';
import { mapDbErrors } from '../pg-errors.js';
import type { DbExecutor, ReviewDecision, ReviewRow, ReviewStage } from '../schema.js';
import {
  scopeCondition,
  toViolationListItem,
  type ViolationListItem,
  type ViolationScope,
} from './violation.repository.js';

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
  /** 'first' (a reviewer) or 'second' (a supervisor confirming). */
  stage: ReviewStage;
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
  /** Default 'first'. */
  stage?: ReviewStage;
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
    stage: row.stage,
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
        stage: review.stage ?? 'first',
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

/** Whether `reviewerId` made a first-stage review of the violation (four eyes: they may not confirm it). */
export async function hasFirstReviewBy(
  db: DbExecutor,
  violationId: number,
  reviewerId: number,
): Promise<boolean> {
  const row = await db
    .selectFrom('review')
    .select('id')
    .where('violation_id', '=', violationId)
    .where('reviewer_id', '=', reviewerId)
    .where('stage', '=', 'first')
    .limit(1)
    .executeTakeFirst();
  return row !== undefined;
}

// ---------------------------------------------------------------------------------------------------
// Claims: the lease a reviewer holds on a case. One row per violation; the database clock decides expiry.

export interface ReviewClaim {
  violationId: number;
  userId: number;
  stage: ReviewStage;
  claimedAt: Date;
  expiresAt: Date;
  /** False once expires_at has passed (anyone may then take the case). */
  live: boolean;
}

const CLAIM_COLUMNS = [
  'review_claim.violation_id',
  'review_claim.user_id',
  'review_claim.stage',
  'review_claim.claimed_at',
  'review_claim.expires_at',
] as const;

const claimLive = sql<boolean>`review_claim.expires_at > now()`.as('live');

function toClaim(row: {
  violation_id: number;
  user_id: number;
  stage: ReviewStage;
  claimed_at: Date;
  expires_at: Date;
  live: boolean;
}): ReviewClaim {
  return {
    violationId: row.violation_id,
    userId: row.user_id,
    stage: row.stage,
    claimedAt: row.claimed_at,
    expiresAt: row.expires_at,
    live: row.live,
  };
}

/**
 * Takes (or renews) the lease on a case for `leaseMs`: succeeds when nobody holds it, when the holder's
 * lease has expired, or when `userId` holds it already. Undefined when another user holds a live lease.
 * Atomic: of two concurrent claims, exactly one gets the case (the other waits for the first to commit,
 * then finds its lease live).
 */
export async function claimReview(
  db: DbExecutor,
  claim: { violationId: number; userId: number; stage: ReviewStage; leaseMs: number },
): Promise<ReviewClaim | undefined> {
  const secs = Math.floor(claim.leaseMs / 1000);
  if (!Number.isFinite(secs) || secs < 1) {
    throw new AppError('bad_request', 'a review lease lasts at least one second', { permanent: true });
  }
  const expires = sql<Date>`now() + make_interval(secs => ${secs})`;
  const row = await mapDbErrors('review claim', () =>
    db
      .insertInto('review_claim')
      .values({
        violation_id: claim.violationId,
        user_id: claim.userId,
        stage: claim.stage,
        claimed_at: sql<Date>`now()`,
        expires_at: expires,
      })
      .onConflict((oc) =>
        oc
          .column('violation_id')
          .doUpdateSet((eb) => ({
            user_id: eb.ref('excluded.user_id'),
            stage: eb.ref('excluded.stage'),
            claimed_at: eb.ref('excluded.claimed_at'),
            expires_at: eb.ref('excluded.expires_at'),
          }))
          .where((eb) =>
            eb.or([
              eb('review_claim.expires_at', '<=', sql<Date>`now()`),
              eb('review_claim.user_id', '=', eb.ref('excluded.user_id')),
            ]),
          ),
      )
      .returning([...CLAIM_COLUMNS, claimLive])
      .executeTakeFirst(),
  );
  return row && toClaim(row);
}

export async function getReviewClaim(db: DbExecutor, violationId: number): Promise<ReviewClaim | undefined> {
  const row = await db
    .selectFrom('review_claim')
    .select([...CLAIM_COLUMNS, claimLive])
    .where('violation_id', '=', violationId)
    .executeTakeFirst();
  return row && toClaim(row);
}

/**
 * Removes `userId`'s claim on the case (live or lapsed but not taken over) and returns it; the row lock
 * taken by the DELETE makes a concurrent claim by someone else wait for this transaction. Undefined when
 * `userId` holds no claim on it.
 */
export async function takeOwnClaim(
  db: DbExecutor,
  violationId: number,
  userId: number,
): Promise<ReviewClaim | undefined> {
  const row = await db
    .deleteFrom('review_claim')
    .where('violation_id', '=', violationId)
    .where('user_id', '=', userId)
    .returning([...CLAIM_COLUMNS, claimLive])
    .executeTakeFirst();
  return row && toClaim(row);
}

// ---------------------------------------------------------------------------------------------------
// The review queue.

export interface ReviewQueueFilter {
  /** 'first': flagged cases (and lapsed claims); 'second': cases waiting for a supervisor. */
  stage: ReviewStage;
  /** The user asking: their own claims are listed, others' live claims are not; for the second stage, cases they reviewed first are not. */
  userId: number;
  scope?: ViolationScope;
  cameraId?: number;
  ruleCode?: string;
  /** observed_at >= from */
  from?: Date;
  /** observed_at < to */
  to?: Date;
  /** Plate read confidence, an unread plate counting as 0: >= minConfidence */
  minConfidence?: number;
  /** ... and <= maxConfidence */
  maxConfidence?: number;
}

export interface ReviewQueueItem extends ViolationListItem {
  claim: ReviewClaim | null;
}

export interface ReviewQueuePage {
  items: ReviewQueueItem[];
  total: number;
  nextCursor: string | null;
}

function queueQuery(db: DbExecutor, f: ReviewQueueFilter) {
  let q = db
    .selectFrom('violation')
    .innerJoin('camera', 'camera.id', 'violation.camera_id')
    .leftJoin('review_claim', 'review_claim.violation_id', 'violation.id')
    .where((eb) =>
      eb.or([
        eb('review_claim.violation_id', 'is', null),
        eb('review_claim.expires_at', '<=', sql<Date>`now()`),
        eb('review_claim.user_id', '=', f.userId),
      ]),
    );
  if (f.stage === 'first') {
    q = q.where('violation.status', 'in', ['flagged', 'in_review']);
  } else {
    q = q
      .where('violation.status', '=', 'second_review')
      .where((eb) =>
        eb.not(
          eb.exists(
            eb
              .selectFrom('review')
              .select('review.id')
              .whereRef('review.violation_id', '=', 'violation.id')
              .where('review.stage', '=', 'first')
              .where('review.reviewer_id', '=', f.userId),
          ),
        ),
      );
  }
  if (f.scope !== undefined) {
    const scope = f.scope;
    q = q.where((eb) => scopeCondition(eb, scope));
  }
  if (f.cameraId !== undefined) q = q.where('violation.camera_id', '=', f.cameraId);
  if (f.ruleCode !== undefined) q = q.where('violation.rule_code', '=', f.ruleCode);
  if (f.from !== undefined) q = q.where('violation.observed_at', '>=', f.from);
  if (f.to !== undefined) q = q.where('violation.observed_at', '<', f.to);
  const confidence = sql<number>`coalesce(violation.plate_confidence, 0)`;
  if (f.minConfidence !== undefined) q = q.where(confidence, '>=', f.minConfidence);
  if (f.maxConfidence !== undefined) q = q.where(confidence, '<=', f.maxConfidence);
  return q;
}

/**
 * The cases waiting for review, oldest observation first (the legal clock runs from detection), with a
 * keyset cursor. A case another user holds a live claim on is not listed.
 */
export async function listReviewQueue(
  db: DbExecutor,
  filter: ReviewQueueFilter,
  page: { limit: number; cursor?: string | undefined },
): Promise<ReviewQueuePage> {
  if (!Number.isInteger(page.limit) || page.limit < 1 || page.limit > 500) {
    throw new AppError('bad_request', 'limit must be an integer from 1 to 500', { permanent: true });
  }
  let q = queueQuery(db, filter);
  if (page.cursor !== undefined) {
    const after = decodeCursor(page.cursor);
    q = q.where((eb) =>
      eb(eb.refTuple('violation.observed_at', 'violation.id'), '>', eb.tuple(after.at, after.id)),
    );
  }
  const [rows, count] = await Promise.all([
    q
      .selectAll('violation')
      .select([
        'camera.code as camera_code',
        'camera.unit as camera_unit',
        'review_claim.user_id as claim_user_id',
        'review_claim.stage as claim_stage',
        'review_claim.claimed_at as claim_claimed_at',
        'review_claim.expires_at as claim_expires_at',
        sql<boolean | null>`review_claim.expires_at > now()`.as('claim_live'),
      ])
      .orderBy('violation.observed_at', 'asc')
      .orderBy('violation.id', 'asc')
      .limit(page.limit + 1)
      .execute(),
    queueQuery(db, filter)
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow(),
  ]);
  const items = rows.slice(0, page.limit).map((row): ReviewQueueItem => ({
    ...toViolationListItem(row),
    claim:
      row.claim_user_id === null ||
      row.claim_stage === null ||
      row.claim_claimed_at === null ||
      row.claim_expires_at === null
        ? null
        : {
            violationId: row.id,
            userId: row.claim_user_id,
            stage: row.claim_stage,
            claimedAt: row.claim_claimed_at,
            expiresAt: row.claim_expires_at,
            live: row.claim_live === true,
          },
  }));
  const last = items.at(-1);
  return {
    items,
    total: Number(count.n),
    nextCursor: rows.length > page.limit && last ? encodeCursor({ at: last.observedAt, id: last.id }) : null,
  };
}
