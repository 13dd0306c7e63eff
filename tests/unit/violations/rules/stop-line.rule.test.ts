import { describe, expect, it } from 'vitest';
import { stopLineRule } from '../../../../violations/rules/stop-line.rule.js';
import type { SignalState } from '../../../../violations/signal-timeline.js';
import { always, ctxFor, path, still, T0, trackAlong } from '../fixtures.js';

// Stop line across the frame at y = 0.5, traffic moving down; boxes 0.1 high (an extent of 0.1).
const scene = {
  stopLines: [{ id: 'S1', a: { x: 0.1, y: 0.5 }, b: { x: 0.9, y: 0.5 }, towards: { x: 0.5, y: 0.9 } }],
  rules: { stopLine: { minStoppedS: 1.5, minOvershoot: 0.15, maxOvershoot: 1 } },
};
const red = ctxFor(scene, always('red'));

/** Approaches from y = 0.3 and stands with its front (bottom edge) at `stopY` for `frames` frames at 2 fps. */
const stopsAt = (stopY: number, frames: number, x = 0.5) =>
  trackAlong([...path({ x, y: 0.3 }, { x, y: stopY }, 4), ...still({ x, y: stopY }, frames - 1)]);

describe('stop-line rule', () => {
  it('flags a vehicle standing with its front past the line on red for the minimum time', () => {
    // Front 0.03 past (0.3 of a box); it stops at T0 + 1.5 s and has stood 1.5 s at T0 + 3 s.
    const hit = stopLineRule.evaluate(stopsAt(0.53, 4), red);
    expect(hit).toMatchObject({ ruleCode: 'stop_line', at: T0 + 3_000 });
    expect(hit!.details).toMatchObject({ stopLine: 'S1', stoppedForMs: 1500, overshoot: 0.3 });
  });

  it('does not flag it one frame short of the minimum time', () => {
    expect(stopLineRule.evaluate(stopsAt(0.53, 3), red)).toBeUndefined();
  });

  it('does not flag a front just short of the overshoot threshold, and flags one just over', () => {
    expect(stopLineRule.evaluate(stopsAt(0.5145, 5), red)).toBeUndefined();
    expect(stopLineRule.evaluate(stopsAt(0.5155, 5), red)).toBeDefined();
  });

  it('does not flag a vehicle that stopped before the line, or on green', () => {
    expect(stopLineRule.evaluate(stopsAt(0.49, 6), red)).toBeUndefined();
    expect(stopLineRule.evaluate(stopsAt(0.53, 6), ctxFor(scene, always('green')))).toBeUndefined();
  });

  it('does not flag a vehicle standing deep in the intersection (a red-light matter)', () => {
    expect(stopLineRule.evaluate(stopsAt(0.62, 6), red)).toBeUndefined();
  });

  it('does not flag a vehicle already standing there when it came into view', () => {
    expect(stopLineRule.evaluate(trackAlong(still({ x: 0.5, y: 0.53 }, 8)), red)).toBeUndefined();
  });

  it('does not flag a vehicle past the end of the line', () => {
    expect(stopLineRule.evaluate(stopsAt(0.53, 6, 0.95), red)).toBeUndefined();
  });

  it('does not flag when the light turned red only after the vehicle stopped', () => {
    const turnsRed = (_g: string, at: number): SignalState => ({
      phase: at >= T0 + 2_000 ? 'red' : 'amber',
      sincePhaseStartMs: 0,
      source: 'fixed-time',
    });
    expect(stopLineRule.evaluate(stopsAt(0.53, 6), ctxFor(scene, turnsRed))).toBeUndefined();
  });
});
