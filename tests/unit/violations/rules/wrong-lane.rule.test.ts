import { describe, expect, it } from 'vitest';
import { wrongLaneRule } from '../../../../violations/rules/wrong-lane.rule.js';
import { ctxFor, path, square, T0, trackAlong } from '../fixtures.js';

// A car-only lane on the left half; 4 frames in it make the act.
const ctx = ctxFor({
  lanes: [
    {
      id: 'CAR',
      polygon: square(0, 0, 0.5, 1),
      direction: { dx: 0, dy: 1 },
      allowedClasses: ['car', 'bus', 'truck'],
    },
    { id: 'MIXED', polygon: square(0.5, 0, 1, 1), direction: { dx: 0, dy: 1 } },
  ],
  rules: { wrongLane: { minFrames: 4 } },
});
const inCarLane = (frames: number, label = 'motorcycle') =>
  trackAlong(path({ x: 0.3, y: 0.2 }, { x: 0.3, y: 0.2 + 0.05 * (frames - 1) }, frames), { label });

describe('wrong-lane (vehicle class) rule', () => {
  it('flags a motorbike dwelling in a car-only lane for the minimum frames, at the last of them', () => {
    const hit = wrongLaneRule.evaluate(inCarLane(4), ctx);
    expect(hit).toMatchObject({ ruleCode: 'wrong_lane', at: T0 + 3 * 500 });
    expect(hit!.details).toMatchObject({ lane: 'CAR', vehicleClass: 'motorcycle', framesInLane: 4 });
  });

  it('does not flag it one frame short', () => {
    expect(wrongLaneRule.evaluate(inCarLane(3), ctx)).toBeUndefined();
  });

  it('does not flag an allowed class, or a lane that allows every class', () => {
    expect(wrongLaneRule.evaluate(inCarLane(6, 'car'), ctx)).toBeUndefined();
    const mixed = trackAlong(path({ x: 0.7, y: 0.2 }, { x: 0.7, y: 0.6 }, 6), { label: 'motorcycle' });
    expect(wrongLaneRule.evaluate(mixed, ctx)).toBeUndefined();
  });

  it('does not flag a motorbike crossing the lane in a couple of frames', () => {
    const crossing = trackAlong(path({ x: 0.8, y: 0.5 }, { x: 0.1, y: 0.5 }, 5), { label: 'motorcycle' });
    // Frames at x 0.8, 0.625, 0.45, 0.275, 0.1: three in the car lane.
    expect(wrongLaneRule.evaluate(crossing, ctx)).toBeUndefined();
  });

  it('restarts the count when observations are too far apart', () => {
    const gappy = inCarLane(4);
    for (let i = 2; i < 4; i++) gappy.history[i]!.t += 2_000;
    expect(wrongLaneRule.evaluate(gappy, ctx)).toBeUndefined();
  });
});
