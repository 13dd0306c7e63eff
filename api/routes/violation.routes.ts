import { z } from 'zod';
import { AppError } from '../../core/errors.js';
import { scopeFor, type Principal, type Role, type Viewer } from '../principal.js';
import type { RouteTable } from '../route-table.js';
import {
  evidenceCheckAnswer,
  idParam,
  idParams,
  violationDetail,
  violationPage,
  violationQuery,
} from '../schemas.js';
import type { ApiServices } from '../services/types.js';

/** The viewer of a read: the audit actor and the cameras the route's roles reach. */
export function viewerOf(principal: Principal | undefined, roles: readonly Role[]): Viewer {
  if (!principal) throw new AppError('unauthorized', 'authentication required');
  return { actor: principal.actor, userId: principal.user?.id ?? null, scope: scopeFor(principal, roles) };
}

const LIST_ROLES = ['reviewer', 'supervisor', 'operator'] as const;
const DETAIL_ROLES = ['reviewer', 'supervisor'] as const;

export function registerViolationRoutes(routes: RouteTable, services: ApiServices): void {
  routes.add(
    {
      method: 'get',
      path: '/api/violations',
      roles: LIST_ROLES,
      summary: 'Flagged violations in your scope, newest first',
      description: 'Plates are personal data: each call is recorded in the audit log with the ids shown.',
      tags: ['violations'],
      query: violationQuery,
      response: { status: 200, description: 'A page', schema: violationPage },
    },
    async ({ res, query: q, principal }) => {
      res.json(
        await services.listViolations(
          {
            cameraId: q.camera === undefined ? undefined : Number(q.camera),
            ruleCode: q.rule,
            status: q.status,
            from: q.from ? new Date(q.from) : undefined,
            to: q.to ? new Date(q.to) : undefined,
            limit: q.limit,
            cursor: q.cursor,
          },
          viewerOf(principal, LIST_ROLES),
        ),
      );
    },
  );

  routes.add(
    {
      method: 'get',
      path: '/api/violations/:id',
      roles: DETAIL_ROLES,
      summary: 'One violation with its evidence, reviews and claim',
      description: 'Each read is recorded in the audit log.',
      tags: ['violations'],
      params: idParams,
      response: { status: 200, description: 'The violation', schema: violationDetail },
      errors: [404],
    },
    async ({ res, params, principal }) => {
      const v = await services.getViolation(params.id, viewerOf(principal, DETAIL_ROLES));
      if (!v) throw new AppError('not_found', 'no such violation');
      res.setHeader('Cache-Control', 'no-store');
      res.json(v);
    },
  );

  routes.add(
    {
      method: 'get',
      path: '/api/violations/:id/verify',
      roles: DETAIL_ROLES,
      summary: "Re-check a violation's evidence now: every file's hash, the signature, the database rows",
      description:
        "The checks of `npm run evidence:verify`: each file the signed manifest lists is present with its sha256 and size, the Ed25519 signature holds (against the deployment key when the API knows it: `signature.pinned`), and the evidence rows are exactly the manifest's files. Every fault is named in `problems`. Recorded in the audit log.",
      tags: ['violations'],
      params: idParams,
      response: { status: 200, description: 'The verification', schema: evidenceCheckAnswer },
      errors: [404, 422],
    },
    async ({ res, params, principal }) => {
      const check = await services.verifyEvidence(params.id, viewerOf(principal, DETAIL_ROLES));
      if (!check) throw new AppError('not_found', 'no such violation');
      res.setHeader('Cache-Control', 'no-store');
      res.json(check);
    },
  );

  routes.add(
    {
      method: 'get',
      path: '/api/violations/:id/evidence/:sha256',
      roles: DETAIL_ROLES,
      summary: 'An evidence file of a violation',
      description: 'Each read is recorded in the audit log.',
      tags: ['violations'],
      params: z.strictObject({ id: idParam, sha256: z.string().regex(/^[0-9a-f]{64}$/) }),
      response: { status: 200, description: 'The file (image/jpeg, video/mp4, application/json…)' },
      errors: [404],
    },
    async ({ res, params, principal }) => {
      const file = await services.readEvidence(params.id, params.sha256, viewerOf(principal, DETAIL_ROLES));
      if (!file) throw new AppError('not_found', 'no such evidence');
      res.setHeader('Cache-Control', 'private, max-age=3600, immutable');
      res.type(file.mediaType).send(file.bytes);
    },
  );
}
