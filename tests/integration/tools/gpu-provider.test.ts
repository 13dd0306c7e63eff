import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { sha256File, verifyFile, verifyIntegrity } from '../../../tools/gpu-provider.js';

let dir: string;
beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pn-gpu-test-'));
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

describe('provider tarball verification', () => {
  it('accepts a tarball whose sha512 integrity is the pinned one', async () => {
    const file = path.join(dir, 'pkg.tgz');
    await fs.writeFile(file, 'tarball bytes');
    const pinned = `sha512-${createHash('sha512').update('tarball bytes').digest('base64')}`;
    await expect(verifyIntegrity(file, pinned)).resolves.toBeUndefined();
  });

  it('refuses a tarball whose integrity differs, naming both', async () => {
    const file = path.join(dir, 'pkg-bad.tgz');
    await fs.writeFile(file, 'tarball bytez');
    const pinned = `sha512-${createHash('sha512').update('tarball bytes').digest('base64')}`;
    await expect(verifyIntegrity(file, pinned)).rejects.toThrow(
      /pkg-bad\.tgz: integrity sha512-\S+ is not the pinned sha512-\S+; refusing to unpack it/,
    );
  });
});

describe('provider file verification', () => {
  it('accepts a file whose sha256 is the pinned one', async () => {
    const file = path.join(dir, 'lib.so');
    await fs.writeFile(file, 'provider bytes');
    await expect(verifyFile(file, await sha256File(file))).resolves.toBeUndefined();
  });

  it('refuses a file with one byte changed, naming it', async () => {
    const file = path.join(dir, 'libonnxruntime_providers_cuda.so');
    await fs.writeFile(file, 'provider bytes');
    const pinned = await sha256File(file);
    await fs.writeFile(file, 'provider bytez');
    await expect(verifyFile(file, pinned)).rejects.toThrow(
      /libonnxruntime_providers_cuda\.so: sha256 .* does not match/,
    );
  });
});
