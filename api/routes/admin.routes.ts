import { z } from 'zod';
import { AppError } from '../../core/errors.js';
import type { RouteTable } from '../route-table.js';
import { apiTokenView, idParams, issuedTokenAnswer, tokenBody, userView } from '../schemas.js';
import type { ApiServices } from '../services/types.js';

const holidayDay = z.object({
  day: z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'YYYY-MM-DD'),
});
const holidayView = z.object({ day: z.string(), name: z.string() });

/**
 * Accounts and personal access tokens: admins only (users are made with `npm run user:create`). The
 * public-holiday calendar of the fine procedure: supervisors (and admins).
 */
export function registerAdminRoutes(routes: RouteTable, services: ApiServices): void {
  const actorOf = (p: { actor: string } | undefined) => {
    if (!p) throw new AppError('unauthorized', 'authentication required');
    return p.actor;
  };

  routes.add(
    {
      method: 'get',
      path: '/api/admin/users',
      roles: ['admin'],
      summary: 'Staff accounts with their roles and lock state',
      tags: ['admin'],
      response: { status: 200, description: 'Accounts', schema: z.object({ items: z.array(userView) }) },
    },
    async ({ res }) => {
      res.json({ items: await services.auth.listUsers() });
    },
  );

  routes.add(
    {
      method: 'post',
      path: '/api/admin/users/:id/unlock',
      roles: ['admin'],
      summary: 'Lift a lock after failed logins',
      tags: ['admin'],
      params: idParams,
      response: { status: 204, description: 'Unlocked' },
      errors: [404],
    },
    async ({ res, params, principal }) => {
      if (!(await services.auth.unlockUser(actorOf(principal), params.id)))
        throw new AppError('not_found', 'no such user');
      res.status(204).end();
    },
  );

  for (const disabled of [true, false]) {
    routes.add(
      {
        method: 'post',
        path: `/api/admin/users/:id/${disabled ? 'disable' : 'enable'}`,
        roles: ['admin'],
        summary: disabled
          ? 'Disable an account: its sessions end at once and its tokens are refused'
          : 'Enable a disabled account again',
        tags: ['admin'],
        params: idParams,
        response: { status: 204, description: disabled ? 'Disabled' : 'Enabled' },
        errors: [404],
      },
      async ({ res, params, principal }) => {
        if (!(await services.auth.setUserDisabled(actorOf(principal), params.id, disabled)))
          throw new AppError('not_found', 'no such user');
        res.status(204).end();
      },
    );
  }

  routes.add(
    {
      method: 'get',
      path: '/api/admin/users/:id/tokens',
      roles: ['admin'],
      summary: "A user's personal access tokens (never their secrets)",
      tags: ['admin'],
      params: idParams,
      response: { status: 200, description: 'Tokens', schema: z.object({ items: z.array(apiTokenView) }) },
      errors: [404],
    },
    async ({ res, params }) => {
      res.json({ items: await services.auth.listApiTokens(params.id) });
    },
  );

  routes.add(
    {
      method: 'post',
      path: '/api/admin/users/:id/tokens',
      roles: ['admin'],
      summary: 'Make a personal access token for a user (the secret is shown once)',
      description: 'The token acts as the user: same roles, scopes and disabled state.',
      tags: ['admin'],
      params: idParams,
      body: tokenBody,
      response: { status: 201, description: 'Made', schema: issuedTokenAnswer },
      errors: [404, 409],
    },
    async ({ res, params, body, principal }) => {
      const issued = await services.auth.issueApiToken(actorOf(principal), params.id, body);
      res.setHeader('Cache-Control', 'no-store');
      res.status(201).json(issued);
    },
  );

  routes.add(
    {
      method: 'delete',
      path: '/api/admin/tokens/:id',
      roles: ['admin'],
      summary: 'Revoke a personal access token',
      tags: ['admin'],
      params: idParams,
      response: { status: 204, description: 'Revoked (or already revoked)' },
      errors: [404],
    },
    async ({ res, params, principal }) => {
      if (!(await services.auth.revokeApiToken(actorOf(principal), params.id)))
        throw new AppError('not_found', 'no such token');
      res.status(204).end();
    },
  );

  routes.add(
    {
      method: 'get',
      path: '/api/admin/holidays',
      roles: ['supervisor', 'admin'],
      summary: 'Public holidays of a year (ngày nghỉ lễ), which the fine deadlines skip or move past',
      tags: ['admin'],
      query: z.object({ year: z.coerce.number().int().min(2000).max(2200) }),
      response: { status: 200, description: 'Holidays', schema: z.object({ items: z.array(holidayView) }) },
    },
    async ({ res, query }) => {
      res.json({ items: await services.holidays.list(query.year) });
    },
  );

  routes.add(
    {
      method: 'put',
      path: '/api/admin/holidays/:day',
      roles: ['supervisor', 'admin'],
      summary: 'Add a public holiday or rename one (Tết and the moved days are entered each year)',
      description:
        'Deadlines already shown to a citizen are not recomputed in print; the case views and the deadline sweep use the calendar as it is.',
      tags: ['admin'],
      params: holidayDay,
      body: z.object({ name: z.string().trim().min(1).max(200) }),
      response: { status: 200, description: 'Stored', schema: holidayView.extend({ created: z.boolean() }) },
      errors: [400],
    },
    async ({ res, params, body, principal }) => {
      const { created } = await services.holidays.put(actorOf(principal), params.day, body.name);
      res.json({ day: params.day, name: body.name, created });
    },
  );

  routes.add(
    {
      method: 'delete',
      path: '/api/admin/holidays/:day',
      roles: ['supervisor', 'admin'],
      summary: 'Remove a public holiday entered by mistake',
      tags: ['admin'],
      params: holidayDay,
      response: { status: 204, description: 'Removed' },
      errors: [400, 404],
    },
    async ({ res, params, principal }) => {
      if (!(await services.holidays.remove(actorOf(principal), params.day)))
        throw new AppError('not_found', `${params.day} is not a public holiday`);
      res.status(204).end();
    },
  );
}
