import type { CookieOptions, Request } from 'express';
import { AppError } from '../../core/errors.js';
import type { RouteTable } from '../route-table.js';
import { loginAnswer, loginBody, meAnswer } from '../schemas.js';
import { SESSION_COOKIE } from '../security/secrets.js';
import type { ApiServices } from '../services/types.js';

export interface AuthRouteOptions {
  /** 'auto': Secure when the request came over https (directly or through a trusted proxy); 'always'. */
  cookieSecure: 'auto' | 'always';
}

export function registerAuthRoutes(routes: RouteTable, services: ApiServices, opts: AuthRouteOptions): void {
  const cookieOptions = (req: Request): CookieOptions => ({
    httpOnly: true,
    sameSite: 'strict',
    secure: opts.cookieSecure === 'always' || req.secure,
    path: '/',
  });

  routes.add(
    {
      method: 'post',
      path: '/api/auth/login',
      roles: ['public'],
      csrf: false,
      summary: 'Sign in with username and password',
      description:
        `Sets the ${SESSION_COOKIE} session cookie (httpOnly, SameSite=Strict, Secure over https) and answers ` +
        'the CSRF token to send as X-CSRF-Token on state-changing requests. Every refusal reads the same ' +
        '(it does not tell whether the account exists or is locked); repeated failures lock the account.',
      tags: ['auth'],
      body: loginBody,
      response: { status: 200, description: 'Signed in', schema: loginAnswer },
      errors: [401],
    },
    async ({ req, res, body }) => {
      const result = await services.auth.login({
        username: body.username,
        password: body.password,
        clientIp: req.ip ?? null,
      });
      res.cookie(SESSION_COOKIE, result.sessionSecret, {
        ...cookieOptions(req),
        maxAge: services.auth.policy.sessionMaxAgeMs,
      });
      res.setHeader('Cache-Control', 'no-store');
      res.json({ user: result.user, csrfToken: result.csrfToken, expiresAt: result.expiresAt.toISOString() });
    },
  );

  routes.add(
    {
      method: 'post',
      path: '/api/auth/logout',
      roles: ['authenticated'],
      summary: 'End the current session',
      description:
        'Ends the session and clears its cookie. With a bearer token it does nothing (an admin revokes tokens).',
      tags: ['auth'],
      response: { status: 204, description: 'Signed out' },
    },
    async ({ req, res, principal }) => {
      if (!principal) throw new AppError('unauthorized', 'authentication required');
      await services.auth.logout(principal);
      if (principal.kind === 'session') res.clearCookie(SESSION_COOKIE, cookieOptions(req));
      res.status(204).end();
    },
  );

  routes.add(
    {
      method: 'get',
      path: '/api/auth/me',
      roles: ['authenticated'],
      summary: 'Who you are: account, roles with scopes, and (for a session) the CSRF token',
      tags: ['auth'],
      response: { status: 200, description: 'The caller', schema: meAnswer },
    },
    ({ res, principal }) => {
      if (!principal) throw new AppError('unauthorized', 'authentication required');
      res.setHeader('Cache-Control', 'no-store');
      res.json({
        kind: principal.kind,
        user: principal.user,
        grants: principal.grants,
        ...(principal.csrfToken !== undefined && { csrfToken: principal.csrfToken }),
      });
    },
  );
}
