import { describe, expect, it } from 'vitest';
import { intersectionStoppingRule, noParkingRule } from '../../../../violations/rules/stopping.rule.js';
import type { SignalState } from '../../../../violations/signal-timeline.js';
import { always, ctxFor, path, square, still, T0, trackAlong } from '../fixtures.js';

const zone = { id: 'Z1', kind: 'no_parking', polygon: square(0.2, 0.2, 0.8, 0.8), dwellS: 10 };
const ctx = ctxFor({ stoppingZones: [zone] });

/** Drives into the zone, then stands `standMs` (2 fps). */
const parks = (standMs: number, label = 'car') =>
  trackAlong(
    [...path({ x: 0.5, y: 0.05 }, { x: 0.5, y: 0.5 }, 4), ...still({ x: 0.5, y: 0.5 }, standMs / 500)],
    {
      label,
    },
  );

describe('stopping and parking rules', () => {
  it('flags a car standing in a no-parking zone for the dwell, when the dwell is reached', () => {
    // It stops at T0 + 1.5 s (the 4th frame) and has stood 10 s at T0 + 11.5 s.
    const hit = noParkingRule.evaluate(parks(10_000), ctx);
    expect(hit).toMatchObject({ ruleCode: 'no_parking', at: T0 + 11_500 });
    expect(hit!.details).toMatchObject({
      zone: 'Z1',
      zoneKind: 'no_parking',
      dwellMs: 10_000,
      dwellThresholdMs: 10_000,
    });
  });

  it('does not flag it half a second short of the dwell', () => {
    expect(noParkingRule.evaluate(parks(9_500), ctx)).toBeUndefined();
  });

  it('does not flag a vehicle moving slowly through the zone', () => {
    // 0.03 per frame is 0.3 of its 0.1 box: more than the stationary drift of 0.25.
    const slow = trackAlong(path({ x: 0.5, y: 0.21 }, { x: 0.5, y: 0.21 + 0.03 * 25 }, 26));
    expect(noParkingRule.evaluate(slow, ctx)).toBeUndefined();
  });

  it('counts a standing vehicle whose box jitters as standing', () => {
    // Within a quarter of the 0.1 box of the newest position.
    const jitter = [0.01, -0.01, 0.008, -0.006, 0.004];
    const t = trackAlong(
      Array.from({ length: 24 }, (_, i) => ({ x: 0.5 + jitter[i % 5]!, y: 0.5 - jitter[(i + 2) % 5]! })),
    );
    expect(noParkingRule.evaluate(t, ctx)?.details['dwellMs']).toBe(10_000);
  });

  it('uses the default dwell of its kind (60 s for no parking)', () => {
    const defaults = ctxFor({ stoppingZones: [{ ...zone, dwellS: undefined }] });
    expect(noParkingRule.evaluate(parks(59_500), defaults)).toBeUndefined();
    expect(noParkingRule.evaluate(parks(60_000), defaults)).toBeDefined();
  });

  it('flags no-stopping zones under no_parking, intersections and bus stops under intersection_stopping', () => {
    const noStopping = ctxFor({ stoppingZones: [{ ...zone, kind: 'no_stopping' }] });
    expect(noParkingRule.evaluate(parks(10_000), noStopping)?.ruleCode).toBe('no_parking');
    const busStop = ctxFor({ stoppingZones: [{ ...zone, kind: 'bus_stop' }] });
    expect(noParkingRule.evaluate(parks(10_000), busStop)).toBeUndefined();
    expect(intersectionStoppingRule.evaluate(parks(10_000), busStop)?.ruleCode).toBe('intersection_stopping');
  });

  it('does not count time spent queueing at a red light', () => {
    const queue = { stoppingZones: [{ ...zone, kind: 'intersection', exemptWhileRed: 'main' }] };
    // Red until 8 s after it stopped, then green: 10 s of dwell need 18 s standing.
    const redThenGreen = (_g: string, at: number): SignalState => ({
      phase: at < T0 + 1_500 + 8_000 ? 'red' : 'green',
      sincePhaseStartMs: 0,
      source: 'fixed-time',
    });
    expect(intersectionStoppingRule.evaluate(parks(17_500), ctxFor(queue, redThenGreen))).toBeUndefined();
    const hit = intersectionStoppingRule.evaluate(parks(18_000), ctxFor(queue, redThenGreen));
    expect(hit?.details).toMatchObject({ dwellMs: 10_000, exemptMs: 8_000, exemptSignalGroup: 'main' });
    expect(intersectionStoppingRule.evaluate(parks(30_000), ctxFor(queue, always('red')))).toBeUndefined();
  });

  it('applies a zone only to the classes it lists', () => {
    const busesOnly = ctxFor({ stoppingZones: [{ ...zone, classes: ['bus'] }] });
    expect(noParkingRule.evaluate(parks(20_000), busesOnly)).toBeUndefined();
    expect(noParkingRule.evaluate(parks(20_000, 'bus'), busesOnly)).toBeDefined();
  });
});
