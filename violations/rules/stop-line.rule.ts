import {
  boxCorners,
  extentAcross,
  projectionFraction,
  signedDistance,
  type Box,
  type Point,
} from '../geometry.js';
import type { SceneConfig, StopLine } from '../scene-config.js';
import type { Track } from '../tracker.js';
import { anchorOf, enforced, iso, round, stationaryRun } from './rule-helpers.js';
import type { Rule, RuleContext, RuleHit } from './rule.js';

/**
 * Stop line (not obeying road markings, Decree 168 6.1.a / 7.1.a): a vehicle that came up to a stop line
 * stands still with its front past it while the line's signal is red, for at least `minStoppedS`.
 *
 * The front is the point of the vehicle's ground footprint furthest across the line: the bottom edge of
 * its box for an oblique camera (the front of approaching traffic), the whole box for one looking
 * straight down. It must be past the line by `minOvershoot` box extents, within the line's ends, while
 * the anchor is no more than `maxOvershoot` extents past (deeper in, the vehicle is in the intersection:
 * a red-light matter). The vehicle must have been seen with its front before the line, so a vehicle
 * already standing there when it came into view is not judged. Red must hold from the moment it stopped
 * to the moment the rule is satisfied.
 */
export const stopLineRule: Rule = {
  code: 'stop_line',
  evaluate(track: Track, ctx: RuleContext): RuleHit | undefined {
    const { scene } = ctx;
    const h = track.history;
    if (h.length < 2 || !enforced(track, scene)) return undefined;
    const { maxGapMs, stationaryDrift } = scene.rules;
    const { minStoppedS, minOvershoot, maxOvershoot } = scene.rules.stopLine;
    for (const line of scene.stopLines) {
      const beyond = (box: Box) => {
        const extent = extentAcross(box, line.a, line.b);
        const front = frontPoint(box, line, scene);
        const frontPast = signedDistance(line.a, line.b, line.towards, front);
        const anchorPast = signedDistance(line.a, line.b, line.towards, anchorOf(box, scene));
        const along = projectionFraction(line.a, line.b, front);
        return { extent, front, frontPast, anchorPast, along };
      };
      const standingPast = (box: Box) => {
        const b = beyond(box);
        return (
          b.extent > 0 &&
          b.along >= 0 &&
          b.along <= 1 &&
          b.frontPast >= minOvershoot * b.extent &&
          b.anchorPast <= maxOvershoot * b.extent
        );
      };
      const start = stationaryRun(h, scene, stationaryDrift, maxGapMs, (p) => standingPast(p.box));
      if (start === undefined || start === 0) continue;
      // It came to the line: its front was before the line at some earlier observation.
      if (!h.slice(0, start).some((p) => beyond(p.box).frontPast < 0)) continue;
      const stoppedAt = h[start]!.t;
      const j = h.findIndex((p, i) => i >= start && p.t - stoppedAt >= minStoppedS * 1000);
      if (j < 0) continue;
      const at = h[j]!.t;
      const atStop = ctx.signalAt(line.signal, stoppedAt);
      const atEnd = ctx.signalAt(line.signal, at);
      if (atStop.phase !== 'red' || atEnd.phase !== 'red') continue;
      const b = beyond(h[j]!.box);
      return {
        ruleCode: 'stop_line',
        trackId: track.id,
        at,
        details: {
          stopLine: line.id,
          signalGroup: line.signal,
          signalPhase: atEnd.phase,
          signalSource: atEnd.source,
          redForMs: Math.round(atEnd.sincePhaseStartMs),
          stoppedSince: iso(stoppedAt),
          stoppedForMs: Math.round(at - stoppedAt),
          /** How far the front stood past the line, in box extents across the line. */
          overshoot: round(b.frontPast / b.extent, 3),
        },
      };
    }
    return undefined;
  },
};

/**
 * The vehicle's footprint point furthest across the line (the middle of the front edge when an edge
 * of the box is parallel to the line).
 */
function frontPoint(box: Box, line: StopLine, scene: Pick<SceneConfig, 'anchor'>): Point {
  const footprint =
    scene.anchor === 'center'
      ? boxCorners(box)
      : [
          { x: box.x, y: box.y + box.h },
          { x: box.x + box.w, y: box.y + box.h },
        ];
  const d = footprint.map((p) => signedDistance(line.a, line.b, line.towards, p));
  const max = Math.max(...d);
  const front = footprint.filter((_, i) => d[i]! >= max - 1e-12);
  return {
    x: front.reduce((s, p) => s + p.x, 0) / front.length,
    y: front.reduce((s, p) => s + p.y, 0) / front.length,
  };
}
