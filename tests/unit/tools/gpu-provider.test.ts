import { describe, expect, it } from 'vitest';
import { GPU_PACKAGE, describeMissing, missingLibraries } from '../../../tools/gpu-provider.js';

const LDD = `	linux-vdso.so.1 (0x00007ffd2b5f2000)
	libcublasLt.so.13 => not found
	libcublas.so.13 => not found
	libcurand.so.10 => not found
	libdl.so.2 => /lib/x86_64-linux-gnu/libdl.so.2 (0x00007f0e0b4c5000)
	libcuda.so.1 => not found
	libcublas.so.13 => not found
`;

describe('CUDA provider install', () => {
  it('names every library ldd cannot find, once', () => {
    expect(missingLibraries(LDD)).toEqual([
      'libcublas.so.13',
      'libcublasLt.so.13',
      'libcuda.so.1',
      'libcurand.so.10',
    ]);
  });

  it('finds nothing missing when every library resolves', () => {
    expect(missingLibraries('\tlibdl.so.2 => /lib/x86_64-linux-gnu/libdl.so.2 (0x1)\n')).toEqual([]);
  });

  it('says where each missing library comes from', () => {
    const text = describeMissing(['libcuda.so.1', 'libcudnn.so.9', 'libfoo.so']);
    expect(text).toContain('libcuda.so.1: the NVIDIA driver');
    expect(text).toContain('libcudnn.so.9: cuDNN 9');
    expect(text).toContain('libfoo.so: not a known CUDA library');
  });

  it('pins the provider build to the onnxruntime-node version the project installs', async () => {
    const pkg = (await import('../../../package.json', { with: { type: 'json' } })).default as {
      dependencies: Record<string, string>;
    };
    expect(pkg.dependencies['onnxruntime-node']).toBe(GPU_PACKAGE.onnxruntimeVersion);
    for (const f of GPU_PACKAGE.files) expect(f.sha256).toMatch(/^[0-9a-f]{64}$/);
  });
});
