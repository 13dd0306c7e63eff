import { describe, expect, it } from 'vitest';
import {
  generatePassword,
  hashPassword,
  needsRehash,
  parsePasswordHash,
  verifyPassword,
} from '../../../../api/security/password.js';

const FAST = { ln: 10, r: 8, p: 1 };

describe('scrypt password hashes', () => {
  it('carry their parameters and a per-user salt', async () => {
    const a = await hashPassword('mật khẩu dài đủ', FAST);
    const b = await hashPassword('mật khẩu dài đủ', FAST);
    expect(a).toMatch(/^\$scrypt\$ln=10,r=8,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
    expect(a).not.toBe(b);
    expect(parsePasswordHash(a)).toMatchObject({ params: FAST });
    expect(parsePasswordHash(a)!.salt.equals(parsePasswordHash(b)!.salt)).toBe(false);
  });

  it('verify the right password only', async () => {
    const hash = await hashPassword('correct horse battery', FAST);
    expect(await verifyPassword('correct horse battery', hash)).toBe(true);
    expect(await verifyPassword('correct horse batterY', hash)).toBe(false);
    expect(await verifyPassword('', hash)).toBe(false);
  });

  it('treat the NFC and NFD spellings of a Vietnamese password as the same', async () => {
    const hash = await hashPassword('Đường Hoàng Văn Thụ'.normalize('NFD'), FAST);
    expect(await verifyPassword('Đường Hoàng Văn Thụ'.normalize('NFC'), hash)).toBe(true);
  });

  it('never match a tampered or foreign hash string', async () => {
    const hash = await hashPassword('correct horse battery', FAST);
    const flipped = hash.slice(0, -2) + (hash.at(-2) === 'A' ? 'B' : 'A') + hash.at(-1);
    expect(await verifyPassword('correct horse battery', flipped)).toBe(false);
    expect(await verifyPassword('correct horse battery', hash.replace('ln=10', 'ln=11'))).toBe(false);
    expect(await verifyPassword('x', '$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA')).toBe(false);
  });

  it('refuse parameters that would cost unbounded memory', async () => {
    const hash = await hashPassword('correct horse battery', FAST);
    expect(parsePasswordHash(hash.replace('ln=10', 'ln=30'))).toBeUndefined();
    expect(parsePasswordHash(hash.replace('r=8', 'r=99'))).toBeUndefined();
    await expect(hashPassword('x', { ln: 22, r: 8, p: 1 })).rejects.toThrow(RangeError);
  });

  it('ask for a rehash when made with weaker parameters', async () => {
    const hash = await hashPassword('correct horse battery', FAST);
    expect(needsRehash(hash, FAST)).toBe(false);
    expect(needsRehash(hash, { ln: 15, r: 8, p: 1 })).toBe(true);
    expect(needsRehash('not a hash')).toBe(true);
  });

  it('generate passwords from an unambiguous alphabet', () => {
    const pw = generatePassword(32);
    expect(pw).toMatch(/^[A-HJ-NP-Za-km-z2-9]{32}$/);
    expect(generatePassword()).toHaveLength(20);
    expect(generatePassword()).not.toBe(generatePassword());
  });
});
