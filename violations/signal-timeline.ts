import { AppError } from '../core/errors.js';
import type { SignalPlan } from './scene-config.js';

/**
 * `flashing-amber`: the signal blinks amber (night mode or a fault); the intersection is unsignalled
 * and nobody runs a red. `dark`: every lamp is off. `unknown`: no trustworthy reading.
 */
export const SIGNAL_PHASES = ['green', 'amber', 'red', 'flashing-amber', 'dark', 'unknown'] as const;
export type SignalPhase = (typeof SIGNAL_PHASES)[number];

export type SignalSource = 'fixed-time' | 'external' | 'observed' | 'none';

export interface SignalState {
  phase: SignalPhase;
  /**
   * Milliseconds since the current phase began (for red: how long it had been red). From a timeline
   * it counts from the first report of the phase, so it never overstates the duration.
   */
  sincePhaseStartMs: number;
  /** Where the state came from, for the evidence manifest. */
  source: SignalSource;
  /**
   * False when the timeline has no earlier report of another phase (the phase was already on when
   * reporting began, or after a silence): `sincePhaseStartMs` is then only a lower bound.
   */
  startObserved?: boolean;
}

const UNKNOWN_NONE: SignalState = { phase: 'unknown', sincePhaseStartMs: 0, source: 'none' };

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
  const known = { source: 'fixed-time' as const, startObserved: true };
  if (t < greenEnd) return { phase: 'green', sincePhaseStartMs: t, ...known };
  if (t < amberEnd) return { phase: 'amber', sincePhaseStartMs: t - greenEnd, ...known };
  return { phase: 'red', sincePhaseStartMs: t - amberEnd, ...known };
}

/**
 * Signal state for a plan. Fixed-time plans are computed; `external` and `observed` plans read the
 * timeline their reports are recorded in (without one, or without reports, the phase is unknown).
 */
export function signalStateAt(
  plan: SignalPlan | undefined,
  atMs: number,
  timeline?: SignalTimeline,
  group?: string,
): SignalState {
  if (!plan) return UNKNOWN_NONE;
  if (plan.kind === 'fixed-time') return fixedTimePhase(plan, atMs);
  if (!timeline || group === undefined) return { ...UNKNOWN_NONE, source: plan.kind };
  return plan.kind === 'external'
    ? timeline.stateAt(group, atMs, { maxSilenceMs: plan.maxSilenceMs })
    : timeline.stateAt(group, atMs, { maxGapMs: plan.maxGapMs });
}

interface Report {
  at: number;
  phase: SignalPhase;
}

interface GroupLog {
  source: 'external' | 'observed';
  reports: Report[];
}

export interface PhaseChange {
  phase: SignalPhase;
  /** The first report of the phase (ISO time in evidence). */
  from: number;
}

/**
 * The phases of a camera's signal groups over the recent past, from reports:
 *
 * - `external` (`record`): change events from a signal controller, fed by the API. A phase holds from
 *   its report until the next one; a repeated report of the same phase is a heartbeat. After
 *   `maxSilenceMs` without any report the phase is unknown.
 * - `observed` (`recordObserved`): samples read from the lamps in the camera's frames. A sample says
 *   what the lamps showed at that instant only: between two samples that agree the phase held, between
 *   two that differ it changed at an unknown moment (unknown), after the newest sample it is not yet
 *   known. So a red phase starts at its first red frame (the light may have turned red up to one frame
 *   earlier: the recorded red duration is never longer than the real one).
 *
 * Reports may arrive out of order; those older than `retentionMs` before the newest are dropped.
 */
export class SignalTimeline {
  private readonly groups = new Map<string, GroupLog>();
  private readonly retentionMs: number;

  constructor(options: { retentionMs?: number } = {}) {
    this.retentionMs = options.retentionMs ?? 15 * 60_000;
  }

  /** An external controller's report: `group` shows `phase` from `at` (ms since the epoch). */
  record(group: string, phase: SignalPhase, at: number): void {
    this.add(group, 'external', phase, at);
  }

  /** A lamp reading of the camera's own frame at `at`. */
  recordObserved(group: string, phase: SignalPhase, at: number): void {
    this.add(group, 'observed', phase, at);
  }

  /** The reports' phase changes between two instants (the phase in force at `from` first). */
  changes(group: string, from: number, to: number): PhaseChange[] {
    const log = this.groups.get(group);
    if (!log) return [];
    const out: PhaseChange[] = [];
    let prev: SignalPhase | undefined;
    for (const r of log.reports) {
      if (r.at > to) break;
      if (r.phase !== prev) {
        if (r.at <= from && out.length > 0) out.pop();
        out.push({ phase: r.phase, from: r.at });
        prev = r.phase;
      }
    }
    return out;
  }

  stateAt(group: string, at: number, limits: { maxSilenceMs?: number; maxGapMs?: number } = {}): SignalState {
    const log = this.groups.get(group);
    if (!log || log.reports.length === 0) return { ...UNKNOWN_NONE, source: log?.source ?? 'none' };
    const source = log.source;
    const unknown: SignalState = { phase: 'unknown', sincePhaseStartMs: 0, source };
    const reports = log.reports;
    const i = lastAtOrBefore(reports, at);
    if (i < 0) return unknown;
    const r = reports[i]!;
    // How far apart two reports may be and still describe the time between them.
    const gap = source === 'external' ? (limits.maxSilenceMs ?? 120_000) : (limits.maxGapMs ?? 2_500);
    if (source === 'observed' && r.at !== at) {
      const next = reports[i + 1];
      if (!next || next.phase !== r.phase || next.at - r.at > gap) return unknown;
    }
    if (source === 'external' && at - r.at > gap) return unknown;
    if (r.phase === 'unknown') return unknown;
    let j = i;
    while (j > 0 && reports[j - 1]!.phase === r.phase && reports[j]!.at - reports[j - 1]!.at <= gap) j--;
    const before = reports[j - 1];
    const startObserved = before !== undefined && reports[j]!.at - before.at <= gap;
    return { phase: r.phase, sincePhaseStartMs: at - reports[j]!.at, source, startObserved };
  }

  private add(group: string, source: GroupLog['source'], phase: SignalPhase, at: number): void {
    if (!Number.isFinite(at))
      throw new AppError('bad_request', 'signal report: invalid time', { permanent: true });
    let log = this.groups.get(group);
    if (!log) {
      log = { source, reports: [] };
      this.groups.set(group, log);
    }
    if (log.source !== source) {
      throw new AppError('bad_request', `signal group ${group} is ${log.source}, not ${source}`, {
        permanent: true,
      });
    }
    const reports = log.reports;
    const i = lastAtOrBefore(reports, at);
    if (i >= 0 && reports[i]!.at === at) reports[i] = { at, phase };
    else reports.splice(i + 1, 0, { at, phase });
    const newest = reports[reports.length - 1]!.at;
    let drop = 0;
    while (drop < reports.length - 1 && newest - reports[drop]!.at > this.retentionMs) drop++;
    if (drop > 0) reports.splice(0, drop);
  }
}

/** Index of the last report at or before `at` (-1 when none), by binary search. */
function lastAtOrBefore(reports: readonly Report[], at: number): number {
  let lo = 0;
  let hi = reports.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (reports[mid]!.at <= at) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found;
}
