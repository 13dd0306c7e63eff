import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/**
 * Opaque, expiring links to public media: a violation's blurred thumbnail (from the citizen lookup) or
 * one evidence file (from the owner view). The token is AES-256-GCM over (kind, violation id, expiry,
 * sha256), under a key derived from PUBLIC_LOOKUP_SECRET: it reveals nothing (not even the sequential
 * violation id), cannot be forged or altered, and stops working at its expiry, so links cannot be
 * enumerated or passed around for long.
 */

export type MediaToken =
  | { kind: 'thumbnail'; violationId: number; expiresAtMs: number }
  | { kind: 'evidence'; violationId: number; expiresAtMs: number; sha256: string };

const KIND_BYTE = { thumbnail: 1, evidence: 2 } as const;
export const MEDIA_TOKEN_FORMAT = /^[A-Za-z0-9_-]{40,200}$/;

export function sealMediaToken(key: Buffer, token: MediaToken): string {
  const sha = token.kind === 'evidence' ? Buffer.from(token.sha256, 'hex') : Buffer.alloc(0);
  const plain = Buffer.alloc(1 + 8 + 8 + sha.length);
  plain.writeUInt8(KIND_BYTE[token.kind], 0);
  plain.writeBigUInt64BE(BigInt(token.violationId), 1);
  plain.writeBigUInt64BE(BigInt(token.expiresAtMs), 9);
  sha.copy(plain, 17);
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const body = Buffer.concat([cipher.update(plain), cipher.final()]);
  return Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64url');
}

/** The token's content, or undefined when it is malformed, forged or expired. */
export function openMediaToken(key: Buffer, text: string, now = Date.now()): MediaToken | undefined {
  if (!MEDIA_TOKEN_FORMAT.test(text)) return undefined;
  const raw = Buffer.from(text, 'base64url');
  if (raw.length < 12 + 17 + 16) return undefined;
  let plain: Buffer;
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12));
    decipher.setAuthTag(raw.subarray(raw.length - 16));
    plain = Buffer.concat([decipher.update(raw.subarray(12, raw.length - 16)), decipher.final()]);
  } catch {
    return undefined; // forged or altered: the tag does not verify
  }
  const violationId = Number(plain.readBigUInt64BE(1));
  const expiresAtMs = Number(plain.readBigUInt64BE(9));
  if (!(expiresAtMs > now)) return undefined;
  const kind = plain.readUInt8(0);
  if (kind === KIND_BYTE.thumbnail && plain.length === 17)
    return { kind: 'thumbnail', violationId, expiresAtMs };
  if (kind === KIND_BYTE.evidence && plain.length === 17 + 32) {
    return { kind: 'evidence', violationId, expiresAtMs, sha256: plain.subarray(17).toString('hex') };
  }
  return undefined;
}
