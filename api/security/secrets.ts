import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Random secrets for sessions and API tokens, their stored digests, and the CSRF token of a session.
 *
 * Session and API-token secrets are 256-bit random values: sha256 of one is as good as a slow hash for
 * storage (nobody can guess the preimage), and it lets the database find a credential by an index lookup.
 */

/** Name of the session cookie. */
export const SESSION_COOKIE = 'pn_session';
/** Header carrying the CSRF token on state-changing requests made with the session cookie. */
export const CSRF_HEADER = 'x-csrf-token';
/** Personal access tokens start with this, so that leaked ones are easy to recognise and scan for. */
export const API_TOKEN_PREFIX = 'pnat_';

export const SESSION_SECRET_FORMAT = /^[A-Za-z0-9_-]{43}$/;
export const API_TOKEN_FORMAT = /^pnat_[A-Za-z0-9_-]{43}$/;

/** 32 random bytes, base64url (43 characters). */
export function newSecret(): string {
  return randomBytes(32).toString('base64url');
}

export function newApiTokenSecret(): { secret: string; prefix: string } {
  const secret = `${API_TOKEN_PREFIX}${newSecret()}`;
  return { secret, prefix: secret.slice(0, API_TOKEN_PREFIX.length + 6) };
}

export function sha256Hex(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex');
}

/**
 * The CSRF token of a session: HMAC-SHA256 keyed by the session secret. Only a holder of the (httpOnly)
 * cookie's value can compute it, it needs no storage, and it changes with every session (a synchronizer
 * token bound to the session, rather than a double-submit cookie an attacker on a sibling domain could plant).
 */
export function csrfTokenFor(sessionSecret: string): string {
  return createHmac('sha256', sessionSecret).update('pn-csrf-v1').digest('base64url');
}

/** Constant-time string equality (lengths may differ; the comparison is on digests). */
export function safeEqual(a: string, b: string): boolean {
  const da = createHash('sha256').update(a, 'utf8').digest();
  const db = createHash('sha256').update(b, 'utf8').digest();
  return timingSafeEqual(da, db);
}

/** The value of one cookie in a Cookie header (the first, if repeated); undefined when absent. */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() !== name) continue;
    let value = part.slice(eq + 1).trim();
    if (value.startsWith('"') && value.endsWith('"') && value.length >= 2) value = value.slice(1, -1);
    return value;
  }
  return undefined;
}
