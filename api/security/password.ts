import { randomBytes, scrypt as scryptCallback, timingSafeEqual, type ScryptOptions } from 'node:crypto';

/**
 * Password hashing with scrypt (node:crypto: no native add-on to build). The encoded hash carries its
 * parameters and salt, so the cost can be raised later without invalidating stored hashes:
 *
 *   $scrypt$ln=15,r=8,p=1$<salt, base64 unpadded>$<key, base64 unpadded>
 *
 * (ln = log2 of N). The defaults (N = 2^15, r = 8, p = 1: 32 MiB, ~0.1 s) follow OWASP's minimum for
 * scrypt. Verification is constant-time in the key and refuses parameters outside sane bounds, so a
 * forged hash string cannot make the server spend unbounded memory or time.
 */

export interface ScryptParams {
  /** log2 of the CPU/memory cost N. */
  ln: number;
  r: number;
  p: number;
}

export const DEFAULT_SCRYPT_PARAMS: Readonly<ScryptParams> = Object.freeze({ ln: 15, r: 8, p: 1 });

const SALT_BYTES = 16;
const KEY_BYTES = 32;
/** Passwords longer than this are refused before hashing (a cheap guard against huge inputs). */
export const MAX_PASSWORD_LENGTH = 1024;
export const MIN_PASSWORD_LENGTH = 12;

const BOUNDS = { ln: [10, 20], r: [1, 32], p: [1, 16] } as const;
/** scrypt needs about 128 * N * r bytes; refuse parameters asking for more than this. */
const MAX_MEMORY_BYTES = 256 * 1024 * 1024;

function checkParams(params: ScryptParams): void {
  for (const key of ['ln', 'r', 'p'] as const) {
    const [min, max] = BOUNDS[key];
    const v = params[key];
    if (!Number.isInteger(v) || v < min || v > max) {
      throw new RangeError(`scrypt ${key} must be an integer from ${min} to ${max}`);
    }
  }
  if (128 * 2 ** params.ln * params.r > MAX_MEMORY_BYTES) {
    throw new RangeError('scrypt parameters need more than 256 MiB');
  }
}

function scrypt(password: string, salt: Buffer, keylen: number, params: ScryptParams): Promise<Buffer> {
  const N = 2 ** params.ln;
  const options: ScryptOptions = {
    N,
    r: params.r,
    p: params.p,
    maxmem: 128 * N * params.r + 128 * params.r * params.p + 16 * 1024 * 1024,
  };
  return new Promise((resolve, reject) => {
    scryptCallback(password.normalize('NFC'), salt, keylen, options, (err, key) =>
      err ? reject(err) : resolve(key),
    );
  });
}

const b64 = (buf: Buffer) => buf.toString('base64').replace(/=+$/, '');

export async function hashPassword(
  password: string,
  params: ScryptParams = DEFAULT_SCRYPT_PARAMS,
): Promise<string> {
  checkParams(params);
  if (password.length === 0 || password.length > MAX_PASSWORD_LENGTH) {
    throw new RangeError(`a password has 1 to ${MAX_PASSWORD_LENGTH} characters`);
  }
  const salt = randomBytes(SALT_BYTES);
  const key = await scrypt(password, salt, KEY_BYTES, params);
  return `$scrypt$ln=${params.ln},r=${params.r},p=${params.p}$${b64(salt)}$${b64(key)}`;
}

interface ParsedHash {
  params: ScryptParams;
  salt: Buffer;
  key: Buffer;
}

const HASH_FORMAT =
  /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d{1,2})\$([A-Za-z0-9+/]{16,88})\$([A-Za-z0-9+/]{16,172})$/;

/** Parses an encoded hash; undefined when it is not one this module makes (or its parameters are out of bounds). */
export function parsePasswordHash(encoded: string): ParsedHash | undefined {
  const m = HASH_FORMAT.exec(encoded);
  if (!m) return undefined;
  const params = { ln: Number(m[1]), r: Number(m[2]), p: Number(m[3]) };
  try {
    checkParams(params);
  } catch {
    return undefined;
  }
  const salt = Buffer.from(m[4]!, 'base64');
  const key = Buffer.from(m[5]!, 'base64');
  if (salt.length < 8 || key.length < 16) return undefined;
  return { params, salt, key };
}

/**
 * True when `password` matches `encoded`. An unparseable hash never matches (and still costs one hash
 * with the default parameters, so it takes as long as a real check).
 */
export async function verifyPassword(password: string, encoded: string): Promise<boolean> {
  const parsed = parsePasswordHash(encoded);
  if (!parsed || password.length === 0 || password.length > MAX_PASSWORD_LENGTH) {
    await scrypt(
      password.slice(0, MAX_PASSWORD_LENGTH) || 'x',
      randomBytes(SALT_BYTES),
      KEY_BYTES,
      DEFAULT_SCRYPT_PARAMS,
    );
    return false;
  }
  const key = await scrypt(password, parsed.salt, parsed.key.length, parsed.params);
  return timingSafeEqual(key, parsed.key);
}

/** True when the hash was made with weaker parameters than `params` (rehash it at the next login). */
export function needsRehash(encoded: string, params: ScryptParams = DEFAULT_SCRYPT_PARAMS): boolean {
  const parsed = parsePasswordHash(encoded);
  if (!parsed) return true;
  return parsed.params.ln < params.ln || parsed.params.r < params.r || parsed.params.p < params.p;
}

/** A random password of `length` characters from an unambiguous alphabet (no 0/O, 1/l/I). */
export function generatePassword(length = 20): string {
  const alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789';
  // 256 - (256 % 57) = 228: reject bytes above it so each character is uniform.
  const limit = 256 - (256 % alphabet.length);
  let out = '';
  while (out.length < length) {
    for (const byte of randomBytes(length * 2)) {
      if (byte < limit && out.length < length) out += alphabet[byte % alphabet.length];
    }
  }
  return out;
}
