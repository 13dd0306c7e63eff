import { AppError } from '../../core/errors.js';
import type { CaseActor, StaffAction } from '../../fines/case.service.js';
import {
  cancelBody,
  caseDetail,
  caseIdParams,
  caseListQuery,
  casePage,
  deadlineSweepAnswer,
  decideBody,
  paymentAnswer,
  paymentBody,
  whenBody,
} from '../case-schemas.js';
import { scopeFor, type Principal, type Role } from '../principal.js';
import type { RouteTable } from '../route-table.js';
import { toRepositoryScope } from '../services/review.service.js';
import type { ApiServices } from '../services/types.js';

/** Police staff who work cases: they read owner data only through the notice, each read audited. */
const CASE_ROLES = ['reviewer', 'supervisor'] as const;
/** Acts that bind the authority (the decision, cancelling, escalating by hand) are a supervisor's. */
const SUPERVISOR = ['supervisor'] as const;

function actorOf(principal: Principal | undefined, roles: readonly Role[]): CaseActor {
  if (!principal) throw new AppError('unauthorized', 'authentication required');
  return {
    actor: principal.actor,
    userId: principal.user?.id ?? null,
    scope: toRepositoryScope(scopeFor(principal, roles)),
  };
}

/** Fine cases: list, detail, the printable notice, the procedure's steps, payments, the deadline sweep. */
export function registerCaseRoutes(routes: RouteTable, services: ApiServices): void {
  routes.add(
    {
      method: 'get',
      path: '/api/cases',
      roles: CASE_ROLES,
      summary: 'Fine cases in your scope, newest first',
      description:
        'A case is opened when a violation is approved, with the sanction in force at its capture time. Plates are personal data: each call is recorded in the audit log with the ids shown. No owner data.',
      tags: ['cases'],
      query: caseListQuery,
      response: { status: 200, description: 'A page', schema: casePage },
    },
    async ({ res, query: q, principal }) => {
      res.json(
        await services.cases.list(actorOf(principal, CASE_ROLES), {
          ...(q.state !== undefined && { states: q.state }),
          ...(q.camera !== undefined && { cameraId: Number(q.camera) }),
          limit: q.limit,
          ...(q.cursor !== undefined && { cursor: q.cursor }),
        }),
      );
    },
  );

  routes.add(
    {
      method: 'get',
      path: '/api/cases/:id',
      roles: CASE_ROLES,
      summary: 'One case: sanction, deadlines, payments and what is owed now',
      description: 'Recorded in the audit log. No owner data.',
      tags: ['cases'],
      params: caseIdParams,
      response: { status: 200, description: 'The case', schema: caseDetail },
      errors: [404],
    },
    async ({ res, params, principal }) => {
      res.json(await services.cases.get(actorOf(principal, CASE_ROLES), params.id));
    },
  );

  routes.add(
    {
      method: 'get',
      path: '/api/cases/:id/notice',
      roles: CASE_ROLES,
      summary: 'The printable notice (Vietnamese, A4 HTML) with the owner from the vehicle registry',
      description:
        'Reads the registered owner from the vehicle registry: every render is recorded in the audit log as an owner-data read. A draft prints as a preview. Not cached.',
      tags: ['cases'],
      params: caseIdParams,
      response: { status: 200, description: 'The notice', contentType: 'text/html' },
      errors: [404, 409],
    },
    async ({ res, params, principal }) => {
      const html = await services.cases.renderNotice(actorOf(principal, CASE_ROLES), params.id);
      res
        .status(200)
        .set({
          'Content-Type': 'text/html; charset=utf-8',
          'Cache-Control': 'no-store',
          'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
          'X-Content-Type-Options': 'nosniff',
          'Referrer-Policy': 'no-referrer',
        })
        .send(html);
    },
  );

  const step = (
    action: StaffAction,
    roles: readonly Role[],
    summary: string,
    description: string,
    body: typeof whenBody | typeof decideBody | typeof cancelBody | undefined,
  ) => {
    routes.add(
      {
        method: 'post',
        path: `/api/cases/:id/${action}`,
        roles: roles as readonly Role[],
        summary,
        description,
        tags: ['cases'],
        params: caseIdParams,
        ...(body && { body }),
        response: { status: 200, description: 'The case after the step', schema: caseDetail },
        errors: [404, 409],
      },
      async ({ res, params, body: input, principal }) => {
        const b = (input ?? {}) as {
          at?: string;
          decisionNumber?: string;
          fineAmountVnd?: number;
          reason?: string;
        };
        res.json(
          await services.cases.act(actorOf(principal, roles), params.id, action, {
            at: b.at === undefined ? undefined : new Date(b.at),
            decisionNumber: b.decisionNumber,
            fineAmountVnd: b.fineAmountVnd,
            reason: b.reason,
          }),
        );
      },
    );
  };

  step(
    'issue',
    CASE_ROLES,
    'Issue the notice to the registered owner',
    'Identifies the owner through the vehicle registry (an audited owner-data read; an organisation is fined double) and records the notice as sent. Due within 10 days of detection (a later notice is recorded as late); refused after the one-year limitation, by the database too.',
    undefined,
  );
  step(
    'deliver',
    CASE_ROLES,
    'Record that the notice reached the owner',
    'Optionally with the time it did (not in the future, not before the notice).',
    whenBody,
  );
  step(
    'respond',
    CASE_ROLES,
    'Record that the owner or driver came forward',
    'The violator is identified: the violation record is due within 3 working days.',
    whenBody,
  );
  step(
    'escalate',
    SUPERVISOR,
    'Escalate an unanswered notice (more than 20 days after it)',
    'Warns the registration and inspection agencies (commune police for motorbikes). The deadline sweep does this by itself; this route is for doing it at once.',
    undefined,
  );
  step(
    'decide',
    SUPERVISOR,
    'Record the violation record and the sanction decision',
    'The fine is the midpoint of the range unless another amount inside it is given with a reason. Payment is due within 10 days. Refused after the one-year limitation, by the database too.',
    decideBody,
  );
  step(
    'cancel',
    SUPERVISOR,
    'Cancel a case, with a reason',
    'Any case not yet paid, cancelled or expired.',
    cancelBody,
  );

  routes.add(
    {
      method: 'post',
      path: '/api/cases/:id/payments',
      roles: CASE_ROLES,
      summary: 'Record a payment (amount, method, reference, time)',
      description:
        'Only for decided or overdue cases. The fine is paid first, then late interest (0.05 % of the unpaid fine per day after the deadline); more than is owed is refused. Paying in full closes the case and lifts an escalation.',
      tags: ['cases'],
      params: caseIdParams,
      body: paymentBody,
      response: { status: 200, description: 'The payment and the case', schema: paymentAnswer },
      errors: [404, 409],
    },
    async ({ res, params, body, principal }) => {
      res.json(
        await services.cases.recordPayment(actorOf(principal, CASE_ROLES), params.id, {
          amountVnd: body.amountVnd,
          method: body.method,
          reference: body.reference,
          paidAt: new Date(body.paidAt),
        }),
      );
    },
  );

  routes.add(
    {
      method: 'post',
      path: '/api/cases/deadlines/run',
      roles: SUPERVISOR,
      summary: 'Run the deadline sweep now (the worker runs it every few minutes)',
      description:
        'Escalates notices unanswered for more than 20 days, marks decisions unpaid after 10 days overdue, and expires open cases past the one-year limitation. Idempotent.',
      tags: ['cases'],
      response: { status: 200, description: 'What changed', schema: deadlineSweepAnswer },
    },
    async ({ res, principal }) => {
      if (!principal) throw new AppError('unauthorized', 'authentication required');
      res.json(await services.cases.runDeadlines(principal.actor));
    },
  );
}
