/**
 * `npm run setup:gpu [-- --check-only] [--cache DIR]`: installs the CUDA execution provider for
 * onnxruntime-node offline (from the npm registry), verifying every file's sha256, then checks that the CUDA
 * runtime libraries it needs can be found and names the ones that cannot. See tools/gpu-provider.ts.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import {
  GPU_PACKAGE,
  describeMissing,
  missingLibraries,
  sha256File,
  verifyFile,
  verifyIntegrity,
} from './gpu-provider.js';

const run = promisify(execFile);
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const ORT_DIR = path.join(ROOT, 'node_modules', 'onnxruntime-node');
const ORT_BIN = path.join(ORT_DIR, 'bin', 'napi-v6', 'linux', 'x64');
const say = (s: string) => process.stdout.write(`[setup:gpu] ${s}\n`);

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const checkOnly = args.includes('--check-only');
  const cacheIdx = args.indexOf('--cache');
  const cache = cacheIdx >= 0 ? path.resolve(args[cacheIdx + 1]!) : path.join(ROOT, '.cache', 'gpu');

  if (process.platform !== 'linux' || process.arch !== 'x64')
    throw new Error('the CUDA provider package is for linux-x64 only');
  const ortVersion = (
    JSON.parse(await fs.readFile(path.join(ORT_DIR, 'package.json'), 'utf8')) as { version: string }
  ).version;
  if (ortVersion !== GPU_PACKAGE.onnxruntimeVersion) {
    throw new Error(
      `onnxruntime-node ${ortVersion} is installed but the CUDA provider is built for ${GPU_PACKAGE.onnxruntimeVersion}: run npm ci`,
    );
  }

  if (!checkOnly) {
    const installed = await Promise.all(
      GPU_PACKAGE.files.map(async (f) => {
        try {
          return (await sha256File(path.join(ORT_BIN, f.name))) === f.sha256;
        } catch {
          return false;
        }
      }),
    );
    if (installed.every(Boolean)) say('CUDA provider already installed and verified');
    else await install(cache);
  }

  const { stdout } = await run('ldd', [path.join(ORT_BIN, 'libonnxruntime_providers_cuda.so')], {
    env: process.env,
  }).catch((err: { stdout?: string }) => ({ stdout: err.stdout ?? '' }));
  const missing = missingLibraries(stdout);
  if (missing.length > 0) {
    process.stderr.write(
      `[setup:gpu] the CUDA provider is installed but these libraries cannot be found:\n${describeMissing(missing)}\n` +
        '[setup:gpu] install them, or add their folders to LD_LIBRARY_PATH, then run npm run setup:gpu -- --check-only\n' +
        '[setup:gpu] until then DETECTOR_PROVIDER=cuda falls back to the CPU with a logged warning\n',
    );
    process.exit(2);
  }
  say('CUDA runtime libraries found: set DETECTOR_PROVIDER=cuda');
}

async function install(cache: string): Promise<void> {
  await fs.mkdir(cache, { recursive: true });
  const tarball = path.join(cache, `${GPU_PACKAGE.name}-${GPU_PACKAGE.version}.tgz`);
  const have = await fs.stat(tarball).then(
    () => true,
    () => false,
  );
  if (!have) {
    say(`fetching ${GPU_PACKAGE.name}@${GPU_PACKAGE.version} from the npm registry (about 180 MB)`);
    // npm pack checks the tarball against the registry's integrity.
    await run('npm', ['pack', `${GPU_PACKAGE.name}@${GPU_PACKAGE.version}`, '--pack-destination', cache], {
      maxBuffer: 16 * 1024 * 1024,
    });
  }
  try {
    await verifyIntegrity(tarball, GPU_PACKAGE.integrity);
  } catch (err) {
    // A corrupt or substituted download is removed, so the next run fetches it again.
    await fs.rm(tarball, { force: true });
    throw err;
  }
  const work = await fs.mkdtemp(path.join(os.tmpdir(), 'pn-gpu-'));
  try {
    say('unpacking the provider libraries');
    await run('tar', ['-xzf', tarball, '-C', work, ...GPU_PACKAGE.files.map((f) => f.member)]);
    for (const f of GPU_PACKAGE.files) {
      const src = path.join(work, f.member);
      await verifyFile(src, f.sha256);
      const tmp = path.join(ORT_BIN, `.${f.name}.tmp`);
      await fs.copyFile(src, tmp);
      await fs.chmod(tmp, 0o755);
      await fs.rename(tmp, path.join(ORT_BIN, f.name));
      say(`installed ${f.name} (sha256 ${f.sha256.slice(0, 12)}… verified)`);
    }
  } finally {
    await fs.rm(work, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`[setup:gpu] ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
