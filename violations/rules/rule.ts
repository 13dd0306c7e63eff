import type { SceneConfig } from '../scene-config.js';
import type { SignalState } from '../signal-timeline.js';
import type { Track } from '../tracker.js';

/**
 * Rule codes are stable identifiers; the law they map to (citation, fine, points, speed tier) lives in
 * the effective-dated `sanction_rule` table under the same code, never in code.
 */
export const RULE_CODES = [
  'red_light',
  'stop_line',
  'wrong_way',
  'wrong_lane',
  'speeding',
  'sidewalk',
  'no_parking',
  'intersection_stopping',
] as const;
export type RuleCode = (typeof RULE_CODES)[number];

export interface RuleContext {
  scene: SceneConfig;
  /** Signal state of a signal group at an instant. */
  signalAt(group: string, atMs: number): SignalState;
}

export interface RuleHit {
  ruleCode: RuleCode;
  trackId: number;
  /** The moment the act happened (interpolated between frames), or was established (dwell rules). */
  at: number;
  details: Record<string, unknown>;
}

/**
 * A rule is a pure function of a track, the scene and the signal timeline. It is evaluated on every
 * frame in which the track is seen; the engine flags each (track, rule code) once, so a rule may keep
 * returning the same hit. `codes` lists every code its hits may carry (the first is its own).
 */
export interface Rule {
  code: RuleCode;
  codes?: readonly RuleCode[];
  evaluate(track: Track, ctx: RuleContext): RuleHit | undefined;
}
