import { createHash, timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import { AppError } from '../core/errors.js';
import { admits, type Principal, type Role, type RouteRoles } from './principal.js';
import {
  API_TOKEN_FORMAT,
  CSRF_HEADER,
  readCookie,
  safeEqual,
  SESSION_COOKIE,
  SESSION_SECRET_FORMAT,
} from './security/secrets.js';
import type { AuthService } from './services/types.js';

export { ROLES, type Principal, type Role, type RouteRoles } from './principal.js';

/** A machine client's token from API_TOKENS; only its digest is kept in memory. */
export interface StaticToken {
  role: Role;
  digest: Buffer;
  id: string;
}

/** Parses API_TOKENS (`role:token,…`); only digests are kept in memory. */
export function parseApiTokens(spec: string | undefined): StaticToken[] {
  if (!spec) return [];
  return spec.split(',').map((pair) => {
    const idx = pair.indexOf(':');
    const role = pair.slice(0, idx) as Role;
    const digest = sha256(pair.slice(idx + 1));
    return { role, digest, id: `token:${role}:${digest.toString('hex').slice(0, 8)}` };
  });
}

function sha256(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

/**
 * Resolves the principal:
 * - `Authorization: Bearer pnat_…`: a personal access token (acts as its user);
 * - `Authorization: Bearer …`: a machine client's token from API_TOKENS;
 * - otherwise the session cookie.
 * A wrong bearer token is a 401; a stale or unknown session cookie is simply anonymous (public routes keep
 * working, protected ones answer 401). Without any credential the request is anonymous.
 */
export function authenticate(deps: { staticTokens: readonly StaticToken[]; auth: AuthService }) {
  return (req: Request, _res: Response, next: NextFunction) => {
    resolve(req)
      .then((principal) => {
        if (principal) req.principal = principal;
        next();
      })
      .catch(next);
  };

  async function resolve(req: Request): Promise<Principal | undefined> {
    const header = req.headers.authorization;
    if (header !== undefined) {
      const match = /^Bearer ([A-Za-z0-9_\-.]{1,200})$/.exec(header);
      if (!match) throw new AppError('unauthorized', 'malformed Authorization header');
      const secret = match[1]!;
      if (API_TOKEN_FORMAT.test(secret)) {
        const principal = await deps.auth.principalFromApiToken(secret);
        if (!principal) throw new AppError('unauthorized', 'unknown or expired token');
        return principal;
      }
      const digest = sha256(secret);
      const entry = deps.staticTokens.find((t) => timingSafeEqual(t.digest, digest));
      if (!entry) throw new AppError('unauthorized', 'unknown or expired token');
      return {
        kind: 'static_token',
        credentialId: entry.id,
        actor: entry.id,
        user: null,
        grants: [{ role: entry.role, scope: '*' }],
      };
    }
    const cookie = readCookie(req.headers.cookie, SESSION_COOKIE);
    if (cookie !== undefined && SESSION_SECRET_FORMAT.test(cookie)) {
      return deps.auth.principalFromSession(cookie);
    }
    return undefined;
  }
}

/** Admins may do everything; otherwise the principal must hold one of the route's roles. */
export function authorize(roles: RouteRoles) {
  return (req: Request, _res: Response, next: NextFunction) => {
    if ((roles as readonly string[]).includes('public')) return next();
    if (!req.principal) return next(new AppError('unauthorized', 'authentication required'));
    if (admits(roles, req.principal)) return next();
    next(new AppError('forbidden', 'your role may not use this route'));
  };
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * A state-changing request made with the session cookie must carry the session's CSRF token in
 * X-CSRF-Token. Bearer-token requests need none: a browser never attaches those by itself.
 */
export function requireCsrf() {
  return (req: Request, _res: Response, next: NextFunction) => {
    const p = req.principal;
    if (SAFE_METHODS.has(req.method) || p?.kind !== 'session') return next();
    const sent = req.headers[CSRF_HEADER];
    if (typeof sent !== 'string' || !p.csrfToken || !safeEqual(sent, p.csrfToken)) {
      return next(new AppError('forbidden', 'missing or wrong CSRF token (send the X-CSRF-Token header)'));
    }
    next();
  };
}
