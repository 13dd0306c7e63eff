import { AppError } from '../../core/errors.js';
import { inTransaction } from '../../db/database.js';
import { appendAudit } from '../../db/repositories/audit.repository.js';
import {
  addReview,
  claimReview,
  getReviewClaim,
  hasFirstReviewBy,
  listReviewQueue,
  takeOwnClaim,
  type Review,
  type ReviewClaim,
} from '../../db/repositories/review.repository.js';
import {
  getViolationById,
  setViolationPlate,
  updateViolationStatus,
  type ViolationScope,
} from '../../db/repositories/violation.repository.js';
import type { Db, DbExecutor, ReviewStage } from '../../db/schema.js';
import { openCaseForViolation } from '../../fines/case.service.js';
import { hasAnyRole, inScope, scopeFor, type Principal, type Role, type ScopeSet } from '../principal.js';
import { planDecision, stageOfStatus } from './review-policy.js';
import { toViolationView } from './views.js';
import type { ClaimView, ReviewService, ReviewView } from './types.js';

/**
 * The review queue: claims with a lease, decisions through the state machine in review-policy.ts. Every
 * state change is one transaction: lease row, compare-and-set on violation.status, review row, plate
 * correction and audit entry commit together or not at all. Locks are always taken in the same order
 * (claim row, violation row, audit head), so concurrent claims and decisions wait rather than deadlock.
 */

export interface ReviewPolicy {
  /** How long a claim holds a case. */
  leaseMs: number;
  /** Plate reads below this confidence need a supervisor's confirmation. */
  secondReviewBelow: number;
}

export const DEFAULT_REVIEW_POLICY: Readonly<ReviewPolicy> = Object.freeze({
  leaseMs: 10 * 60_000,
  secondReviewBelow: 0.9,
});

/** Who may review at each stage (admins may do both). */
const STAGE_ROLES: Record<ReviewStage, readonly Role[]> = {
  first: ['reviewer', 'supervisor'],
  second: ['supervisor'],
};

export function toReviewView(r: Review): ReviewView {
  return {
    id: r.id,
    stage: r.stage,
    decision: r.decision,
    reasonCode: r.reasonCode,
    plateBefore: r.plateBefore,
    plateAfter: r.plateAfter,
    note: r.note,
    reviewerId: r.reviewerId,
    createdAt: r.createdAt.toISOString(),
  };
}

export function toClaimView(c: ReviewClaim, userId: number | null): ClaimView {
  return {
    stage: c.stage,
    claimedAt: c.claimedAt.toISOString(),
    expiresAt: c.expiresAt.toISOString(),
    mine: c.userId === userId,
    live: c.live,
  };
}

export function toRepositoryScope(scope: ScopeSet): ViolationScope | undefined {
  return scope.all ? undefined : { cameraCodes: scope.cameraCodes, units: scope.units };
}

function reviewerOf(principal: Principal): { id: number } {
  if (!principal.user) {
    throw new AppError(
      'forbidden',
      'reviewing needs a personal account (a session or a personal access token)',
    );
  }
  return principal.user;
}

export function createReviewService(
  db: Db,
  policy: Readonly<ReviewPolicy> = DEFAULT_REVIEW_POLICY,
): ReviewService {
  /** The case, if it exists and the principal may review it at some stage; 404 otherwise (scope is not revealed). */
  const loadInScope = async (trx: DbExecutor, principal: Principal, violationId: number) => {
    const v = await getViolationById(trx, violationId);
    if (!v || !inScope(scopeFor(principal, STAGE_ROLES.first), { code: v.cameraCode, unit: v.cameraUnit })) {
      throw new AppError('not_found', 'no such violation');
    }
    return v;
  };

  /** Refuses a second-stage action to anyone but a supervisor in scope who did not make the first review. */
  const checkSecondStage = async (
    trx: DbExecutor,
    principal: Principal,
    userId: number,
    v: { id: number; cameraCode: string; cameraUnit: string | null },
  ) => {
    const scope = scopeFor(principal, STAGE_ROLES.second);
    if (
      !hasAnyRole(principal, STAGE_ROLES.second) ||
      !inScope(scope, { code: v.cameraCode, unit: v.cameraUnit })
    ) {
      throw new AppError('forbidden', 'this case waits for a supervisor’s second review');
    }
    if (await hasFirstReviewBy(trx, v.id, userId)) {
      throw new AppError(
        'forbidden',
        'you made the first review of this case: another supervisor must confirm it',
      );
    }
  };

  return {
    async queue(principal, q) {
      const user = reviewerOf(principal);
      if (!hasAnyRole(principal, STAGE_ROLES[q.stage])) {
        throw new AppError('forbidden', 'the second-review queue is for supervisors');
      }
      const scope = scopeFor(principal, STAGE_ROLES[q.stage]);
      const page = await listReviewQueue(
        db,
        {
          stage: q.stage,
          userId: user.id,
          ...(toRepositoryScope(scope) && { scope: toRepositoryScope(scope) }),
          ...(q.cameraId !== undefined && { cameraId: q.cameraId }),
          ...(q.ruleCode !== undefined && { ruleCode: q.ruleCode }),
          ...(q.from !== undefined && { from: q.from }),
          ...(q.to !== undefined && { to: q.to }),
          ...(q.minConfidence !== undefined && { minConfidence: q.minConfidence }),
          ...(q.maxConfidence !== undefined && { maxConfidence: q.maxConfidence }),
        },
        { limit: q.limit, cursor: q.cursor },
      );
      // The queue shows plates (personal data): the read is recorded.
      await appendAudit(db, {
        actor: principal.actor,
        action: 'violation.list',
        entityType: 'violation',
        details: { via: 'review.queue', stage: q.stage, ids: page.items.map((i) => i.id) },
      });
      return {
        stage: q.stage,
        items: page.items.map((item) => ({
          ...toViolationView(item, []),
          claim: item.claim && toClaimView(item.claim, user.id),
        })),
        total: page.total,
        nextCursor: page.nextCursor,
      };
    },

    async claim(principal, violationId) {
      const user = reviewerOf(principal);
      return inTransaction(db, async (trx) => {
        const v = await loadInScope(trx, principal, violationId);
        const stage = stageOfStatus(v.status);
        if (!stage) throw new AppError('conflict', `the case is ${v.status}: it waits for no review`);
        if (stage === 'second') await checkSecondStage(trx, principal, user.id, v);
        const claim = await claimReview(trx, {
          violationId,
          userId: user.id,
          stage,
          leaseMs: policy.leaseMs,
        });
        if (!claim) {
          const holder = await getReviewClaim(trx, violationId);
          throw new AppError(
            'conflict',
            `another reviewer holds this case${holder ? ` until ${holder.expiresAt.toISOString()}` : ''}`,
          );
        }
        const to = stage === 'first' ? 'in_review' : 'second_review';
        const moved = await updateViolationStatus(trx, violationId, {
          from: stage === 'first' ? ['flagged', 'in_review'] : ['second_review'],
          to,
        });
        if (!moved) throw new AppError('conflict', 'the case changed while it was being claimed; reload it');
        await appendAudit(trx, {
          actor: principal.actor,
          action: 'violation.claim',
          entityType: 'violation',
          entityId: violationId,
          details: { stage, from: v.status, to, leaseExpiresAt: claim.expiresAt.toISOString() },
        });
        return { violationId, stage, status: to, claim: toClaimView(claim, user.id) };
      });
    },

    async release(principal, violationId) {
      const user = reviewerOf(principal);
      await inTransaction(db, async (trx) => {
        const claim = await takeOwnClaim(trx, violationId, user.id);
        if (!claim) throw new AppError('conflict', 'you hold no claim on this case');
        let to: string = 'second_review';
        if (claim.stage === 'first') {
          to = 'flagged';
          const moved = await updateViolationStatus(trx, violationId, { from: 'in_review', to: 'flagged' });
          if (!moved) throw new AppError('conflict', 'the case is no longer in review');
        }
        await appendAudit(trx, {
          actor: principal.actor,
          action: 'violation.release',
          entityType: 'violation',
          entityId: violationId,
          details: { stage: claim.stage, to },
        });
      });
    },

    async decide(principal, violationId, decision) {
      const user = reviewerOf(principal);
      return inTransaction(db, async (trx) => {
        // Deleting our own claim row locks it: a concurrent takeover waits for this transaction.
        const claim = await takeOwnClaim(trx, violationId, user.id);
        if (!claim) {
          throw new AppError(
            'conflict',
            'claim the case first (a claim that expired may have been taken by another reviewer)',
          );
        }
        const v = await loadInScope(trx, principal, violationId);
        if (claim.stage === 'second') await checkSecondStage(trx, principal, user.id, v);
        const plan = planDecision(
          {
            stage: claim.stage,
            plate: v.plate,
            plateConfidence: v.plateConfidence,
            secondReviewBelow: policy.secondReviewBelow,
          },
          decision,
        );
        const moved = await updateViolationStatus(trx, violationId, { from: plan.from, to: plan.to });
        if (!moved) {
          throw new AppError('conflict', `the case is ${v.status}, not ${plan.from}: reload it`);
        }
        if (plan.plateChange) {
          // A plate typed by a person has no model confidence.
          await setViolationPlate(trx, violationId, { plate: plan.plateChange.after, plateConfidence: null });
        }
        const review = await addReview(trx, {
          violationId,
          reviewerId: user.id,
          decision: decision.decision,
          stage: claim.stage,
          reasonCode: decision.decision === 'reject' ? decision.reason : null,
          plateBefore: plan.plateChange?.before ?? null,
          plateAfter: plan.plateChange?.after ?? null,
          note: decision.note?.trim() || null,
        });
        await appendAudit(trx, {
          actor: principal.actor,
          action: `violation.${decision.decision}`,
          entityType: 'violation',
          entityId: violationId,
          // Plates stay on the review row (deletable with the case); the audit log keeps references.
          details: {
            stage: claim.stage,
            from: plan.from,
            to: plan.to,
            reviewId: review.id,
            reasonCode: review.reasonCode,
            plateCorrected: plan.plateChange !== null,
            secondReviewReasons: plan.secondReviewReasons,
          },
        });
        // An approved violation becomes a fine case with the sanction in force at its capture time.
        const opened =
          plan.to === 'approved'
            ? await openCaseForViolation(
                trx,
                { ...v, plate: plan.plateChange?.after ?? v.plate },
                principal.actor,
              )
            : null;
        return {
          violationId,
          status: plan.to,
          review: toReviewView(review),
          secondReview: { required: plan.to === 'second_review', reasons: plan.secondReviewReasons },
          case: opened,
        };
      });
    },
  };
}
