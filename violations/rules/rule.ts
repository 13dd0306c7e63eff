import type { SceneConfig } from '../scene-config.js';
import type { SignalState } from '../signal-timeline.js';
import type { Track } from '../tracker.js';

/** Rule codes are stable identifiers; the law they map to lives in the sanction_rule table. */
export type RuleCode = 'red_light';

export interface RuleContext {
  scene: SceneConfig;
  /** Signal state of a signal group at an instant. */
  signalAt(group: string, atMs: number): SignalState;
}

export interface RuleHit {
  ruleCode: RuleCode;
  trackId: number;
  /** The moment the act happened (interpolated between frames). */
  at: number;
  details: Record<string, unknown>;
}

/** A rule is a pure function of a track, the scene and the signal timeline. */
export interface Rule {
  code: RuleCode;
  evaluate(track: Track, ctx: RuleContext): RuleHit | undefined;
}
