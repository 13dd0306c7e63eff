import { describe, expect, it } from 'vitest';
import { RateEstimator } from '../../../ingest/rate-estimator.js';

describe('RateEstimator', () => {
  it('measures events per second over its window', () => {
    const r = new RateEstimator(10_000);
    for (let t = 0; t <= 20_000; t += 500) r.record(t);
    expect(r.perSecond(20_000)).toBe(2);
  });

  it('falls to zero when events stop', () => {
    const r = new RateEstimator(10_000);
    for (let t = 0; t <= 5000; t += 200) r.record(t);
    expect(r.perSecond(5000)).toBe(5);
    expect(r.perSecond(10_000)).toBeLessThan(5);
    expect(r.perSecond(16_000)).toBe(0);
  });

  it('is not biased low between events once the window is full', () => {
    const r = new RateEstimator(10_000);
    for (let t = 0; t <= 30_000; t += 500) r.record(t);
    expect(r.perSecond(30_499)).toBe(2);
  });

  it('starts over on reset', () => {
    const r = new RateEstimator(10_000);
    for (let t = 0; t <= 20_000; t += 100) r.record(t);
    r.reset();
    expect(r.perSecond(20_000)).toBe(0);
  });

  it('needs two events for a rate', () => {
    const r = new RateEstimator();
    expect(r.perSecond(0)).toBe(0);
    r.record(0);
    expect(r.perSecond(100)).toBe(0);
  });
});
