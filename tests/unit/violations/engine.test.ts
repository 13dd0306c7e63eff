import { describe, expect, it } from 'vitest';
import { DEFAULT_RULES, ViolationEngine } from '../../../violations/engine.js';
import { RULE_CODES } from '../../../violations/rules/rule.js';
import { parseSceneConfig } from '../../../violations/scene-config.js';
import { LAMP_REGIONS, renderSignalFrame } from './render-signal.js';

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

  it('flags a car that crosses on red and stops just past the line for the red light only', () => {
    const engine = new ViolationEngine(scene, { afterMs: 1000, beforeMs: 1000 });
    // Front 0.5 box heights past the line, then standing there for 4 s.
    const flags = drive(engine, [0.3, 0.35, 0.4, 0.45, 0.55, 0.6, ...Array<number>(9).fill(0.6)]);
    expect(flags.map((f) => f.ruleCode)).toEqual(['red_light']);
  });

  it('still flags a car that stands past the line without having run the red', () => {
    const stopOnly = parseSceneConfig({ ...scene, rules: { redLight: { minPastLine: 0.6 } } });
    const engine = new ViolationEngine(stopOnly, { afterMs: 1000, beforeMs: 1000 });
    const flags = drive(engine, [0.3, 0.35, 0.4, 0.45, 0.55, 0.6, ...Array<number>(9).fill(0.6)]);
    expect(flags.map((f) => f.ruleCode)).toEqual(['stop_line']);
  });

  it('waits for the after still before releasing a flag', () => {
    const engine = new ViolationEngine(scene, { afterMs: 2000 });
    expect(drive(engine, [0.3, 0.4, 0.45, 0.55, 0.6])).toHaveLength(0);
  });

  it("keeps an approaching vehicle's flag until it is large enough for its plate, the stills at the act", () => {
    const engine = new ViolationEngine(scene, { afterMs: 1000, beforeMs: 1000, plateHeight: 0.3 });
    // A car crossing on red while small and growing: 10, 12, … 26 % of the frame tall.
    const grow = (i: number) => ({
      label: 'car',
      score: 0.9,
      box: { x: 90, y: (0.3 + 0.05 * i) * H - (0.1 + 0.02 * i) * H, w: 20, h: (0.1 + 0.02 * i) * H },
      model,
    });
    const out: ReturnType<ViolationEngine['update']>[] = [];
    for (let i = 0; i < 12; i++) out.push(engine.update(frame(10_000 + i * 500), [grow(i)]));
    const released = out.findIndex((f) => f.length > 0);
    const flag = out[released]![0]!;
    expect(flag.ruleCode).toBe('red_light');
    // Not 1 s after the act (the "after" still) but once the car is 30 % of the frame tall (frame 10),
    // 3 s after the act at the latest.
    expect(10_000 + released * 500 - flag.at).toBeGreaterThan(1500);
    expect(10_000 + released * 500 - flag.at).toBeLessThanOrEqual(3000);
    expect(grow(released).box.h / H).toBeGreaterThanOrEqual(0.3 - 1e-9);
    // The stills stay at the act; the later, larger sightings are there for the plate.
    const after = flag.stills.find((s) => s.role === 'after')!;
    expect(after.frame.capturedAt - flag.at).toBeGreaterThanOrEqual(1000);
    expect(after.frame.capturedAt - flag.at).toBeLessThan(1500);
    expect(flag.sightings.at(-1)!.frame.capturedAt).toBe(10_000 + released * 500);
  });

  it('releases every waiting flag when the camera stops', () => {
    const engine = new ViolationEngine(scene, { afterMs: 1000, beforeMs: 1000 });
    const flags = drive(engine, [0.3, 0.35, 0.4, 0.45, 0.55]);
    expect(flags).toHaveLength(0);
    expect(engine.flush().map((f) => f.ruleCode)).toEqual(['red_light']);
    expect(engine.flush()).toHaveLength(0);
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

describe('violation engine: rules and signal sources', () => {
  it('registers a rule for every rule code', () => {
    const codes = new Set(DEFAULT_RULES.flatMap((r) => r.codes ?? [r.code]));
    expect([...codes].sort()).toEqual([...RULE_CODES].sort());
  });

  it('reads an observed signal from the lamps in the frames: flags the car crossing on red, not on amber', () => {
    const observed = parseSceneConfig({
      stopLines: [{ id: 'S1', a: { x: 0, y: 0.5 }, b: { x: 0.7, y: 0.5 }, towards: { x: 0.3, y: 0.9 } }],
      signals: { main: { kind: 'observed' } },
      signalHeads: [{ id: 'H1', group: 'main', lamps: LAMP_REGIONS }],
    });
    const engine = new ViolationEngine(observed, { afterMs: 1000 });
    const t0 = 50_000;
    const lit = (i: number) => (i < 6 ? 'green' : i < 12 ? 'amber' : 'red');
    // Car A crosses between frames 9 and 10 (amber); car B between frames 15 and 16 (red since frame 12).
    const carA = (i: number) => 0.2 + (i - 5) * 0.07;
    const carB = (i: number) => 0.3 + (i - 12) * 0.06;
    const flags = [];
    for (let i = 0; i < 22; i++) {
      const dets = [];
      if (i >= 5 && i <= 14) dets.push(detAt(0.1, carA(i), SW, SH));
      if (i >= 12) dets.push(detAt(0.4, carB(i), SW, SH));
      flags.push(
        ...engine.update(
          { capturedAt: t0 + i * 500, width: SW, height: SH, data: renderSignalFrame(lit(i)) },
          dets,
        ),
      );
    }
    expect(flags).toHaveLength(1);
    const flag = flags[0]!;
    expect(flag.ruleCode).toBe('red_light');
    expect(flag.at).toBeGreaterThan(t0 + 15 * 500);
    expect(flag.at).toBeLessThan(t0 + 16 * 500);
    expect(flag.details).toMatchObject({ signalSource: 'observed', redStartObserved: true });
    expect(flag.details['redForMs']).toBe(Math.round(flag.at - (t0 + 12 * 500)));
    expect(flag.details['signalChanges']).toEqual([
      { phase: 'green', from: new Date(t0).toISOString() },
      { phase: 'amber', from: new Date(t0 + 6 * 500).toISOString() },
      { phase: 'red', from: new Date(t0 + 12 * 500).toISOString() },
    ]);
  });

  it('judges an external signal from the phases recorded by the controller feed', () => {
    const external = parseSceneConfig({
      stopLines: scene.stopLines,
      signals: { main: { kind: 'external', intersectionId: 'TN-X1' } },
    });
    const silent = new ViolationEngine(external);
    expect(drive(silent, [0.3, 0.35, 0.4, 0.45, 0.55, 0.6, 0.65, 0.7, 0.75])).toHaveLength(0);

    const fed = new ViolationEngine(external);
    fed.signals.record('main', 'amber', 9_000);
    fed.signals.record('main', 'red', 10_500);
    const flags = drive(fed, [0.3, 0.35, 0.4, 0.45, 0.55, 0.6, 0.65, 0.7, 0.75]);
    expect(flags).toHaveLength(1);
    expect(flags[0]!.details).toMatchObject({ signalSource: 'external', redStartObserved: true });
    // Crossed between 11.5 s and 12 s at the midpoint: red since 10.5 s.
    expect(flags[0]!.details['redForMs']).toBe(1250);
  });

  it('flags one track under each code it breaks, once each', () => {
    const both = parseSceneConfig({
      lanes: [
        {
          id: 'ONE-WAY',
          polygon: [
            { x: 0, y: 0 },
            { x: 1, y: 0 },
            { x: 1, y: 1 },
            { x: 0, y: 1 },
          ],
          direction: { dx: 0, dy: -1 },
          allowedClasses: ['motorcycle'],
        },
      ],
    });
    const engine = new ViolationEngine(both, { afterMs: 500 });
    const flags = drive(engine, [0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8]);
    expect(flags.map((f) => f.ruleCode).sort()).toEqual(['wrong_lane', 'wrong_way']);
    expect(new Set(flags.map((f) => f.trackId)).size).toBe(1);
  });

  it('does not flag a vehicle again when its track breaks and a new track carries it on', () => {
    const oneWay = parseSceneConfig({
      lanes: [
        {
          id: 'ONE-WAY',
          polygon: [
            { x: 0, y: 0 },
            { x: 1, y: 0 },
            { x: 1, y: 1 },
            { x: 0, y: 1 },
          ],
          direction: { dx: 1, dy: 0 },
        },
      ],
    });
    const engine = new ViolationEngine(oneWay, { afterMs: 500 });
    /** A car going left along the row, its left edge at `x` (fraction of the width). */
    const going = (x: number) => [
      { label: 'car', score: 0.9, box: { x: x * W, y: 40, w: 20, h: 20 }, model },
    ];
    const flags = [];
    // Seen for 2.5 s, hidden for 2.5 s (its track is dropped), seen again for 2.5 s where it was heading.
    for (let i = 0; i < 16; i++) {
      const hidden = i >= 5 && i < 10;
      flags.push(...engine.update(frame(10_000 + i * 500), hidden ? [] : going(0.8 - i * 0.04)));
    }
    expect(flags.map((f) => f.ruleCode)).toEqual(['wrong_way']);
    // Another car going the wrong way on another row is its own vehicle, and flagged.
    const other = (x: number) => [
      { label: 'car', score: 0.9, box: { x: x * W, y: 75, w: 20, h: 20 }, model },
    ];
    for (let i = 16; i < 24; i++)
      flags.push(...engine.update(frame(10_000 + i * 500), other(0.8 - (i - 16) * 0.04)));
    expect(flags.map((f) => f.ruleCode)).toEqual(['wrong_way', 'wrong_way']);
    expect(new Set(flags.map((f) => f.trackKey)).size).toBe(2);
  });
});

const SW = 320;
const SH = 180;
/** A car box (pixels) whose bottom edge is at `bottom` (fraction of the height), left edge at `left`. */
function detAt(left: number, bottom: number, w: number, h: number) {
  return {
    label: 'car',
    score: 0.9,
    box: { x: left * w, y: (bottom - 0.2) * h, w: 0.15 * w, h: 0.2 * h },
    model,
  };
}
