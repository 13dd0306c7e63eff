import { pointInPolygon } from '../geometry.js';
import type { VehicleClass } from '../scene-config.js';
import type { Track } from '../tracker.js';
import { anchorOf, enforced, iso, trailingRun } from './rule-helpers.js';
import type { Rule, RuleContext, RuleHit } from './rule.js';

/**
 * Wrong lane for the vehicle's class (Decree 168 6.5.b / 7.3.d): the vehicle's anchor stays inside a
 * lane that does not allow its class for at least `minFrames` consecutive observations (a vehicle
 * changing lanes across it passes in a frame or two). The act is established at the `minFrames`-th.
 */
export const wrongLaneRule: Rule = {
  code: 'wrong_lane',
  evaluate(track: Track, ctx: RuleContext): RuleHit | undefined {
    const { scene } = ctx;
    const h = track.history;
    if (h.length === 0 || !enforced(track, scene)) return undefined;
    const { minFrames } = scene.rules.wrongLane;
    for (const lane of scene.lanes) {
      if (!lane.allowedClasses || lane.allowedClasses.includes(track.label as VehicleClass)) continue;
      const start = trailingRun(
        h,
        (p) => pointInPolygon(anchorOf(p.box, scene), lane.polygon),
        scene.rules.maxGapMs,
      );
      if (start === undefined || h.length - start < minFrames) continue;
      const established = h[start + minFrames - 1]!;
      return {
        ruleCode: 'wrong_lane',
        trackId: track.id,
        at: established.t,
        details: {
          lane: lane.id,
          allowedClasses: lane.allowedClasses,
          vehicleClass: track.label,
          inLaneSince: iso(h[start]!.t),
          framesInLane: h.length - start,
        },
      };
    }
    return undefined;
  },
};
