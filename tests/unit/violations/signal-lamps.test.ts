import { describe, expect, it } from 'vitest';
import { parseSceneConfig } from '../../../violations/scene-config.js';
import {
  combineReadings,
  headReading,
  measureLamp,
  SignalLampObserver,
  type LampColour,
} from '../../../violations/signal-lamps.js';
import { SignalTimeline } from '../../../violations/signal-timeline.js';
import { H, LAMP_REGIONS, renderSignalFrame, W, type Light } from './render-signal.js';

const scene = parseSceneConfig({
  signals: { main: { kind: 'observed' } },
  signalHeads: [{ id: 'H1', group: 'main', lamps: LAMP_REGIONS }],
});
const frame = (lit: LampColour | null | 'hidden', light: Light = 'day', seed = 1) => ({
  data: renderSignalFrame(lit, light, seed),
  width: W,
  height: H,
});

/** Feeds a sequence of lamp states at 2 fps from t0 into an observer and a timeline. */
function run(seq: (LampColour | null | 'hidden')[], light: Light = 'day', t0 = 100_000, step = 500) {
  const observer = new SignalLampObserver('main', scene.signalHeads, { confirmFrames: 2 });
  const timeline = new SignalTimeline();
  const readings: string[] = [];
  for (const [i, lit] of seq.entries()) {
    for (const s of observer.observe(frame(lit, light, i + 1), t0 + i * step)) {
      timeline.recordObserved('main', s.phase, s.at);
    }
    readings.push(observer.lastReadings['H1']!);
  }
  const at = (i: number) => timeline.stateAt('main', t0 + i * step);
  return { timeline, readings, at, observer };
}

describe('lamp measurement (HSV on raw RGB)', () => {
  it('scores a lit lamp high and the unlit ones near zero, by day', () => {
    const f = frame('amber');
    expect(measureLamp(f, LAMP_REGIONS.amber, 'amber').score).toBeGreaterThan(0.3);
    expect(measureLamp(f, LAMP_REGIONS.red, 'red').score).toBeLessThan(0.06);
    expect(measureLamp(f, LAMP_REGIONS.green, 'green').score).toBeLessThan(0.06);
  });

  it('counts the white core of a lamp blooming at night, next to its halo', () => {
    const m = measureLamp(frame('red', 'night'), LAMP_REGIONS.red, 'red');
    expect(m.coreFraction).toBeGreaterThan(0.1);
    expect(m.score).toBeGreaterThan(m.colourFraction);
  });

  it('does not take the red halo spilling into the amber region for amber', () => {
    expect(measureLamp(frame('red', 'night'), LAMP_REGIONS.amber, 'amber').score).toBeLessThan(0.06);
  });

  it('does not take sun glare on unlit lenses for a lit lamp', () => {
    const f = frame('amber', 'glare');
    expect(measureLamp(f, LAMP_REGIONS.green, 'green').score).toBeLessThan(0.06);
    expect(measureLamp(f, LAMP_REGIONS.red, 'red').score).toBeLessThan(0.06);
  });

  it('reads RGBA frames too', () => {
    const rgb = renderSignalFrame('green');
    const rgba = Buffer.alloc(W * H * 4);
    for (let i = 0; i < W * H; i++) rgb.copy(rgba, i * 4, i * 3, i * 3 + 3);
    const m = measureLamp({ data: rgba, width: W, height: H, channels: 4 }, LAMP_REGIONS.green, 'green');
    expect(m.score).toBeCloseTo(measureLamp(frame('green'), LAMP_REGIONS.green, 'green').score, 6);
  });
});

describe('head reading', () => {
  for (const light of ['day', 'night', 'glare'] as const) {
    it(`reads each colour ${light === 'day' ? 'by day' : light === 'night' ? 'at night' : 'in glare'}`, () => {
      for (const c of ['red', 'amber', 'green'] as const) {
        const { readings } = run([c, c], light);
        expect(readings).toEqual([c, c]);
      }
    });
  }

  it('reads dark with every lamp off, and a head hidden by a vehicle as dark', () => {
    expect(run([null]).readings).toEqual(['dark']);
    expect(run(['hidden']).readings).toEqual(['dark']);
  });

  it('calls two comparable lamps unknown, and lets a much stronger one win', () => {
    const m = (score: number) => ({
      colourFraction: score,
      coreFraction: 0,
      meanValue: 1,
      score,
      pixels: 100,
    });
    expect(headReading({ red: true, green: true }, { red: m(0.4), green: m(0.35) })).toBe('unknown');
    expect(headReading({ red: true, green: true }, { red: m(0.5), green: m(0.2) })).toBe('red');
  });

  it('combines heads: a hidden head defers to the one in view, disagreeing heads are unknown', () => {
    expect(combineReadings(['red', 'dark'])).toBe('red');
    expect(combineReadings(['red', 'green'])).toBe('unknown');
    expect(combineReadings(['dark', 'dark'])).toBe('dark');
  });
});

describe('observed signal timeline', () => {
  it('dates each phase from its first frame and knows nothing between two differing frames', () => {
    const seq = [
      ...Array(6).fill('green'),
      ...Array(6).fill('amber'),
      ...Array(8).fill('red'),
    ] as LampColour[];
    const { at, timeline } = run(seq);
    expect(at(3)).toMatchObject({ phase: 'green', source: 'observed' });
    expect(at(6)).toMatchObject({ phase: 'amber', sincePhaseStartMs: 0, startObserved: true });
    expect(at(12)).toMatchObject({ phase: 'red', sincePhaseStartMs: 0, startObserved: true });
    expect(at(15)).toMatchObject({ phase: 'red', sincePhaseStartMs: 1500 });
    // Between the last amber frame (11) and the first red one (12): unknown, never red.
    expect(timeline.stateAt('main', 100_000 + 11 * 500 + 250).phase).toBe('unknown');
    // The newest frame is still a candidate change until the next one settles it.
    expect(timeline.stateAt('main', 100_000 + 19 * 500).phase).toBe('red');
    expect(timeline.stateAt('main', 100_000 + 19 * 500 + 100).phase).toBe('unknown');
  });

  it('holds the phase through a frame in which a vehicle hides the head', () => {
    const seq = [...Array(4).fill('red'), 'hidden', ...Array(4).fill('red')] as (LampColour | 'hidden')[];
    const { at } = run(seq);
    expect(at(4)).toMatchObject({ phase: 'red', sincePhaseStartMs: 2000 });
    expect(at(8)).toMatchObject({ phase: 'red', sincePhaseStartMs: 4000, startObserved: false });
  });

  it('does not believe a one-frame contradicting colour (hysteresis), but marks that instant unknown', () => {
    const seq = [...Array(4).fill('red'), 'green', ...Array(4).fill('red')] as LampColour[];
    const { at, readings } = run(seq);
    expect(readings[4]).toBe('green');
    expect(at(4).phase).toBe('unknown');
    expect(at(3).phase).toBe('red');
    expect(at(5).phase).toBe('red');
  });

  it('needs the change to persist: a real change is confirmed on its second frame, dated on its first', () => {
    const { observer } = run([]);
    expect(observer.observe(frame('green'), 0)).toEqual([]);
    expect(observer.observe(frame('green'), 500)).toEqual([
      { at: 0, phase: 'green' },
      { at: 500, phase: 'green' },
    ]);
    expect(observer.observe(frame('red'), 1000)).toEqual([]);
    expect(observer.observe(frame('red'), 1500)).toEqual([
      { at: 1000, phase: 'red' },
      { at: 1500, phase: 'red' },
    ]);
  });

  it('detects flashing amber at 2 fps and never reports red or amber phases from it', () => {
    const seq = Array.from({ length: 16 }, (_, i) => (i % 2 === 0 ? 'amber' : null)) as (LampColour | null)[];
    const { at } = run(seq, 'night');
    const phases = Array.from({ length: 15 }, (_, i) => at(i).phase);
    expect(phases.slice(8)).toEqual(Array(7).fill('flashing-amber'));
    expect(phases).not.toContain('red');
  });

  it('leaves flashing as soon as a red or green shows', () => {
    const seq = [
      ...Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? 'amber' : null)),
      ...Array(4).fill('red'),
    ] as (LampColour | null)[];
    const { at } = run(seq);
    expect(at(9).phase).toBe('flashing-amber');
    expect(at(11)).toMatchObject({ phase: 'red', sincePhaseStartMs: 500 });
  });

  it('tells the phases apart at night as by day', () => {
    const seq = [...Array(4).fill('red'), ...Array(4).fill('green')] as LampColour[];
    const { at } = run(seq, 'night');
    expect(at(2).phase).toBe('red');
    expect(at(5)).toMatchObject({ phase: 'green', sincePhaseStartMs: 500 });
  });
});
