import { extentAcross, lerp, segmentCrossing, signedDistance, sideOf } from '../geometry.js';
import type { Track } from '../tracker.js';
import { anchorOf, enforced, iso, roundPoint } from './rule-helpers.js';
import type { Rule, RuleContext, RuleHit } from './rule.js';

/**
 * Red light: the vehicle's anchor crosses a stop line, in the line's direction of travel, while the
 * line's signal is red, and goes on past it (by `minPastLine` box extents: a vehicle creeping at the
 * line is a stop-line matter, not a red-light run). Only a vehicle's first crossing of a line counts:
 * crossing on amber is allowed (Law 36 Art 11.4: a vehicle already at the line when amber shows may
 * continue; a camera cannot tell the stopping distance, so amber crossings are never flagged), and
 * jitter back over the line afterwards changes nothing. The crossing instant is interpolated between
 * the two frames around it. A crossing is judged again while it is recent (`settleMs`), so a signal
 * phase that is still being confirmed from the lamps (unknown meanwhile) is awaited.
 */
export const redLightRule: Rule = {
  code: 'red_light',
  evaluate(track: Track, ctx: RuleContext): RuleHit | undefined {
    const h = track.history;
    const { scene } = ctx;
    if (h.length < 2 || !enforced(track, scene)) return undefined;
    const { settleMs, minPastLine } = scene.rules.redLight;
    const last = h[h.length - 1]!;
    for (const line of scene.stopLines) {
      const wanted = sideOf(line.a, line.b, line.towards);
      if (wanted === 0) continue;
      for (let i = 1; i < h.length; i++) {
        const prev = h[i - 1]!;
        const cur = h[i]!;
        const p = anchorOf(prev.box, scene);
        const q = anchorOf(cur.box, scene);
        const t = segmentCrossing(p, q, line.a, line.b);
        if (t === undefined) continue;
        if (sideOf(line.a, line.b, q) !== wanted || sideOf(line.a, line.b, p) === wanted) continue;
        // The first crossing in the direction of travel: judged, and no later one is.
        const at = prev.t + (cur.t - prev.t) * t;
        if (last.t - at > settleMs) break;
        const signal = ctx.signalAt(line.signal, at);
        if (signal.phase !== 'red') break;
        const past = h
          .slice(i)
          .find(
            (k) =>
              signedDistance(line.a, line.b, line.towards, anchorOf(k.box, scene)) >=
              minPastLine * extentAcross(k.box, line.a, line.b),
          );
        if (!past) break;
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
            /** False: the red began before the signal record did; redForMs is a lower bound. */
            redStartObserved: signal.startObserved ?? true,
            crossingPoint: roundPoint(lerp(p, q, t)),
            /** The two analysed frames the crossing lies between. */
            crossedBetween: [iso(prev.t), iso(cur.t)],
          },
        };
      }
    }
    return undefined;
  },
};
