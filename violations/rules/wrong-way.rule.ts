import { angleBetweenDeg, dot, pointInPolygon, sub, unit } from '../geometry.js';
import { laneVector } from '../scene-config.js';
import type { Track } from '../tracker.js';
import { anchorOf, enforced, iso, round, roundPoint, trailingRun } from './rule-helpers.js';
import type { Rule, RuleContext, RuleHit } from './rule.js';

/**
 * Wrong way: in a lane, the vehicle's anchor travels against the lane's direction, at least
 * `minDistance` (normalised image units, measured along the lane's direction) over at least `minFrames`
 * observations, and the motion points at least `minAngleDeg` away from the lane's direction (so a
 * vehicle crossing the lane sideways or turning is not flagged). The measure is from the furthest point
 * forward the vehicle reached in its current stay in the lane, so a vehicle that turns round in the lane
 * is caught once it has gone far enough back.
 *
 * The code is the lane's `against`: `wrong_way` on a one-way road or a no-entry approach, `wrong_lane`
 * on one half of a two-way road (using the other half is driving on the wrong part of the road).
 */
export const wrongWayRule: Rule = {
  code: 'wrong_way',
  codes: ['wrong_way', 'wrong_lane'],
  evaluate(track: Track, ctx: RuleContext): RuleHit | undefined {
    const { scene } = ctx;
    const h = track.history;
    if (h.length < 2 || !enforced(track, scene)) return undefined;
    const { minDistance, minAngleDeg, minFrames } = scene.rules.wrongWay;
    for (const lane of scene.lanes) {
      const u = unit(laneVector(lane));
      if (!u) continue;
      const start = trailingRun(
        h,
        (p) => pointInPolygon(anchorOf(p.box, scene), lane.polygon),
        scene.rules.maxGapMs,
      );
      if (start === undefined || h.length - start < minFrames) continue;
      let ahead = start;
      let aheadS = dot(anchorOf(h[start]!.box, scene), u);
      for (let j = start + 1; j < h.length; j++) {
        const pj = anchorOf(h[j]!.box, scene);
        const s = dot(pj, u);
        if (s > aheadS) {
          ahead = j;
          aheadS = s;
          continue;
        }
        const back = aheadS - s;
        if (back < minDistance || j - ahead + 1 < minFrames) continue;
        const from = anchorOf(h[ahead]!.box, scene);
        const angle = angleBetweenDeg(sub(pj, from), u);
        if (angle === undefined || angle < minAngleDeg) continue;
        return {
          ruleCode: lane.against,
          trackId: track.id,
          at: h[j]!.t,
          details: {
            lane: lane.id,
            laneDirection: roundPoint(u),
            /** Distance travelled against the lane's direction, normalised image units. */
            distanceAgainst: round(back),
            angleDeg: round(angle, 1),
            from: { t: iso(h[ahead]!.t), point: roundPoint(from) },
            to: { t: iso(h[j]!.t), point: roundPoint(pj) },
            frames: j - ahead + 1,
          },
        };
      }
    }
    return undefined;
  },
};
