import type { SignalPlan } from './scene-config.js';

export type SignalPhase = 'green' | 'amber' | 'red' | 'unknown';

export interface SignalState {
  phase: SignalPhase;
  /** Milliseconds since the current phase began (for red: how long it had been red). */
  sincePhaseStartMs: number;
  /** Where the state came from, for the evidence manifest. */
  source: 'fixed-time' | 'external' | 'none';
}

/**
 * The phase of a fixed-time signal plan at an instant. The cycle is green → amber → red, and green
 * starts at `offsetS` seconds after the Unix epoch, modulo the cycle length.
 */
export function fixedTimePhase(
  plan: { offsetS: number; greenS: number; amberS: number; redS: number },
  atMs: number,
): SignalState {
  const cycleMs = (plan.greenS + plan.amberS + plan.redS) * 1000;
  const t = (((atMs - plan.offsetS * 1000) % cycleMs) + cycleMs) % cycleMs;
  const greenEnd = plan.greenS * 1000;
  const amberEnd = greenEnd + plan.amberS * 1000;
  if (t < greenEnd) return { phase: 'green', sincePhaseStartMs: t, source: 'fixed-time' };
  if (t < amberEnd) return { phase: 'amber', sincePhaseStartMs: t - greenEnd, source: 'fixed-time' };
  return { phase: 'red', sincePhaseStartMs: t - amberEnd, source: 'fixed-time' };
}

/** Signal state for a plan; external controllers report through the signals API (not yet wired: unknown). */
export function signalStateAt(plan: SignalPlan | undefined, atMs: number): SignalState {
  if (!plan) return { phase: 'unknown', sincePhaseStartMs: 0, source: 'none' };
  if (plan.kind === 'fixed-time') return fixedTimePhase(plan, atMs);
  return { phase: 'unknown', sincePhaseStartMs: 0, source: 'external' };
}
