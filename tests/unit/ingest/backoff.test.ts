import { describe, expect, it } from 'vitest';
import {
  backoffDelay,
  nextRestartDelay,
  RESTART_WINDOW_MS,
  restartCapDelay,
  RestartWindow,
  type BackoffPolicy,
} from '../../../ingest/backoff.js';

const policy: BackoffPolicy = { minMs: 1000, maxMs: 30_000, maxRestartsPerMinute: 6, jitter: 0.2 };
const middle = () => 0.5; // no jitter
const low = () => 0; // −20 %
const high = () => 0.999999; // +20 %

describe('backoffDelay', () => {
  it('doubles from the minimum and stops at the cap', () => {
    const schedule = [1, 2, 3, 4, 5, 6, 7, 8].map((n) => backoffDelay(policy, n, middle));
    expect(schedule).toEqual([1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000]);
  });

  it('varies by ±jitter around the exponential value', () => {
    expect(backoffDelay(policy, 3, low)).toBe(3200);
    expect(backoffDelay(policy, 3, high)).toBe(4800);
  });

  it('never goes below the minimum nor above the maximum, whatever the jitter', () => {
    expect(backoffDelay(policy, 1, low)).toBe(1000);
    expect(backoffDelay(policy, 20, high)).toBe(30_000);
    for (let n = 1; n < 60; n++) {
      const d = backoffDelay(policy, n, Math.random);
      expect(d).toBeGreaterThanOrEqual(1000);
      expect(d).toBeLessThanOrEqual(30_000);
    }
  });

  it('survives absurd failure counts without overflowing', () => {
    expect(backoffDelay(policy, 10_000, middle)).toBe(30_000);
    expect(backoffDelay(policy, 0, middle)).toBe(1000);
  });
});

describe('restartCapDelay', () => {
  const now = 1_000_000;

  it('imposes nothing below the cap', () => {
    const times = [now - 50_000, now - 40_000, now - 1000];
    expect(restartCapDelay(policy, times, now)).toBe(0);
  });

  it('waits until the oldest restart of the window ages out once the cap is reached', () => {
    const times = [now - 50_000, now - 40_000, now - 30_000, now - 20_000, now - 10_000, now - 5000];
    expect(restartCapDelay(policy, times, now)).toBe(10_000);
  });

  it('ignores restarts older than a minute', () => {
    const times = [now - 120_000, now - 61_000, now - 30_000];
    expect(restartCapDelay({ ...policy, maxRestartsPerMinute: 2 }, times, now)).toBe(0);
  });

  it('with a cap of one, waits a full minute after the last restart', () => {
    expect(restartCapDelay({ ...policy, maxRestartsPerMinute: 1 }, [now - 15_000], now)).toBe(45_000);
  });
});

describe('nextRestartDelay', () => {
  it('takes the larger of backoff and cap and says which applied', () => {
    const now = 500_000;
    const busy = Array.from({ length: 6 }, (_, i) => now - 59_000 + i * 1000);
    expect(nextRestartDelay(policy, 1, busy, now, middle)).toEqual({ delayMs: 1000, capped: false });
    const full = Array.from({ length: 6 }, (_, i) => now - 30_000 + i * 1000);
    expect(nextRestartDelay(policy, 1, full, now, middle)).toEqual({ delayMs: 30_000, capped: true });
  });
});

describe('RestartWindow', () => {
  it('keeps only the last minute, and no more entries than the cap', () => {
    const w = new RestartWindow(3);
    w.record(0);
    w.record(10_000);
    w.record(20_000);
    w.record(30_000);
    expect(w.recent(30_000)).toEqual([10_000, 20_000, 30_000]);
    expect(w.recent(10_000 + RESTART_WINDOW_MS)).toEqual([20_000, 30_000]);
  });
});
