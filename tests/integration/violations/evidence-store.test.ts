import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EvidenceStore } from '../../../violations/evidence-store.js';

// The store is a filesystem component: these tests use a temporary directory.
let dir: string;
beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pn-evidence-'));
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

describe('content-addressed evidence store', () => {
  it('names a file by its sha256 and reads it back', async () => {
    const store = new EvidenceStore(dir);
    const bytes = Buffer.from('still at the crossing');
    const asset = await store.put(bytes, 'image/jpeg');
    expect(asset.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
    expect(asset.storageUri).toBe(`cas:sha256/${asset.sha256.slice(0, 2)}/${asset.sha256}.jpg`);
    expect(await store.read(asset.storageUri)).toEqual(bytes);
    await expect(store.verify(asset)).resolves.toBeUndefined();
  });

  it('writes the same content once', async () => {
    const store = new EvidenceStore(dir);
    const a = await store.put(Buffer.from('same'), 'application/json');
    const b = await store.put(Buffer.from('same'), 'application/json');
    expect(a).toEqual(b);
  });

  it('detects one flipped byte', async () => {
    const store = new EvidenceStore(dir);
    const asset = await store.put(Buffer.from('tamper me please'), 'image/jpeg');
    const file = store.resolve(asset.storageUri);
    const bytes = await fs.readFile(file);
    bytes[3] = bytes[3]! ^ 0x01;
    await fs.writeFile(file, bytes);
    await expect(store.verify(asset)).rejects.toThrow(/does not match/);
  });

  it('refuses addresses outside the store', () => {
    const store = new EvidenceStore(dir);
    expect(() => store.resolve('cas:../../etc/passwd')).toThrow(/not an evidence store address/);
    expect(() => store.resolve('/etc/passwd')).toThrow();
  });

  it('refuses media types it does not store', async () => {
    await expect(new EvidenceStore(dir).put(Buffer.from('x'), 'text/html')).rejects.toThrow(/unsupported/);
  });
});
