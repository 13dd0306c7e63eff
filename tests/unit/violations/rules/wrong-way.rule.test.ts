import { describe, expect, it } from 'vitest';
import { wrongWayRule } from '../../../../violations/rules/wrong-way.rule.js';
import { ctxFor, path, square, T0, trackAlong } from '../fixtures.js';

// A one-way lane whose traffic goes down the image (+y); minimum 0.08 against, 3 frames, 135°.
const lane = { id: 'L1', polygon: square(0.2, 0.1, 0.8, 0.95), direction: { dx: 0, dy: 1 } };
const ctx = ctxFor({ lanes: [lane] });

/** A straight run at `deg` degrees from the lane's direction (0 = with it, 180 = against), `len` long. */
function heading(deg: number, len: number, frames = 5) {
  const r = (deg * Math.PI) / 180;
  const from = { x: 0.5, y: 0.5 };
  return trackAlong(path(from, { x: from.x + Math.sin(r) * len, y: from.y + Math.cos(r) * len }, frames));
}

describe('wrong-way rule', () => {
  it('flags travel straight against the lane once it has gone the minimum distance', () => {
    const hit = wrongWayRule.evaluate(heading(180, 0.2), ctx);
    expect(hit).toMatchObject({ ruleCode: 'wrong_way', at: T0 + 2 * 500 });
    expect(hit!.details).toMatchObject({ lane: 'L1', angleDeg: 180, frames: 3 });
    expect(hit!.details['distanceAgainst']).toBeCloseTo(0.1);
  });

  it('measures the distance exactly at the threshold', () => {
    expect(wrongWayRule.evaluate(heading(180, 0.0796, 3), ctx)).toBeUndefined();
    expect(wrongWayRule.evaluate(heading(180, 0.0804, 3), ctx)).toBeDefined();
  });

  it('needs the minimum number of frames', () => {
    expect(wrongWayRule.evaluate(heading(180, 0.3, 2), ctx)).toBeUndefined();
  });

  it('does not flag travel with the lane, or straight across it', () => {
    expect(wrongWayRule.evaluate(heading(0, 0.3), ctx)).toBeUndefined();
    expect(wrongWayRule.evaluate(heading(90, 0.25), ctx)).toBeUndefined();
  });

  it('flags at 136° from the lane but not at 134°', () => {
    // Long enough that the component against the lane clears 0.08 either way.
    expect(wrongWayRule.evaluate(heading(134, 0.2), ctx)).toBeUndefined();
    expect(wrongWayRule.evaluate(heading(136, 0.2), ctx)).toBeDefined();
  });

  it('does not flag a vehicle standing still with a jittering box', () => {
    const jitter = [0, 0.01, -0.01, 0.008, -0.012, 0.01].map((d) => ({ x: 0.5, y: 0.5 + d }));
    expect(wrongWayRule.evaluate(trackAlong(jitter), ctx)).toBeUndefined();
  });

  it('catches a vehicle that turns round in the lane once it has gone far enough back', () => {
    const uturn = [
      ...path({ x: 0.5, y: 0.3 }, { x: 0.5, y: 0.6 }, 4),
      ...path({ x: 0.5, y: 0.56 }, { x: 0.5, y: 0.4 }, 5),
    ];
    const hit = wrongWayRule.evaluate(trackAlong(uturn), ctx);
    expect(hit?.details['from']).toMatchObject({ point: { x: 0.5, y: 0.6 } });
    expect(hit?.at).toBe(T0 + 6 * 500);
  });

  it('takes the direction from an entry and exit point', () => {
    const entryExit = ctxFor({
      lanes: [{ ...lane, direction: { entry: { x: 0.5, y: 0.1 }, exit: { x: 0.5, y: 0.9 } } }],
    });
    expect(wrongWayRule.evaluate(heading(180, 0.2), entryExit)).toBeDefined();
  });

  it('ignores motion outside the lane', () => {
    const outside = trackAlong(path({ x: 0.9, y: 0.8 }, { x: 0.9, y: 0.4 }, 5));
    expect(wrongWayRule.evaluate(outside, ctx)).toBeUndefined();
  });

  it('reports wrong_lane on half of a two-way road', () => {
    const twoWay = ctxFor({ lanes: [{ ...lane, against: 'wrong_lane' }] });
    expect(wrongWayRule.evaluate(heading(180, 0.2), twoWay)?.ruleCode).toBe('wrong_lane');
  });
});
