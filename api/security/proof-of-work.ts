import { createHash, createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Proof of work for the citizen lookup: a price on every lookup that a browser pays once in a second or
 * two and an enumerator pays for every plate it tries.
 *
 * The server issues a challenge without storing anything: `1.<id>.<expiry>.<bits>.<mac>`, where mac is
 * HMAC-SHA256 over the rest under a key derived from PUBLIC_LOOKUP_SECRET (so every API process accepts
 * every other's challenges, and nobody can mint or weaken one). The client finds a nonce such that
 * SHA-256("<challenge>:<nonce>") starts with `bits` zero bits (about 2^bits hashes). On use the server
 * checks the mac, the expiry, the difficulty still required and the hash, and only then spends the
 * challenge: `SET NX` of its id in Redis, expiring with the challenge, so a solution works once (the
 * lookup does that in the same Redis script as its rate limit: security/rate-limit.ts).
 */

export const POW_ALGORITHM = 'sha256-leading-zero-bits';
const VERSION = '1';
const CHALLENGE_FORMAT = /^1\.([A-Za-z0-9_-]{22})\.([0-9a-z]{1,11})\.([0-9]{1,2})\.([A-Za-z0-9_-]{43})$/;
export const NONCE_FORMAT = /^[0-9a-z]{1,16}$/;

/** Sub-keys of PUBLIC_LOOKUP_SECRET, one per use, so that no two mechanisms share a key. */
export function deriveKey(secret: Buffer, purpose: 'pow' | 'media' | 'client'): Buffer {
  return Buffer.from(hkdfSync('sha256', secret, Buffer.alloc(0), `phat-nguoi/public/${purpose}`, 32));
}

export interface PowPolicy {
  /** Leading zero bits required. */
  bits: number;
  /** How long a challenge may be used. */
  ttlMs: number;
}

export interface Challenge {
  algorithm: typeof POW_ALGORITHM;
  challenge: string;
  bits: number;
  expiresAt: string;
}

function mac(key: Buffer, body: string): string {
  return createHmac('sha256', key).update(body).digest('base64url');
}

export function issueChallenge(key: Buffer, policy: PowPolicy, now = Date.now()): Challenge {
  const id = randomBytes(16).toString('base64url');
  const expiresAtMs = now + policy.ttlMs;
  const body = `${VERSION}.${id}.${expiresAtMs.toString(36)}.${policy.bits}`;
  return {
    algorithm: POW_ALGORITHM,
    challenge: `${body}.${mac(key, body)}`,
    bits: policy.bits,
    expiresAt: new Date(expiresAtMs).toISOString(),
  };
}

/** Leading zero bits of a digest. */
export function leadingZeroBits(digest: Uint8Array): number {
  let bits = 0;
  for (const byte of digest) {
    if (byte === 0) {
      bits += 8;
      continue;
    }
    return bits + Math.clz32(byte) - 24;
  }
  return bits;
}

export function powDigest(challenge: string, nonce: string): Buffer {
  return createHash('sha256').update(`${challenge}:${nonce}`).digest();
}

export type SolutionCheck =
  | { ok: true; id: string; expiresAtMs: number }
  | { ok: false; reason: 'malformed' | 'forged' | 'expired' | 'too_easy' | 'wrong' };

/** Everything but single use (redeemChallenge does that, after this passes). */
export function checkSolution(
  key: Buffer,
  policy: PowPolicy,
  challenge: string,
  nonce: string,
  now = Date.now(),
): SolutionCheck {
  const m = CHALLENGE_FORMAT.exec(challenge);
  if (!m || !NONCE_FORMAT.test(nonce)) return { ok: false, reason: 'malformed' };
  const body = challenge.slice(0, challenge.lastIndexOf('.'));
  const expected = Buffer.from(mac(key, body));
  const given = Buffer.from(m[4]!);
  if (expected.length !== given.length || !timingSafeEqual(expected, given))
    return { ok: false, reason: 'forged' };
  const expiresAtMs = parseInt(m[2]!, 36);
  if (!(expiresAtMs > now)) return { ok: false, reason: 'expired' };
  // A challenge issued before the difficulty was raised is refused, never honoured at its old price.
  if (Number(m[3]) < policy.bits) return { ok: false, reason: 'too_easy' };
  if (leadingZeroBits(powDigest(challenge, nonce)) < Number(m[3])) return { ok: false, reason: 'wrong' };
  return { ok: true, id: m[1]!, expiresAtMs };
}

/**
 * The Redis key that marks a challenge spent. The citizen lookup spends it in the same script as its rate
 * limit (RateLimiter.takeAndSpend); redeemChallenge is the stand-alone form.
 */
export function challengeKey(keyPrefix: string, id: string): string {
  return `${keyPrefix}:pow:${id}`;
}

/** Spends a checked challenge; false when it was already spent (a replay). */
export async function redeemChallenge(
  redis: { set(key: string, value: string, px: 'PXAT', at: number, nx: 'NX'): Promise<'OK' | null> },
  keyPrefix: string,
  check: { id: string; expiresAtMs: number },
): Promise<boolean> {
  const answer = await redis.set(challengeKey(keyPrefix, check.id), '1', 'PXAT', check.expiresAtMs, 'NX');
  return answer === 'OK';
}

/** Finds a nonce (what the browser does; here for tests and the benchmark's pre-solved challenges). */
export function solveChallenge(challenge: string, bits: number, maxTries = 2 ** 32): string {
  for (let i = 0; i < maxTries; i++) {
    const nonce = i.toString(36);
    if (leadingZeroBits(powDigest(challenge, nonce)) >= bits) return nonce;
  }
  throw new Error(`no nonce within ${maxTries} tries`);
}
