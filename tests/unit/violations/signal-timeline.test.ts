import { describe, expect, it } from 'vitest';
import { parseSceneConfig } from '../../../violations/scene-config.js';
import { fixedTimePhase, SignalTimeline, signalStateAt } from '../../../violations/signal-timeline.js';

const plan = { offsetS: 0, greenS: 20, amberS: 3, redS: 17 };

describe('fixed-time signal plan', () => {
  it('is green from the start of the cycle', () => {
    expect(fixedTimePhase(plan, 0).phase).toBe('green');
    expect(fixedTimePhase(plan, 19_999).phase).toBe('green');
  });

  it('turns amber exactly at the end of green and red exactly at the end of amber', () => {
    expect(fixedTimePhase(plan, 20_000)).toMatchObject({ phase: 'amber', sincePhaseStartMs: 0 });
    expect(fixedTimePhase(plan, 22_999).phase).toBe('amber');
    expect(fixedTimePhase(plan, 23_000)).toMatchObject({ phase: 'red', sincePhaseStartMs: 0 });
  });

  it('reports how long the light has been red', () => {
    expect(fixedTimePhase(plan, 23_400).sincePhaseStartMs).toBe(400);
  });

  it('repeats every cycle and honours the offset', () => {
    expect(fixedTimePhase(plan, 40_000 * 1000 + 21_000).phase).toBe('amber');
    expect(fixedTimePhase({ ...plan, offsetS: 10 }, 5_000).phase).toBe('red');
  });
});

describe('external signal timeline (controller reports)', () => {
  const t0 = 1_000_000;

  it('holds a reported phase until the next report, counting from the report', () => {
    const tl = new SignalTimeline();
    tl.record('main', 'green', t0);
    tl.record('main', 'amber', t0 + 20_000);
    tl.record('main', 'red', t0 + 23_000);
    expect(tl.stateAt('main', t0 + 22_999)).toMatchObject({ phase: 'amber', sincePhaseStartMs: 2_999 });
    expect(tl.stateAt('main', t0 + 23_000)).toMatchObject({
      phase: 'red',
      sincePhaseStartMs: 0,
      source: 'external',
      startObserved: true,
    });
  });

  it('treats a repeated report as a heartbeat, not a new phase', () => {
    const tl = new SignalTimeline();
    tl.record('main', 'amber', t0);
    tl.record('main', 'red', t0 + 3_000);
    tl.record('main', 'red', t0 + 10_000);
    expect(tl.stateAt('main', t0 + 12_000)).toMatchObject({ phase: 'red', sincePhaseStartMs: 9_000 });
  });

  it('knows nothing before the first report and after a silence', () => {
    const tl = new SignalTimeline();
    tl.record('main', 'red', t0);
    expect(tl.stateAt('main', t0 - 1).phase).toBe('unknown');
    expect(tl.stateAt('main', t0 + 5_000, { maxSilenceMs: 5_000 }).phase).toBe('red');
    expect(tl.stateAt('main', t0 + 5_001, { maxSilenceMs: 5_000 }).phase).toBe('unknown');
  });

  it('says when the phase was already on as reporting began (duration is a lower bound)', () => {
    const tl = new SignalTimeline();
    tl.record('main', 'red', t0);
    expect(tl.stateAt('main', t0 + 1_000)).toMatchObject({ phase: 'red', startObserved: false });
  });

  it('accepts reports out of order', () => {
    const tl = new SignalTimeline();
    tl.record('main', 'red', t0 + 23_000);
    tl.record('main', 'green', t0);
    tl.record('main', 'amber', t0 + 20_000);
    expect(tl.stateAt('main', t0 + 21_000).phase).toBe('amber');
    expect(tl.changes('main', t0 + 10_000, t0 + 30_000)).toEqual([
      { phase: 'green', from: t0 },
      { phase: 'amber', from: t0 + 20_000 },
      { phase: 'red', from: t0 + 23_000 },
    ]);
  });

  it('keeps groups apart and refuses mixing reports and lamp samples in one group', () => {
    const tl = new SignalTimeline();
    tl.record('north', 'red', t0);
    tl.record('east', 'green', t0);
    expect(tl.stateAt('north', t0).phase).toBe('red');
    expect(tl.stateAt('east', t0).phase).toBe('green');
    expect(() => tl.recordObserved('north', 'red', t0 + 1)).toThrow(/external/);
  });

  it('forgets reports older than its retention', () => {
    const tl = new SignalTimeline({ retentionMs: 60_000 });
    tl.record('main', 'green', t0);
    tl.record('main', 'red', t0 + 30_000);
    tl.record('main', 'green', t0 + 90_000);
    expect(tl.stateAt('main', t0 + 1_000).phase).toBe('unknown');
    expect(tl.stateAt('main', t0 + 31_000).phase).toBe('red');
  });
});

describe('signal state for a scene plan', () => {
  it('reads external and observed plans from the timeline, and unknown without one', () => {
    const scene = parseSceneConfig({
      signals: {
        a: { kind: 'external', intersectionId: 'X1', maxSilenceMs: 10_000 },
        f: { kind: 'fixed-time', greenS: 20, amberS: 3, redS: 17 },
      },
    });
    const tl = new SignalTimeline();
    tl.record('a', 'red', 1_000);
    expect(signalStateAt(scene.signals['a'], 2_000, tl, 'a')).toMatchObject({
      phase: 'red',
      source: 'external',
    });
    expect(signalStateAt(scene.signals['a'], 12_000, tl, 'a').phase).toBe('unknown');
    expect(signalStateAt(scene.signals['a'], 2_000)).toMatchObject({ phase: 'unknown', source: 'external' });
    expect(signalStateAt(scene.signals['f'], 21_000).phase).toBe('amber');
    expect(signalStateAt(undefined, 0)).toMatchObject({ phase: 'unknown', source: 'none' });
  });
});
