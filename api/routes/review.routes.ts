import { AppError } from '../../core/errors.js';
import type { Principal } from '../principal.js';
import type { RouteTable } from '../route-table.js';
import {
  claimAnswer,
  decisionAnswer,
  decisionBody,
  idParams,
  rejectReasonsAnswer,
  reviewQueuePage,
  reviewQueueQuery,
} from '../schemas.js';
import { REJECT_REASONS } from '../services/review-policy.js';
import type { ApiServices } from '../services/types.js';

const REVIEW_ROLES = ['reviewer', 'supervisor'] as const;

function need(principal: Principal | undefined): Principal {
  if (!principal) throw new AppError('unauthorized', 'authentication required');
  return principal;
}

/** The review queue: claim with a lease, decide, second review by a supervisor. */
export function registerReviewRoutes(routes: RouteTable, services: ApiServices): void {
  routes.add(
    {
      method: 'get',
      path: '/api/review/queue',
      roles: REVIEW_ROLES,
      summary: 'Cases waiting for review in your scope, oldest first',
      description:
        'stage=first lists flagged cases and cases whose claim expired; stage=second (supervisors) lists cases waiting for a second review that you did not review first. Cases another reviewer holds are not listed. The read is recorded in the audit log.',
      tags: ['review'],
      query: reviewQueueQuery,
      response: { status: 200, description: 'A page', schema: reviewQueuePage },
    },
    async ({ res, query: q, principal }) => {
      res.json(
        await services.review.queue(need(principal), {
          stage: q.stage,
          cameraId: q.camera === undefined ? undefined : Number(q.camera),
          ruleCode: q.rule,
          from: q.from ? new Date(q.from) : undefined,
          to: q.to ? new Date(q.to) : undefined,
          minConfidence: q.minConfidence,
          maxConfidence: q.maxConfidence,
          limit: q.limit,
          cursor: q.cursor,
        }),
      );
    },
  );

  routes.add(
    {
      method: 'get',
      path: '/api/review/reasons',
      roles: REVIEW_ROLES,
      summary: 'The reason codes a rejection may give',
      tags: ['review'],
      response: { status: 200, description: 'Reasons', schema: rejectReasonsAnswer },
    },
    ({ res }) => {
      res.json({ items: REJECT_REASONS });
    },
  );

  routes.add(
    {
      method: 'post',
      path: '/api/review/:id/claim',
      roles: REVIEW_ROLES,
      summary: 'Claim a case for review (a lease; claiming again renews it)',
      description:
        'Two reviewers never hold the same case: a live claim by someone else answers 409. An expired claim may be taken over. Cases waiting for a second review may only be claimed by a supervisor who did not make the first review.',
      tags: ['review'],
      params: idParams,
      response: { status: 200, description: 'Claimed', schema: claimAnswer },
      errors: [404, 409],
    },
    async ({ res, params, principal }) => {
      res.json(await services.review.claim(need(principal), params.id));
    },
  );

  routes.add(
    {
      method: 'post',
      path: '/api/review/:id/release',
      roles: REVIEW_ROLES,
      summary: 'Give a claimed case back to the queue without deciding',
      tags: ['review'],
      params: idParams,
      response: { status: 204, description: 'Released' },
      errors: [409],
    },
    async ({ res, params, principal }) => {
      await services.review.release(need(principal), params.id);
      res.status(204).end();
    },
  );

  routes.add(
    {
      method: 'post',
      path: '/api/review/:id/decision',
      roles: REVIEW_ROLES,
      summary:
        'Decide a claimed case: approve (optionally correcting the plate), reject with a reason, or escalate',
      description:
        'A first review that corrects the plate, approves a read below the confidence threshold, or escalates, sends the case to a supervisor (status second_review); the supervisor approves or rejects. Every decision is a review row (keeping the plate before and after a correction) and an audit entry, committed with the status change.',
      tags: ['review'],
      params: idParams,
      body: decisionBody,
      response: { status: 200, description: 'Decided', schema: decisionAnswer },
      errors: [404, 409],
    },
    async ({ res, params, body, principal }) => {
      res.json(await services.review.decide(need(principal), params.id, body));
    },
  );
}
