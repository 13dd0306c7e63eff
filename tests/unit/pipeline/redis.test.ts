import { describe, expect, it } from 'vitest';
import { parseEvictionPolicy } from '../../../pipeline/redis.js';

describe('Redis eviction policy', () => {
  it('reads the policy from INFO memory', () => {
    const info =
      '# Memory\r\nused_memory:1024\r\nmaxmemory_policy:allkeys-lru\r\nmem_fragmentation_ratio:1.2\r\n';
    expect(parseEvictionPolicy(info)).toBe('allkeys-lru');
  });

  it('says nothing when the line is absent', () => {
    expect(parseEvictionPolicy('# Memory\nused_memory:1\n')).toBeUndefined();
  });
});
