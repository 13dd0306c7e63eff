import { describe, expect, it } from 'vitest';
import { sidewalkRule } from '../../../../violations/rules/sidewalk.rule.js';
import { ctxFor, path, square, T0, trackAlong } from '../fixtures.js';

const ctx = ctxFor({
  sidewalks: [{ id: 'SW', polygon: square(0.8, 0, 1, 1) }],
  rules: { sidewalk: { minFrames: 3 } },
});
const along = (frames: number, label = 'motorcycle') =>
  trackAlong(path({ x: 0.9, y: 0.2 }, { x: 0.9, y: 0.2 + 0.05 * (frames - 1) }, frames), { label });

describe('sidewalk rule', () => {
  it('flags a motorbike with its wheels on the sidewalk for the minimum frames', () => {
    const hit = sidewalkRule.evaluate(along(3), ctx);
    expect(hit).toMatchObject({ ruleCode: 'sidewalk', at: T0 + 1_000 });
    expect(hit!.details).toMatchObject({ sidewalk: 'SW', framesOnSidewalk: 3 });
  });

  it('does not flag it one frame short', () => {
    expect(sidewalkRule.evaluate(along(2), ctx)).toBeUndefined();
  });

  it('judges where the wheels are, not the box: a motorbike beside the kerb overlapping it is fine', () => {
    // Box from x 0.74 to 0.84 overlaps the sidewalk, its bottom centre (0.79) is on the road.
    const beside = trackAlong(path({ x: 0.79, y: 0.2 }, { x: 0.79, y: 0.5 }, 6), { label: 'motorcycle' });
    expect(sidewalkRule.evaluate(beside, ctx)).toBeUndefined();
  });

  it('leaves cars to the sidewalks that list them', () => {
    expect(sidewalkRule.evaluate(along(5, 'car'), ctx)).toBeUndefined();
    const carsToo = ctxFor({
      sidewalks: [{ id: 'SW', polygon: square(0.8, 0, 1, 1), classes: ['motorcycle', 'car'] }],
    });
    expect(sidewalkRule.evaluate(along(5, 'car'), carsToo)?.ruleCode).toBe('sidewalk');
  });
});
