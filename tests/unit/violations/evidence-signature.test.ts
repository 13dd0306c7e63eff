import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  canonicalJson,
  evidenceSignerFromKey,
  keyIdOf,
  signManifest,
  verifyManifestSignature,
} from '../../../violations/evidence-signature.js';

const { privateKey, publicKey } = generateKeyPairSync('ed25519');
const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const signer = evidenceSignerFromKey({ pem });

const manifest = {
  schema: 'phat-nguoi/evidence-manifest@1',
  camera: { id: 3, code: 'TN-003', name: 'Cầu Gia Bẩy', location: 'Đường Quang Trung, TP Thái Nguyên' },
  ruleCode: 'red_light',
  observedAt: '2026-11-22T03:00:16.250Z',
  trackKey: 'mhx2k1-4',
  vehicleClass: 'car',
  sceneConfigVersion: 2,
  models: [{ name: 'nanodet-coco', version: '1' }],
  details: { stopLine: 'SL-1', redForMs: 400, crossingPoint: { x: 0.4123, y: 0.55 }, redStartObserved: true },
  trajectory: [
    { t: '2026-11-22T03:00:15.500Z', box: { x: 0.25, y: 0.22, w: 0.17, h: 0.43 }, score: 0.61 },
    { t: '2026-11-22T03:00:16.000Z', box: { x: 0.23, y: 0.38, w: 0.19, h: 0.67 }, score: 0.58 },
  ],
  files: [
    { kind: 'still_at', sha256: 'a'.repeat(64), mediaType: 'image/jpeg', sizeBytes: 51234 },
    { kind: 'vehicle_crop', sha256: 'b'.repeat(64), mediaType: 'image/jpeg', sizeBytes: 8123 },
  ],
  producedBy: 'host:123',
};

describe('evidence manifest signature (Ed25519 over RFC 8785 canonical JSON)', () => {
  it('verifies a signed manifest against its embedded key and against the trusted key', () => {
    const signed = signManifest(manifest, signer);
    expect(signed.signature).toMatchObject({
      alg: 'Ed25519',
      canonicalization: 'RFC8785',
      keyId: signer.keyId,
    });
    expect(verifyManifestSignature(signed)).toEqual({ ok: true, keyId: signer.keyId, pinned: false });
    expect(verifyManifestSignature(signed, publicKey)).toEqual({
      ok: true,
      keyId: signer.keyId,
      pinned: true,
    });
  });

  it('survives pretty-printing and key reordering (it signs the canonical form)', () => {
    const signed = signManifest(manifest, signer);
    const reordered = JSON.parse(
      JSON.stringify(Object.fromEntries(Object.entries(signed).reverse()), null, 4),
    );
    expect(verifyManifestSignature(reordered, publicKey).ok).toBe(true);
  });

  it('detects one flipped byte anywhere in the stored manifest', () => {
    const bytes = Buffer.from(JSON.stringify(signManifest(manifest, signer), null, 2));
    const undetected: string[] = [];
    for (let i = 0; i < bytes.length; i++) {
      for (const bit of [0x01, 0x20, 0x80]) {
        const copy = Buffer.from(bytes);
        copy[i] = copy[i]! ^ bit;
        let parsed: unknown;
        try {
          parsed = JSON.parse(copy.toString('utf8'));
        } catch {
          continue; // no longer JSON: refused as such
        }
        if (verifyManifestSignature(parsed).ok || verifyManifestSignature(parsed, publicKey).ok) {
          undetected.push(
            `byte ${i} ^ ${bit}: ${JSON.stringify(copy.subarray(Math.max(0, i - 20), i + 20).toString())}`,
          );
        }
      }
    }
    expect(undetected).toEqual([]);
  }, 60_000); // thousands of signature checks: seconds on a loaded machine

  it('detects a changed value in every field', () => {
    const signed = signManifest(manifest, signer);
    const paths: string[][] = [];
    const walk = (v: unknown, p: string[]) => {
      if (v && typeof v === 'object') for (const [k, c] of Object.entries(v)) walk(c, [...p, k]);
      else paths.push(p);
    };
    walk(signed, []);
    expect(paths.length).toBeGreaterThan(30);
    for (const p of paths) {
      const copy = JSON.parse(JSON.stringify(signed)) as Record<string, unknown>;
      let node = copy as Record<string, unknown>;
      for (const k of p.slice(0, -1)) node = node[k] as Record<string, unknown>;
      const last = p.at(-1)!;
      const v = node[last];
      node[last] =
        typeof v === 'number' ? v + 1 : typeof v === 'boolean' ? !v : typeof v === 'string' ? `${v}x` : 0;
      expect(verifyManifestSignature(copy).ok, p.join('.')).toBe(false);
    }
  });

  it('refuses a manifest signed by another key when a trusted key is given, naming both', () => {
    const other = evidenceSignerFromKey({
      pem: generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }),
    });
    const signed = signManifest(manifest, other);
    expect(verifyManifestSignature(signed).ok).toBe(true);
    const check = verifyManifestSignature(signed, publicKey);
    expect(check.ok).toBe(false);
    expect(check.reason).toBe(`signed with key ${other.keyId}, not the trusted key ${signer.keyId}`);
  });

  it('refuses a manifest re-signed by someone else under the original key id', () => {
    const other = evidenceSignerFromKey({
      pem: generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }),
      keyId: signer.keyId,
    });
    const forged = signManifest({ ...manifest, details: { ...manifest.details, redForMs: 4000 } }, other);
    expect(verifyManifestSignature(forged, publicKey).ok).toBe(false);
  });

  it('says when a manifest is not signed', () => {
    expect(verifyManifestSignature(manifest)).toMatchObject({ ok: false, reason: 'manifest is not signed' });
  });

  it('reads the key from PEM, base64 of PEM, base64 of PKCS#8 DER and base64 of the raw seed', () => {
    const der = privateKey.export({ type: 'pkcs8', format: 'der' });
    const seed = der.subarray(der.length - 32);
    const ids = [
      evidenceSignerFromKey({ pem }),
      evidenceSignerFromKey({ base64: Buffer.from(pem).toString('base64') }),
      evidenceSignerFromKey({ base64: der.toString('base64') }),
      evidenceSignerFromKey({ base64: seed.toString('base64') }),
    ].map((s) => s.keyId);
    expect(new Set(ids)).toEqual(new Set([keyIdOf(publicKey)]));
    expect(keyIdOf(publicKey)).toMatch(/^ed25519:[0-9a-f]{16}$/);
    expect(evidenceSignerFromKey({ pem, keyId: 'kms/phat-nguoi/2026' }).keyId).toBe('kms/phat-nguoi/2026');
  });

  it('refuses a key that is not Ed25519, and unreadable material without echoing it', () => {
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({
      type: 'pkcs8',
      format: 'pem',
    });
    expect(() => evidenceSignerFromKey({ pem: ec })).toThrow(/not Ed25519/);
    const secret = 'c2VjcmV0LW5vdC1hLWtleQ==';
    expect(() => evidenceSignerFromKey({ base64: secret })).toThrow(
      expect.objectContaining({ code: 'config_invalid', message: expect.not.stringContaining(secret) }),
    );
  });
});

describe('canonical JSON (RFC 8785)', () => {
  it('sorts keys, drops whitespace and writes numbers as ECMAScript does', () => {
    expect(canonicalJson({ b: [1, { z: null, a: 'é' }], a: 1e21, c: 0.1, d: -0, e: undefined })).toBe(
      '{"a":1e+21,"b":[1,{"a":"é","z":null}],"c":0.1,"d":0}',
    );
  });

  it('sorts keys by UTF-16 code units', () => {
    expect(canonicalJson({ '€': 1, '\r': 2, ö: 3, '1': 4 })).toBe('{"\\r":2,"1":4,"ö":3,"€":1}');
  });

  it('refuses what JSON cannot say', () => {
    expect(() => canonicalJson({ a: Number.NaN })).toThrow(/non-finite/);
    expect(() => canonicalJson({ a: new Date(0) })).toThrow(/unsupported/);
  });
});
