import { describe, expect, it } from 'vitest';
import { ViolationEngine } from '../../../violations/engine.js';
import { parseSceneConfig } from '../../../violations/scene-config.js';

const W = 200;
const H = 100;
const scene = parseSceneConfig({
  stopLines: [{ id: 'S1', a: { x: 0, y: 0.5 }, b: { x: 1, y: 0.5 }, towards: { x: 0.5, y: 0.9 } }],
  // Always red: green and amber last a millisecond at the epoch.
  signals: { main: { kind: 'fixed-time', greenS: 0.001, amberS: 0.001, redS: 3600 } },
});
const model = { name: 'test-model', version: '1' };
const frame = (t: number) => ({ capturedAt: t, width: W, height: H, data: Buffer.alloc(W * H * 3, t % 251) });
/** A car whose bottom edge is at `bottom` (fraction of the height). */
const det = (bottom: number, label = 'car') => ({
  label,
  score: 0.9,
  box: { x: 90, y: (bottom - 0.2) * H, w: 20, h: 0.2 * H },
  model,
});

function drive(engine: ViolationEngine, bottoms: number[], t0 = 10_000, step = 500) {
  return bottoms.flatMap((b, i) => engine.update(frame(t0 + i * step), [det(b)]));
}

describe('violation engine', () => {
  it('flags a car crossing the stop line on red once, with before, at and after stills', () => {
    const engine = new ViolationEngine(scene, { afterMs: 1000, beforeMs: 1000 });
    const flags = drive(engine, [0.3, 0.35, 0.4, 0.45, 0.55, 0.6, 0.65, 0.7, 0.75]);
    expect(flags).toHaveLength(1);
    const flag = flags[0]!;
    expect(flag.ruleCode).toBe('red_light');
    expect(flag.vehicleClass).toBe('car');
    expect(flag.stills.map((s) => s.role)).toEqual(['before', 'at', 'after']);
    const [before, at, after] = flag.stills;
    expect(before!.frame.capturedAt).toBeLessThan(flag.at);
    expect(at!.frame.capturedAt).toBeGreaterThanOrEqual(flag.at);
    expect(after!.frame.capturedAt - flag.at).toBeGreaterThanOrEqual(1000);
    expect(at!.box).toBeDefined();
    expect(flag.models).toEqual([model]);
    expect(flag.trackKey).toMatch(/^[0-9a-z]+-\d+$/);
  });

  it('waits for the after still before releasing a flag', () => {
    const engine = new ViolationEngine(scene, { afterMs: 2000 });
    expect(drive(engine, [0.3, 0.4, 0.45, 0.55, 0.6])).toHaveLength(0);
  });

  it('does not flag detections inside an ignore mask', () => {
    const masked = parseSceneConfig({
      ...scene,
      ignoreMasks: [
        [
          { x: 0, y: 0 },
          { x: 1, y: 0 },
          { x: 1, y: 1 },
          { x: 0, y: 1 },
        ],
      ],
    });
    const engine = new ViolationEngine(masked);
    expect(drive(engine, [0.3, 0.4, 0.45, 0.55, 0.6, 0.65, 0.7, 0.75])).toHaveLength(0);
  });
});
