import { describe, expect, it } from 'vitest';
import { applyHomography, fitHomography } from '../../../../violations/homography.js';
import {
  perspectiveFraction,
  speedExcess,
  speedingRule,
  speedTier,
} from '../../../../violations/rules/speeding.rule.js';
import type { Track } from '../../../../violations/tracker.js';
import { ctxFor, T0, trackAlong } from '../fixtures.js';

describe('speed tiers (Decree 168, per class family)', () => {
  const car = (excess: number) => speedTier('car', excess);
  const bike = (excess: number) => speedTier('motorbike', excess);

  it('is no offence under 5 km/h over', () => {
    expect(car(0)).toBeUndefined();
    expect(car(4.99)).toBeUndefined();
    expect(bike(4.99)).toBeUndefined();
  });

  it('puts exactly 5, 10, 20 and 35 over a car limit in [5,10), [10,20], [10,20], (20,35]', () => {
    expect(car(5)).toBe('[5,10)');
    expect(car(9.99)).toBe('[5,10)');
    expect(car(10)).toBe('[10,20]');
    expect(car(20)).toBe('[10,20]');
    expect(car(20.01)).toBe('(20,35]');
    expect(car(35)).toBe('(20,35]');
    expect(car(35.01)).toBe('(35,)');
  });

  it('has no tier above (20,) for motorbikes', () => {
    expect(bike(5)).toBe('[5,10)');
    expect(bike(10)).toBe('[10,20]');
    expect(bike(20)).toBe('[10,20]');
    expect(bike(20.01)).toBe('(20,)');
    expect(bike(35)).toBe('(20,)');
    expect(bike(80)).toBe('(20,)');
  });
});

describe('speed excess', () => {
  it('takes the tolerance off the measured speed, in exact hundredths', () => {
    expect(speedExcess(68, 60, 3)).toEqual({ measuredKmh: 68, excessKmh: 5 });
    expect(speedExcess(67.999, 60, 3)).toEqual({ measuredKmh: 67.99, excessKmh: 4.99 });
  });

  it('clears floating-point noise before truncating in the driver’s favour', () => {
    expect(speedExcess(64.99999999999999, 60, 0).excessKmh).toBe(5);
    expect(speedExcess(64.996, 60, 0).excessKmh).toBe(4.99);
  });
});

// Gate: entry line at y = 0.3, exit at y = 0.7, 20 m apart; car limit 60, motorbike 50, tolerance 3.
const gateScene = {
  speed: {
    limitsKmh: { car: 60, truck: 50, motorcycle: 50 },
    toleranceKmh: 3,
    gates: [
      {
        id: 'G1',
        entry: { a: { x: 0.1, y: 0.3 }, b: { x: 0.9, y: 0.3 } },
        exit: { a: { x: 0.1, y: 0.7 }, b: { x: 0.9, y: 0.7 } },
        distanceM: 20,
      },
    ],
  },
};
const ctx = ctxFor(gateScene);

/** A vehicle crossing the entry line at T0 + 500 and the exit line `elapsedMs` later. */
function throughGate(elapsedMs: number, label = 'car'): Track {
  const t = trackAlong(
    [0.2, 0.3, 0.5, 0.7, 0.8].map((y) => ({ x: 0.5, y })),
    { label },
  );
  const times = [T0, T0 + 500, T0 + 500 + elapsedMs / 2, T0 + 500 + elapsedMs, T0 + 1000 + elapsedMs];
  t.history.forEach((p, i) => (p.t = times[i]!));
  t.lastSeenAt = times[4]!;
  return t;
}
/** The crossing time for a speed: 20 m at v km/h. */
const msFor = (kmh: number) => (20 / (kmh / 3.6)) * 1000;

describe('speeding rule: speed gate', () => {
  it('flags 5 km/h over after the tolerance, storing measured speed, limit and tolerance apart', () => {
    const hit = speedingRule.evaluate(throughGate(msFor(68)), ctx);
    expect(hit).toMatchObject({ ruleCode: 'speeding' });
    expect(hit!.at).toBeCloseTo(T0 + 500 + msFor(68), 6);
    expect(hit!.details).toMatchObject({
      method: 'gate',
      gate: 'G1',
      measuredKmh: 68,
      limitKmh: 60,
      toleranceKmh: 3,
      speedExcessKmh: 5,
      speedTier: '[5,10)',
      classFamily: 'car',
    });
  });

  it('does not flag 4.99 km/h over', () => {
    expect(speedingRule.evaluate(throughGate(msFor(67.99)), ctx)).toBeUndefined();
  });

  it('puts a car exactly 10, 20 and 35 over in the tiers of the law', () => {
    const tierAt = (over: number) =>
      speedingRule.evaluate(throughGate(msFor(63 + over)), ctx)?.details['speedTier'];
    expect(tierAt(10)).toBe('[10,20]');
    expect(tierAt(20)).toBe('[10,20]');
    expect(tierAt(35)).toBe('(20,35]');
    expect(tierAt(36)).toBe('(35,)');
  });

  it('puts a motorbike 35 over in its top tier', () => {
    const hit = speedingRule.evaluate(throughGate(msFor(53 + 35), 'motorcycle'), ctx);
    expect(hit!.details).toMatchObject({ speedTier: '(20,)', speedExcessKmh: 35, classFamily: 'motorbike' });
  });

  it('uses the limit of the vehicle’s own class', () => {
    // 60 km/h: legal for a car (limit 60), 7 over for a truck (limit 50, tolerance 3).
    expect(speedingRule.evaluate(throughGate(msFor(60)), ctx)).toBeUndefined();
    expect(speedingRule.evaluate(throughGate(msFor(60), 'truck'), ctx)?.details['speedExcessKmh']).toBe(7);
  });

  it('times only a crossing into the gate: a track that first went back out over the entry line is timed from its way in', () => {
    // Up through the entry line (leaving the gate backwards), then down through the whole gate at 90 km/h:
    // the first crossing of the entry line is the wrong way and would time 4.8 s (15 km/h).
    const t = trackAlong(
      [0.4, 0.25, 0.2, 0.25, 0.5, 0.75].map((y) => ({ x: 0.5, y })),
      { label: 'car' },
    );
    const times = [0, 500, 3000, 4000, 4400, 4800].map((d) => T0 + d);
    t.history.forEach((p, i) => (p.t = times[i]!));
    t.lastSeenAt = times[5]!;
    const hit = speedingRule.evaluate(t, ctx);
    // Entry at 4000 + 400·(0.05/0.25), exit at 4400 + 400·(0.2/0.25): 20 m in 0.64 s.
    expect(hit?.details).toMatchObject({ measuredKmh: 112.5, elapsedMs: 640 });
  });

  it('does not measure a vehicle that has not reached the exit line, or a class without a limit', () => {
    const halfway = throughGate(msFor(120));
    halfway.history.splice(3);
    expect(speedingRule.evaluate(halfway, ctx)).toBeUndefined();
    expect(speedingRule.evaluate(throughGate(msFor(120), 'bus'), ctx)).toBeUndefined();
  });
});

describe('speeding rule: ground homography', () => {
  // A 3.5 m × 20 m stretch in perspective (see the homography tests); limit 30, no tolerance.
  const image = [
    { x: 0.45, y: 0.3 },
    { x: 0.55, y: 0.3 },
    { x: 0.7, y: 0.9 },
    { x: 0.3, y: 0.9 },
  ];
  const groundM = [
    { x: 0, y: 20 },
    { x: 3.5, y: 20 },
    { x: 3.5, y: 0 },
    { x: 0, y: 0 },
  ];
  const scene = { speed: { limitsKmh: { car: 30 }, homography: { image, groundM } } };
  const toImage = fitHomography(groundM, image)!;
  /** A car driving away from the camera along x = 1.75 m at `mps`, 2 fps, from ground y = y0. */
  const drive = (mps: number, y0: number, frames: number) =>
    trackAlong(
      Array.from({ length: frames }, (_, i) => applyHomography(toImage, { x: 1.75, y: y0 + (mps * i) / 2 })!),
      {
        w: 0.05,
        h: 0.05,
      },
    );

  it('measures the ground distance over the time spent in the zone', () => {
    // 10 m/s = 36 km/h: inside at ground 2, 7, 12, 17 m, out at 22 m.
    const hit = speedingRule.evaluate(drive(10, -3, 6), ctxFor(scene));
    expect(hit!.details).toMatchObject({
      method: 'homography',
      measuredKmh: 36,
      speedExcessKmh: 6,
      speedTier: '[5,10)',
      elapsedMs: 1500,
      observations: 4,
    });
    expect(hit!.details['groundDistanceM']).toBeCloseTo(15, 6);
  });

  it('waits until the vehicle has left the zone', () => {
    expect(speedingRule.evaluate(drive(10, -3, 5), ctxFor(scene))).toBeUndefined();
  });

  it('does not flag at the limit', () => {
    // 30 km/h = 8.333 m/s.
    expect(speedingRule.evaluate(drive(30 / 3.6, -1, 7), ctxFor(scene))).toBeUndefined();
  });
});

describe('gate crossing times in perspective', () => {
  // A pinhole camera 4.5 m up (focal 1000 px, horizon at row 100 of 720) over a straight road; a car
  // 1.8 m wide and 1.5 m tall driving straight at it.
  const row = (z: number) => (100 + 4500 / z) / 720;
  const boxAt = (z: number) => {
    const w = 1800 / z / 1280;
    const h = 1500 / z / 720;
    return { x: 0.5 - w / 2, y: row(z) - h, w, h };
  };

  it('recovers the time fraction at which a steadily moving car reached a line, from its box sizes', () => {
    // From 40 m to 28 m in one frame interval; the line is at 32 m, two thirds of the way in time.
    const u = (row(32) - row(40)) / (row(28) - row(40));
    expect(u).toBeCloseTo(0.583, 3);
    expect(perspectiveFraction(u, boxAt(40), boxAt(28))).toBeCloseTo(2 / 3, 6);
    // A receding car: the same, the other way round.
    expect(perspectiveFraction(1 - u, boxAt(28), boxAt(40))).toBeCloseTo(1 / 3, 6);
  });

  it('keeps the linear split for boxes cut off by the frame, or of the same size', () => {
    const cut = { ...boxAt(9), y: 0.7, h: 0.3 };
    expect(perspectiveFraction(0.4, boxAt(20), cut)).toBe(0.4);
    expect(perspectiveFraction(0.4, boxAt(20), boxAt(20))).toBeCloseTo(0.4, 12);
  });

  it('measures a car approaching at 88 km/h, seen at 2 fps, to within 1 km/h (a linear split reads 6 % high)', () => {
    const scene = {
      speed: {
        limitsKmh: { car: 50 },
        toleranceKmh: 3,
        gates: [
          {
            id: 'G1',
            entry: { a: { x: 0, y: row(34) }, b: { x: 1, y: row(34) } },
            exit: { a: { x: 0, y: row(20) }, b: { x: 1, y: row(20) } },
            distanceM: 14,
          },
        ],
      },
    };
    const v = 88 / 3.6;
    // Entry is crossed 0.2 s after the first frame: at 2 fps, 0.5 s and 12.2 m a frame.
    const zs = [0, 1, 2].map((i) => 34 + v * 0.2 - v * 0.5 * i);
    const track: Track = {
      ...trackAlong([], { id: 3 }),
      history: zs.map((z, i) => ({ t: T0 + i * 500, box: boxAt(z), score: 0.9 })),
      hits: 3,
      lastSeenAt: T0 + 1000,
    };
    const hit = speedingRule.evaluate(track, ctxFor(scene))!;
    expect(hit).toBeDefined();
    expect(Math.abs((hit.details['measuredKmh'] as number) - 88)).toBeLessThan(1);
    expect(hit.details['interpolation']).toBe('perspective');
  });
});
