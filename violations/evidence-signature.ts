import {
  createHash,
  createPrivateKey,
  createPublicKey,
  sign as edSign,
  verify as edVerify,
  type KeyObject,
} from 'node:crypto';
import fs from 'node:fs/promises';
import { AppError } from '../core/errors.js';

/**
 * Ed25519 signatures over evidence manifests. The manifest lists every evidence file by sha256, so one
 * signature over it covers them all. The signature travels inside the manifest:
 *
 *   manifest.signature = { alg: 'Ed25519', canonicalization: 'RFC8785', keyId, publicKey, value }
 *
 * `value` signs the JCS canonical form (RFC 8785: sorted keys, no whitespace, ECMAScript numbers) of the
 * whole manifest with `signature.value` left out, so the algorithm, key id and public key are signed
 * too, and the stored file may be pretty-printed. `keyId` is `ed25519:` and the first 16 hex digits of
 * the sha256 of the public key (SubjectPublicKeyInfo, DER), `publicKey` that key in base64. The embedded
 * key lets anyone check integrity; origin is established only against a key obtained otherwise (the
 * key id says which one to fetch).
 */

export const SIGNATURE_ALG = 'Ed25519';
export const CANONICALIZATION = 'RFC8785';

export interface ManifestSignature {
  alg: typeof SIGNATURE_ALG;
  canonicalization: typeof CANONICALIZATION;
  keyId: string;
  /** The signer's public key, SubjectPublicKeyInfo DER in base64. */
  publicKey: string;
  /** The signature, 64 bytes in base64. */
  value: string;
}

export interface EvidenceSigner {
  readonly keyId: string;
  readonly publicKey: KeyObject;
  sign(data: Buffer): Buffer;
}

/**
 * Key material as operators provide it: `pem` (the text of a PKCS#8 PEM file), or `base64` (of a PEM
 * file, of PKCS#8 DER, or of the raw 32-byte seed). `keyId` overrides the derived one (for keys named
 * by a key-management system).
 */
export interface SigningKeyMaterial {
  pem?: string | Buffer;
  base64?: string;
  keyId?: string;
}

/** PKCS#8 prefix of an Ed25519 private key before its 32-byte seed (RFC 8410). */
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

export function evidenceSignerFromKey(material: SigningKeyMaterial): EvidenceSigner {
  const privateKey = privateKeyOf(material);
  if (privateKey.asymmetricKeyType !== 'ed25519') {
    throw new AppError(
      'config_invalid',
      `evidence signing key is ${privateKey.asymmetricKeyType}, not Ed25519`,
      {
        permanent: true,
      },
    );
  }
  const publicKey = createPublicKey(privateKey);
  const keyId = material.keyId ?? keyIdOf(publicKey);
  return {
    keyId,
    publicKey,
    sign: (data) => edSign(null, data, privateKey),
  };
}

/** Reads the key from a PEM file path, or takes it from base64 (an environment variable's value). */
export async function loadEvidenceSigner(source: {
  pemPath?: string;
  base64?: string;
  keyId?: string;
}): Promise<EvidenceSigner> {
  if (source.pemPath) {
    let pem: Buffer;
    try {
      pem = await fs.readFile(source.pemPath);
    } catch (err) {
      throw new AppError('config_invalid', 'evidence signing key file cannot be read', {
        permanent: true,
        cause: err,
      });
    }
    return evidenceSignerFromKey({ pem, keyId: source.keyId });
  }
  if (source.base64) return evidenceSignerFromKey({ base64: source.base64, keyId: source.keyId });
  throw new AppError('config_invalid', 'no evidence signing key given', { permanent: true });
}

/** A public key from PEM (SPKI) text, or from a private key PEM (its public half). */
export function publicKeyFromPem(pem: string | Buffer): KeyObject {
  try {
    const key = createPublicKey(pem);
    if (key.asymmetricKeyType !== 'ed25519') throw new Error(`${key.asymmetricKeyType} key`);
    return key;
  } catch (err) {
    throw new AppError('bad_request', `not an Ed25519 public key: ${(err as Error).message}`, {
      permanent: true,
      cause: err,
    });
  }
}

export function keyIdOf(publicKey: KeyObject): string {
  const der = publicKey.export({ type: 'spki', format: 'der' });
  return `ed25519:${createHash('sha256').update(der).digest('hex').slice(0, 16)}`;
}

/** Returns a copy of the manifest with its signature. The manifest must be plain JSON data. */
export function signManifest<T extends Record<string, unknown>>(
  manifest: T,
  signer: EvidenceSigner,
): T & { signature: ManifestSignature } {
  const { signature: _old, ...body } = manifest;
  const meta = {
    alg: SIGNATURE_ALG,
    canonicalization: CANONICALIZATION,
    keyId: signer.keyId,
    publicKey: signer.publicKey.export({ type: 'spki', format: 'der' }).toString('base64'),
  } as const;
  const value = signer.sign(Buffer.from(canonicalJson({ ...body, signature: meta }))).toString('base64');
  return { ...(body as T), signature: { ...meta, value } };
}

export interface SignatureCheck {
  ok: boolean;
  keyId?: string;
  /** True when checked against a key given by the verifier, not only the manifest's own. */
  pinned: boolean;
  reason?: string;
}

/**
 * Checks a parsed manifest's signature: against `trusted` when given (the key id and key must be it),
 * else against the key embedded in the manifest (integrity only).
 */
export function verifyManifestSignature(manifest: unknown, trusted?: KeyObject): SignatureCheck {
  const pinned = trusted !== undefined;
  const fail = (reason: string, keyId?: string): SignatureCheck => ({ ok: false, pinned, reason, keyId });
  if (!isRecord(manifest)) return fail('manifest is not a JSON object');
  const sig = manifest['signature'];
  if (sig === undefined) return fail('manifest is not signed');
  if (!isRecord(sig)) return fail('signature is not an object');
  const { alg, canonicalization, keyId, publicKey, value, ...extra } = sig;
  if (Object.keys(extra).length > 0)
    return fail(`signature has unknown fields: ${Object.keys(extra).join(', ')}`);
  if (alg !== SIGNATURE_ALG) return fail(`signature algorithm is ${String(alg)}, not ${SIGNATURE_ALG}`);
  if (canonicalization !== CANONICALIZATION) return fail(`canonicalization is ${String(canonicalization)}`);
  if (typeof keyId !== 'string') return fail('signature has no key id');
  const spki = strictBase64(publicKey);
  const signature = strictBase64(value);
  if (!spki) return fail('embedded public key is not canonical base64', keyId);
  if (!signature || signature.length !== 64)
    return fail('signature value is not 64 bytes of canonical base64', keyId);
  let embedded: KeyObject;
  try {
    embedded = createPublicKey({ key: spki, format: 'der', type: 'spki' });
  } catch {
    return fail('embedded public key cannot be read', keyId);
  }
  if (embedded.asymmetricKeyType !== 'ed25519') return fail('embedded public key is not Ed25519', keyId);
  const embeddedId = keyIdOf(embedded);
  if (trusted) {
    const trustedDer = trusted.export({ type: 'spki', format: 'der' });
    if (!trustedDer.equals(spki)) {
      return fail(`signed with key ${embeddedId}, not the trusted key ${keyIdOf(trusted)}`, keyId);
    }
  }
  const { value: _value, ...meta } = sig;
  let payload: Buffer;
  try {
    payload = Buffer.from(canonicalJson({ ...manifest, signature: meta }));
  } catch (err) {
    return fail(`manifest cannot be canonicalised: ${(err as Error).message}`, keyId);
  }
  if (!edVerify(null, payload, trusted ?? embedded, signature)) {
    return fail('signature does not match the manifest', keyId);
  }
  return { ok: true, keyId, pinned };
}

/**
 * JSON canonicalisation (RFC 8785): object keys sorted by UTF-16 code units, no whitespace, strings
 * and numbers as ECMAScript's JSON.stringify writes them. Accepts plain JSON data only: a non-finite
 * number, undefined in an array, or any other type throws.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new AppError('bad_request', 'canonical JSON: non-finite number');
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v)).join(',')}]`;
  if (isRecord(value)) {
    const keys = Object.keys(value)
      .filter((k) => value[k] !== undefined)
      .sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k])}`).join(',')}}`;
  }
  throw new AppError('bad_request', `canonical JSON: unsupported ${typeof value}`);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

/** Base64 decoded only when it is the canonical encoding of its bytes (Node's decoder skips junk). */
function strictBase64(v: unknown): Buffer | undefined {
  if (typeof v !== 'string' || v.length === 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(v)) return undefined;
  const bytes = Buffer.from(v, 'base64');
  return bytes.toString('base64') === v ? bytes : undefined;
}

function privateKeyOf(material: SigningKeyMaterial): KeyObject {
  try {
    if (material.pem !== undefined) return createPrivateKey(material.pem);
    if (material.base64 !== undefined) {
      const bytes = Buffer.from(material.base64.trim(), 'base64');
      const text = bytes.toString('utf8');
      if (text.includes('-----BEGIN')) return createPrivateKey(text);
      if (bytes.length === 32) {
        return createPrivateKey({
          key: Buffer.concat([ED25519_PKCS8_PREFIX, bytes]),
          format: 'der',
          type: 'pkcs8',
        });
      }
      return createPrivateKey({ key: bytes, format: 'der', type: 'pkcs8' });
    }
  } catch (err) {
    // The material itself never goes into the message.
    throw new AppError('config_invalid', 'evidence signing key cannot be read (expected Ed25519 PKCS#8)', {
      permanent: true,
      cause: err,
    });
  }
  throw new AppError('config_invalid', 'no evidence signing key given', { permanent: true });
}
