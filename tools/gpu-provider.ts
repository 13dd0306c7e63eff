/**
 * The CUDA execution provider for onnxruntime-node, installed offline from the npm registry.
 *
 * onnxruntime-node's own installer downloads the CUDA provider from NuGet, which this project cannot reach.
 * The npm package `com.github.asus4.onnxruntime.linux-x64-gpu` ships Microsoft's provider libraries built for
 * ONNX Runtime 1.29.0 against CUDA 13 and cuDNN 9. Placed beside onnxruntime-node 1.29.0's
 * libonnxruntime.so.1, they enable `executionProviders: ['cuda']`. Every file is checked against the sha256
 * pinned here before it is copied.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';

export const GPU_PACKAGE = {
  name: 'com.github.asus4.onnxruntime.linux-x64-gpu',
  version: '0.4.9',
  /** npm's integrity of the tarball (sha512), as published in the registry. */
  integrity:
    'sha512-FopIhNE/Ng+v2X65wVc9clPCBCvhvA53Hxo2U0Kf5fGdVsC7iCA+mZ0KLWggcQAj7TIZ6pNidR4AC10g74Xo6w==',
  /** The onnxruntime-node version the provider was built for: the project pins exactly this one. */
  onnxruntimeVersion: '1.29.0',
  files: [
    {
      member: 'package/Plugins/Linux/x64/libonnxruntime_providers_shared.so',
      name: 'libonnxruntime_providers_shared.so',
      sha256: 'c6a12593396095f5670160e284c35d1700b7708cf3037b7042e2a5200ccae772',
    },
    {
      member: 'package/Plugins/Linux/x64/libonnxruntime_providers_cuda.so',
      name: 'libonnxruntime_providers_cuda.so',
      sha256: '56cf3254b118ad837ccc4ed8f6d1b23504bbf7ef91b34cbc0b289cb7f10b3037',
    },
    {
      member: 'package/Plugins/Linux/x64/libonnxruntime_providers_tensorrt.so',
      name: 'libonnxruntime_providers_tensorrt.so',
      sha256: 'ef6071798a339038ad66c428fb1a809cf8e499bffc3b6870e4e8bc4f4c6a6320',
    },
  ],
} as const;

/** The CUDA runtime libraries the provider links against, and where they usually come from. */
export const CUDA_RUNTIME_HINTS: Record<string, string> = {
  'libcuda.so.1': 'the NVIDIA driver',
  'libcudart.so.13': 'CUDA 13 runtime (nvidia-cuda-runtime-cu13 wheel or the CUDA 13 toolkit)',
  'libcublas.so.13': 'cuBLAS 13 (nvidia-cublas-cu13 wheel or the CUDA 13 toolkit)',
  'libcublasLt.so.13': 'cuBLAS 13 (nvidia-cublas-cu13 wheel or the CUDA 13 toolkit)',
  'libcurand.so.10': 'cuRAND (nvidia-curand-cu13 wheel or the CUDA 13 toolkit)',
  'libcufft.so.12': 'cuFFT (nvidia-cufft-cu13 wheel or the CUDA 13 toolkit)',
  'libcudnn.so.9': 'cuDNN 9 (nvidia-cudnn-cu13 wheel or the cuDNN 9 packages)',
};

export async function hashFile(file: string, algorithm: 'sha256' | 'sha512'): Promise<Buffer> {
  const hash = createHash(algorithm);
  const handle = await fs.open(file);
  try {
    for await (const chunk of handle.createReadStream()) hash.update(chunk as Buffer);
  } finally {
    await handle.close();
  }
  return hash.digest();
}

export async function sha256File(file: string): Promise<string> {
  return (await hashFile(file, 'sha256')).toString('hex');
}

/** Throws naming the file when its sha256 is not the pinned one. */
export async function verifyFile(file: string, expected: string): Promise<void> {
  const actual = await sha256File(file);
  if (actual !== expected) {
    throw new Error(
      `${file}: sha256 ${actual} does not match the pinned ${expected}; refusing to install it`,
    );
  }
}

/** Throws when the tarball's npm integrity (sha512, base64) is not the pinned one. */
export async function verifyIntegrity(file: string, expected: string): Promise<void> {
  const actual = `sha512-${(await hashFile(file, 'sha512')).toString('base64')}`;
  if (actual !== expected) {
    throw new Error(`${file}: integrity ${actual} is not the pinned ${expected}; refusing to unpack it`);
  }
}

/** The libraries `ldd` reports as "not found". */
export function missingLibraries(lddOutput: string): string[] {
  const out: string[] = [];
  for (const line of lddOutput.split('\n')) {
    const m = /^\s*(\S+)\s+=>\s+not found\s*$/.exec(line);
    if (m) out.push(m[1]!);
  }
  return [...new Set(out)].sort();
}

/** A message naming each missing CUDA library and where to get it. */
export function describeMissing(libs: readonly string[]): string {
  return libs.map((lib) => `  ${lib}: ${CUDA_RUNTIME_HINTS[lib] ?? 'not a known CUDA library'}`).join('\n');
}
