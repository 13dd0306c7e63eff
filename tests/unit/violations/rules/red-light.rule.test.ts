import { describe, expect, it } from 'vitest';
import { redLightRule } from '../../../../violations/rules/red-light.rule.js';
import { parseSceneConfig } from '../../../../violations/scene-config.js';
import { fixedTimePhase } from '../../../../violations/signal-timeline.js';
import type { Track } from '../../../../violations/tracker.js';
import { T0, trackAlong } from '../fixtures.js';

// Stop line across the frame at y = 0.5; traffic moves down the image (towards y = 1).
const scene = parseSceneConfig({
  stopLines: [{ id: 'S1', a: { x: 0, y: 0.5 }, b: { x: 1, y: 0.5 }, towards: { x: 0.5, y: 0.9 } }],
  signals: { main: { kind: 'fixed-time', greenS: 20, amberS: 3, redS: 17 } },
});
const ctx = {
  scene,
  signalAt: (_g: string, at: number) => fixedTimePhase({ offsetS: 0, greenS: 20, amberS: 3, redS: 17 }, at),
};

/** A car whose bottom edge goes from y0 to y1 between t0 and t1. */
function track(t0: number, y0: number, t1: number, y1: number, label = 'car'): Track {
  const box = (bottom: number) => ({ x: 0.45, y: bottom - 0.1, w: 0.1, h: 0.1 });
  return {
    id: 7,
    label,
    history: [
      { t: t0, box: box(y0), score: 0.9 },
      { t: t1, box: box(y1), score: 0.9 },
    ],
    hits: 2,
    misses: 0,
    firstSeenAt: t0,
    lastSeenAt: t1,
    confirmed: true,
    lineage: 7,
  };
}

describe('red-light rule', () => {
  it('flags a vehicle crossing 0.4 s after red, with how long it had been red', () => {
    // Crosses y = 0.5 halfway between 23.0 s and 23.8 s → at 23.4 s, red since 23.0 s.
    const hit = redLightRule.evaluate(track(23_000, 0.4, 23_800, 0.6), ctx);
    expect(hit).toBeDefined();
    expect(hit!.at).toBeCloseTo(23_400);
    expect(hit!.details['redForMs']).toBe(400);
  });

  it('does not flag a crossing on amber', () => {
    expect(redLightRule.evaluate(track(21_000, 0.4, 21_800, 0.6), ctx)).toBeUndefined();
  });

  it('flags a crossing exactly at the change from amber to red', () => {
    const hit = redLightRule.evaluate(track(22_600, 0.4, 23_400, 0.6), ctx);
    expect(hit?.at).toBeCloseTo(23_000);
    expect(hit?.details['redForMs']).toBe(0);
  });

  it('does not flag a crossing on green', () => {
    expect(redLightRule.evaluate(track(5_000, 0.4, 5_800, 0.6), ctx)).toBeUndefined();
  });

  it('does not flag a vehicle moving away from the intersection', () => {
    expect(redLightRule.evaluate(track(25_000, 0.6, 25_800, 0.4), ctx)).toBeUndefined();
  });

  it('does not flag a vehicle that stops before the line', () => {
    expect(redLightRule.evaluate(track(25_000, 0.45, 25_800, 0.49), ctx)).toBeUndefined();
  });

  it('uses the box centre for a camera looking straight down', () => {
    const topDown = { ...ctx, scene: { ...scene, anchor: 'center' as const } };
    // Boxes are 0.1 high. The bottom edge crosses (0.45 → 0.54) while the centre stays short (0.40 → 0.49);
    expect(redLightRule.evaluate(track(25_000, 0.45, 25_800, 0.54), topDown)).toBeUndefined();
    // then the centre crosses (0.47 → 0.61) from a box whose bottom edge was already past the line.
    expect(redLightRule.evaluate(track(25_000, 0.52, 25_800, 0.66), topDown)?.ruleCode).toBe('red_light');
  });

  it('ignores classes the scene does not enforce', () => {
    expect(redLightRule.evaluate(track(25_000, 0.4, 25_800, 0.6, 'person'), ctx)).toBeUndefined();
  });

  it('judges only the first crossing: over on amber, back and over again on red is not flagged', () => {
    // Crosses at 22.5 s (amber), jitters back at 23.5 s, over again at 24 s (red).
    const t = track(22_000, 0.45, 23_000, 0.6);
    t.history.push(
      { t: 23_500, box: { x: 0.45, y: 0.38, w: 0.1, h: 0.1 }, score: 0.9 },
      { t: 24_000, box: { x: 0.45, y: 0.52, w: 0.1, h: 0.1 }, score: 0.9 },
    );
    expect(redLightRule.evaluate(t, ctx)).toBeUndefined();
  });

  it('does not flag a vehicle creeping just over the line on red, until it goes on', () => {
    // Boxes 0.1 high: 0.25 of a box past the line is 0.025; the anchor stops 0.01 past.
    const creeping = trackAlong(
      [
        { x: 0.5, y: 0.47 },
        { x: 0.5, y: 0.51 },
        { x: 0.5, y: 0.51 },
      ],
      { t0: 25_000 },
    );
    expect(redLightRule.evaluate(creeping, ctx)).toBeUndefined();
    creeping.history.push({ t: 26_500, box: { x: 0.45, y: 0.43, w: 0.1, h: 0.1 }, score: 0.9 });
    const hit = redLightRule.evaluate(creeping, ctx);
    expect(hit?.at).toBeCloseTo(25_375);
  });

  it('no longer judges a crossing older than the settle time (an unknown phase stays unflagged)', () => {
    let phase: 'unknown' | 'red' = 'unknown';
    const late = {
      scene,
      signalAt: () => ({ phase, sincePhaseStartMs: 800, source: 'observed' as const, startObserved: true }),
    };
    const t = trackAlong(
      [
        { x: 0.5, y: 0.45 },
        { x: 0.5, y: 0.6 },
        { x: 0.5, y: 0.7 },
      ],
      { t0: T0 },
    );
    expect(redLightRule.evaluate(t, late)).toBeUndefined();
    phase = 'red';
    expect(redLightRule.evaluate(t, late)?.details['signalSource']).toBe('observed');
    t.history.push({ t: T0 + 4_000, box: { x: 0.45, y: 0.7, w: 0.1, h: 0.1 }, score: 0.9 });
    expect(redLightRule.evaluate(t, late)).toBeUndefined();
  });
});
