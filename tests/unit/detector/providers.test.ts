import { describe, expect, it } from 'vitest';
import { providerChain, sessionOptions } from '../../../detector/model-registry.js';

describe('execution provider selection', () => {
  it('tries TensorRT, then CUDA, then the CPU; CUDA then the CPU; the CPU alone', () => {
    expect(providerChain('tensorrt')).toEqual(['tensorrt', 'cuda', 'cpu']);
    expect(providerChain('cuda')).toEqual(['cuda', 'cpu']);
    expect(providerChain('cpu')).toEqual(['cpu']);
  });

  it('puts the configured device on every GPU provider, CUDA behind TensorRT for the nodes it refuses', () => {
    expect(sessionOptions('tensorrt', 1, 3).executionProviders).toEqual([
      { name: 'tensorrt', deviceId: 3 },
      { name: 'cuda', deviceId: 3 },
    ]);
    expect(sessionOptions('cuda', 1, 2).executionProviders).toEqual([{ name: 'cuda', deviceId: 2 }]);
    expect(sessionOptions('cpu', 4, 0)).toMatchObject({
      executionProviders: ['cpu'],
      intraOpNumThreads: 4,
      interOpNumThreads: 1,
      graphOptimizationLevel: 'all',
    });
  });
});
