import { groundPoint, lerp, segmentCrossing, sideOf } from '../geometry.js';
import type { Track } from '../tracker.js';
import type { Rule, RuleContext, RuleHit } from './rule.js';

/**
 * Red light: the vehicle's ground point crosses a stop line, in the line's direction of travel, while the
 * line's signal is red. Crossing on amber is allowed (Law 36 Art 11.4: a vehicle already at the line when
 * amber shows may continue; a camera cannot tell the stopping distance, so amber crossings are never
 * flagged). The crossing instant is interpolated between the two frames around it.
 */
export const redLightRule: Rule = {
  code: 'red_light',
  evaluate(track: Track, ctx: RuleContext): RuleHit | undefined {
    const h = track.history;
    if (h.length < 2 || !ctx.scene.vehicleClasses.includes(track.label as never)) return undefined;
    const prev = h[h.length - 2]!;
    const last = h[h.length - 1]!;
    const p = groundPoint(prev.box, ctx.scene.anchor);
    const q = groundPoint(last.box, ctx.scene.anchor);
    for (const line of ctx.scene.stopLines) {
      const t = segmentCrossing(p, q, line.a, line.b);
      if (t === undefined) continue;
      const from = sideOf(line.a, line.b, p);
      const to = sideOf(line.a, line.b, q);
      const wanted = sideOf(line.a, line.b, line.towards);
      if (wanted === 0 || to !== wanted || from === wanted) continue;
      const at = prev.t + (last.t - prev.t) * t;
      const signal = ctx.signalAt(line.signal, at);
      if (signal.phase !== 'red') continue;
      return {
        ruleCode: 'red_light',
        trackId: track.id,
        at,
        details: {
          stopLine: line.id,
          signalGroup: line.signal,
          signalPhase: signal.phase,
          signalSource: signal.source,
          redForMs: Math.round(signal.sincePhaseStartMs),
          crossingPoint: lerp(p, q, t),
          /** The two analysed frames the crossing lies between. */
          crossedBetween: [new Date(prev.t).toISOString(), new Date(last.t).toISOString()],
        },
      };
    }
    return undefined;
  },
};
