import { describe, expect, it } from 'vitest';
import {
  API_TOKEN_FORMAT,
  csrfTokenFor,
  newApiTokenSecret,
  newSecret,
  readCookie,
  safeEqual,
  SESSION_SECRET_FORMAT,
} from '../../../../api/security/secrets.js';

describe('secrets', () => {
  it('are 256-bit base64url values; API tokens carry a recognisable prefix', () => {
    expect(newSecret()).toMatch(SESSION_SECRET_FORMAT);
    const { secret, prefix } = newApiTokenSecret();
    expect(secret).toMatch(API_TOKEN_FORMAT);
    expect(prefix).toBe(secret.slice(0, 11));
    expect(prefix).toMatch(/^pnat_/);
  });

  it('give each session its own CSRF token, the same on every call', () => {
    const a = newSecret();
    const b = newSecret();
    expect(csrfTokenFor(a)).toBe(csrfTokenFor(a));
    expect(csrfTokenFor(a)).not.toBe(csrfTokenFor(b));
    expect(csrfTokenFor(a)).not.toContain(a);
  });

  it('compare in constant time, whatever the lengths', () => {
    expect(safeEqual('abc', 'abc')).toBe(true);
    expect(safeEqual('abc', 'abd')).toBe(false);
    expect(safeEqual('abc', 'abcd')).toBe(false);
    expect(safeEqual('', '')).toBe(true);
  });
});

describe('readCookie', () => {
  it('finds one cookie among several, the first when repeated', () => {
    expect(readCookie('a=1; pn_session=xyz; b=2', 'pn_session')).toBe('xyz');
    expect(readCookie('pn_session=first; pn_session=second', 'pn_session')).toBe('first');
    expect(readCookie('pn_session="quoted"', 'pn_session')).toBe('quoted');
    expect(readCookie('xpn_session=1', 'pn_session')).toBeUndefined();
    expect(readCookie(undefined, 'pn_session')).toBeUndefined();
    expect(readCookie('garbage;;=;', 'pn_session')).toBeUndefined();
  });
});
