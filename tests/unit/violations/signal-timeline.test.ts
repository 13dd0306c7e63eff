import { describe, expect, it } from 'vitest';
import { fixedTimePhase } from '../../../violations/signal-timeline.js';

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
