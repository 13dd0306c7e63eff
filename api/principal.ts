/**
 * Who is calling, and what they may see: roles, scopes and the principal the authentication middleware
 * attaches to a request. No I/O here.
 */

/** `signal_controller`: a machine client, an intersection's signal controller posting phase changes. */
export const ROLES = ['reviewer', 'supervisor', 'operator', 'admin', 'signal_controller'] as const;
export type Role = (typeof ROLES)[number];

/**
 * Who may call a route: 'public' (anyone), 'authenticated' (any signed-in principal, whatever its roles), or
 * the roles listed (admins may call every route).
 */
export type RouteRoles = readonly ['public'] | readonly ['authenticated'] | readonly Role[];

/** A role and where it applies: '*' (everywhere), 'unit:<unit>' or 'camera:<camera code>'. */
export interface Grant {
  role: Role;
  scope: string;
}

export interface PrincipalUser {
  id: number;
  username: string;
  displayName: string;
  unit: string | null;
}

export interface Principal {
  /** How the caller proved who they are. */
  kind: 'session' | 'api_token' | 'static_token';
  /** A stable, non-secret id of the credential: 'session:17', 'api_token:3', 'token:reviewer:ab12cd34'. */
  credentialId: string;
  /** The audit log's actor: 'user:42', or the credential id of a static (API_TOKENS) token. */
  actor: string;
  /** The account behind the credential; null for the static API_TOKENS of machine clients. */
  user: PrincipalUser | null;
  grants: readonly Grant[];
  /** Session principals only: the token state-changing requests must echo in X-CSRF-Token. */
  csrfToken?: string;
  /** Session principals only. */
  sessionId?: number;
}

declare module 'express-serve-static-core' {
  interface Request {
    principal?: Principal;
  }
}

/** The cameras a principal may see under some roles. */
export type ScopeSet =
  { all: true } | { all: false; cameraCodes: readonly string[]; units: readonly string[] };

/** What a read needs to know about its caller: the audit actor and the cameras in scope. */
export interface Viewer {
  actor: string;
  /** The account behind the read, if any (to mark its own claims). */
  userId: number | null;
  scope: ScopeSet;
}

/** Whether the principal holds one of `roles` (admin counts as every role), anywhere. */
export function hasAnyRole(principal: Principal | undefined, roles: readonly Role[]): boolean {
  return !!principal?.grants.some((g) => g.role === 'admin' || roles.includes(g.role));
}

/** Whether a route's roles admit the principal (authentication itself is checked by the caller). */
export function admits(roles: RouteRoles, principal: Principal | undefined): boolean {
  const list = roles as readonly string[];
  if (list.includes('public')) return true;
  if (!principal) return false;
  if (list.includes('authenticated')) return true;
  return hasAnyRole(principal, roles as readonly Role[]);
}

/**
 * The union of the scopes of the principal's grants for `roles` (admin grants count for every role).
 * Scopes of an unknown form grant nothing: a scope is never widened by a typo.
 */
export function scopeFor(principal: Principal, roles: readonly Role[]): ScopeSet {
  const cameraCodes = new Set<string>();
  const units = new Set<string>();
  for (const g of principal.grants) {
    if (g.role !== 'admin' && !roles.includes(g.role)) continue;
    if (g.scope === '*') return { all: true };
    const m = /^(unit|camera):(.{1,64})$/.exec(g.scope);
    if (m?.[1] === 'unit') units.add(m[2]!);
    else if (m?.[1] === 'camera') cameraCodes.add(m[2]!);
  }
  return { all: false, cameraCodes: [...cameraCodes].sort(), units: [...units].sort() };
}

/** Whether a camera lies in the scope. */
export function inScope(scope: ScopeSet, camera: { code: string; unit: string | null }): boolean {
  if (scope.all) return true;
  return (
    scope.cameraCodes.includes(camera.code) || (camera.unit !== null && scope.units.includes(camera.unit))
  );
}

/** Whether a scope string has a form scopeFor understands. */
export function isValidScope(scope: string): boolean {
  return scope === '*' || /^(unit|camera):[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(scope);
}
