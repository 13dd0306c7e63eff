import { createHash, timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import { AppError } from '../core/errors.js';

export const ROLES = ['reviewer', 'supervisor', 'operator', 'admin'] as const;
export type Role = (typeof ROLES)[number];
/** 'public' marks a route anyone may call; every route names its roles explicitly. */
export type RouteRoles = readonly ['public'] | readonly Role[];

export interface Principal {
  kind: 'token';
  role: Role;
  /** A stable, non-secret id of the credential, for the audit trail. */
  id: string;
}

declare module 'express-serve-static-core' {
  interface Request {
    principal?: Principal;
  }
}

interface TokenEntry {
  role: Role;
  digest: Buffer;
  id: string;
}

/** Parses API_TOKENS (`role:token,…`); only digests are kept in memory. */
export function parseApiTokens(spec: string | undefined): TokenEntry[] {
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

/** Resolves the principal from `Authorization: Bearer …`; a wrong token is a 401, none is anonymous. */
export function authenticate(tokens: readonly TokenEntry[]) {
  return (req: Request, _res: Response, next: NextFunction) => {
    const header = req.headers.authorization;
    if (!header) return next();
    const match = /^Bearer ([A-Za-z0-9_\-.]{1,200})$/.exec(header);
    if (!match) return next(new AppError('unauthorized', 'malformed Authorization header'));
    const digest = sha256(match[1]!);
    const entry = tokens.find((t) => timingSafeEqual(t.digest, digest));
    if (!entry) return next(new AppError('unauthorized', 'unknown or expired token'));
    req.principal = { kind: 'token', role: entry.role, id: entry.id };
    next();
  };
}

/** Admins may do everything; otherwise the principal's role must be listed. */
export function authorize(roles: RouteRoles) {
  return (req: Request, _res: Response, next: NextFunction) => {
    if ((roles as readonly string[]).includes('public')) return next();
    if (!req.principal) return next(new AppError('unauthorized', 'authentication required'));
    if (req.principal.role === 'admin' || (roles as readonly string[]).includes(req.principal.role))
      return next();
    next(new AppError('forbidden', 'your role may not use this route'));
  };
}
