import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { openMediaToken, sealMediaToken } from '../../../api/security/media-token.js';
import { NOTICE_CODE_FORMAT, normaliseNoticeCode } from '../../../api/security/notice-code.js';
import { newNoticeCode } from '../../../fines/case-machine.js';
import {
  checkSolution,
  deriveKey,
  issueChallenge,
  leadingZeroBits,
  powDigest,
  solveChallenge,
} from '../../../api/security/proof-of-work.js';
import { clientAddressKey } from '../../../api/security/rate-limit.js';
import { comparablePlate, publicStatus } from '../../../api/services/public-lookup.service.js';
import { boxForStill, pixelRect } from '../../../violations/evidence-thumbnail.js';

const key = deriveKey(Buffer.from('unit-test-secret-unit-test-secret-0123'), 'pow');
const policy = { bits: 10, ttlMs: 60_000 };

describe('proof of work', () => {
  it('counts leading zero bits', () => {
    expect(leadingZeroBits(Uint8Array.from([0x80]))).toBe(0);
    expect(leadingZeroBits(Uint8Array.from([0x01, 0xff]))).toBe(7);
    expect(leadingZeroBits(Uint8Array.from([0x00, 0x10]))).toBe(11);
    expect(leadingZeroBits(Uint8Array.from([0, 0]))).toBe(16);
  });

  it('accepts a solution and names why others are refused', () => {
    const now = 1_800_000_000_000;
    const { challenge, bits } = issueChallenge(key, policy, now);
    const nonce = solveChallenge(challenge, bits);
    expect(leadingZeroBits(powDigest(challenge, nonce))).toBeGreaterThanOrEqual(10);
    expect(checkSolution(key, policy, challenge, nonce, now + 1000)).toMatchObject({ ok: true });
    expect(checkSolution(key, policy, challenge, nonce, now + 60_000)).toEqual({
      ok: false,
      reason: 'expired',
    });
    expect(checkSolution(key, { ...policy, bits: 12 }, challenge, nonce, now)).toEqual({
      ok: false,
      reason: 'too_easy',
    });
    const otherKey = deriveKey(Buffer.from('another-secret-another-secret-another'), 'pow');
    expect(checkSolution(otherKey, policy, challenge, nonce, now)).toEqual({ ok: false, reason: 'forged' });
    expect(checkSolution(key, policy, challenge.replace('.10.', '.11.'), nonce, now)).toEqual({
      ok: false,
      reason: 'forged',
    });
    expect(checkSolution(key, policy, challenge, 'NOT-A-NONCE', now)).toEqual({
      ok: false,
      reason: 'malformed',
    });
    let wrong = 0;
    while (leadingZeroBits(powDigest(challenge, wrong.toString(36))) >= 10) wrong++;
    expect(checkSolution(key, policy, challenge, wrong.toString(36), now)).toEqual({
      ok: false,
      reason: 'wrong',
    });
  });

  it('derives a different key for each purpose', () => {
    const secret = Buffer.from('x'.repeat(40));
    expect(deriveKey(secret, 'pow').equals(deriveKey(secret, 'media'))).toBe(false);
  });
});

describe('media tokens', () => {
  const mediaKey = deriveKey(Buffer.from('unit-test-secret-unit-test-secret-0123'), 'media');
  it('round-trip, hide the id, and refuse tampering and expiry', () => {
    const sha256 = 'ab'.repeat(32);
    const t = sealMediaToken(mediaKey, { kind: 'evidence', violationId: 42, sha256, expiresAtMs: 2000 });
    expect(openMediaToken(mediaKey, t, 1000)).toEqual({
      kind: 'evidence',
      violationId: 42,
      sha256,
      expiresAtMs: 2000,
    });
    expect(openMediaToken(mediaKey, t, 2000)).toBeUndefined();
    const flipped = t.slice(0, 30) + (t[30] === 'A' ? 'B' : 'A') + t.slice(31);
    expect(openMediaToken(mediaKey, flipped, 1000)).toBeUndefined();
    const thumb = sealMediaToken(mediaKey, { kind: 'thumbnail', violationId: 42, expiresAtMs: 2000 });
    expect(thumb).not.toEqual(
      sealMediaToken(mediaKey, { kind: 'thumbnail', violationId: 42, expiresAtMs: 2000 }),
    );
    expect(openMediaToken(mediaKey, thumb, 0)).toEqual({
      kind: 'thumbnail',
      violationId: 42,
      expiresAtMs: 2000,
    });
  });
});

describe('notice codes', () => {
  it('accept the random codes the fines module makes, typed loosely, and nothing guessable', () => {
    const codes = new Set(Array.from({ length: 1000 }, () => newNoticeCode()));
    expect(codes.size).toBe(1000);
    for (const c of codes) {
      expect(c).toMatch(NOTICE_CODE_FORMAT);
      expect(normaliseNoticeCode(c.toLowerCase().replace(/-/g, ' '))).toBe(c);
    }
    expect(normaliseNoticeCode('pn-0000-1111-2222'.replace(/0/g, 'o').replace(/1/g, 'l'))).toBe(
      'PN-0000-1111-2222',
    );
    expect(normaliseNoticeCode('TN-2026-000001')).toBeUndefined();
    expect(normaliseNoticeCode('PN-UUUU-1111-2222')).toBeUndefined();
    expect(normaliseNoticeCode('PN-0000-1111-222')).toBeUndefined();
  });
});

describe('public lookup helpers', () => {
  it('compare plates compactly with Đ as D', () => {
    expect(comparablePlate('29-MĐ1 013.53')).toBe('29MD101353');
    expect(comparablePlate('29-md1 013.53')).toBe('29MD101353');
    expect(comparablePlate('30a-123.45')).toBe('30A12345');
  });

  it('map case states to what the public sees, hiding cancelled and expired cases', () => {
    expect(publicStatus('approved', undefined)).toBe('unresolved');
    expect(publicStatus('approved', 'draft')).toBe('unresolved');
    expect(publicStatus('notified', 'issued')).toBe('notice_sent');
    expect(publicStatus('notified', 'escalated')).toBe('notice_sent');
    expect(publicStatus('notified', 'decided')).toBe('awaiting_payment');
    expect(publicStatus('notified', 'overdue')).toBe('overdue');
    expect(publicStatus('notified', 'paid')).toBe('resolved');
    expect(publicStatus('closed', undefined)).toBe('resolved');
    expect(publicStatus('approved', 'cancelled')).toBeUndefined();
    expect(publicStatus('notified', 'expired')).toBeUndefined();
  });

  it('key IPv6 clients by their /64 and IPv4 clients by address', () => {
    expect(clientAddressKey('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::/64');
    expect(clientAddressKey('2001:db8:1:2:bbbb:cccc:dddd:eeee')).toBe('2001:db8:1:2::/64');
    expect(clientAddressKey('::ffff:203.0.113.9')).toBe('203.0.113.9');
    expect(clientAddressKey('203.0.113.9')).toBe('203.0.113.9');
  });
});

describe('thumbnail geometry', () => {
  it('finds the box of the still in the manifest trajectory', () => {
    const manifest = {
      stills: [
        { role: 'before', capturedAt: '2026-01-01T00:00:00.000Z' },
        { role: 'at', capturedAt: '2026-01-01T00:00:01.000Z' },
      ],
      trajectory: [
        { t: '2026-01-01T00:00:00.000Z', box: { x: 0.1, y: 0.1, w: 0.1, h: 0.1 } },
        { t: '2026-01-01T00:00:01.100Z', box: { x: 0.2, y: 0.2, w: 0.1, h: 0.1 } },
      ],
    };
    expect(boxForStill(manifest, 'at')).toEqual({ x: 0.2, y: 0.2, w: 0.1, h: 0.1 });
    expect(boxForStill(manifest, 'at', 50)).toBeUndefined();
    expect(boxForStill(manifest, 'after')).toBeUndefined();
    expect(boxForStill(null, 'at')).toBeUndefined();
  });

  it('clips the box with its margin to the image', () => {
    expect(pixelRect({ x: 0.9, y: 0.9, w: 0.2, h: 0.2 }, 100, 100, 0)).toEqual({
      left: 90,
      top: 90,
      width: 10,
      height: 10,
    });
    expect(pixelRect({ x: 2, y: 2, w: 0.1, h: 0.1 }, 100, 100, 0)).toBeUndefined();
    expect(pixelRect({ x: NaN, y: 0, w: 0.1, h: 0.1 }, 100, 100, 0)).toBeUndefined();
  });
});

describe('the browser proof of work (api/public/pow.js)', () => {
  it('hashes as node:crypto does and finds nonces the server accepts', async () => {
    // A plain browser module (no types): imported through a variable so the compiler does not resolve it.
    const browserModule = '../../../api/public/pow.js';
    const pow = (await import(browserModule)) as {
      sha256Words(bytes: Uint8Array): Uint32Array;
      searchNonce(challenge: string, bits: number, start: number, count: number): string | undefined;
    };
    for (const text of ['', 'abc', 'x'.repeat(55), 'y'.repeat(56), 'z'.repeat(200), '1.challenge:zz']) {
      const words = pow.sha256Words(new TextEncoder().encode(text));
      const hex = [...words].map((w) => w.toString(16).padStart(8, '0')).join('');
      expect(hex, text).toBe(createHash('sha256').update(text).digest('hex'));
    }
    const now = Date.now();
    const { challenge } = issueChallenge(key, policy, now);
    const nonce = pow.searchNonce(challenge, 10, 0, 1 << 20);
    expect(nonce).toBeDefined();
    expect(checkSolution(key, policy, challenge, nonce!, now)).toMatchObject({ ok: true });
  });
});
