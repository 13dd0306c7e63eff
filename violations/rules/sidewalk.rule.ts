import { pointInPolygon } from '../geometry.js';
import type { VehicleClass } from '../scene-config.js';
import type { Track } from '../tracker.js';
import { anchorOf, enforced, iso, trailingRun } from './rule-helpers.js';
import type { Rule, RuleContext, RuleHit } from './rule.js';

/**
 * Riding on the sidewalk (Decree 168 7.7.a; 6.6.d for cars where a sidewalk lists them): the vehicle's
 * anchor (where it touches the ground) stays inside a sidewalk zone for at least `minFrames`
 * consecutive observations. The act is established at the `minFrames`-th.
 */
export const sidewalkRule: Rule = {
  code: 'sidewalk',
  evaluate(track: Track, ctx: RuleContext): RuleHit | undefined {
    const { scene } = ctx;
    const h = track.history;
    if (h.length === 0 || !enforced(track, scene)) return undefined;
    const { minFrames } = scene.rules.sidewalk;
    for (const sidewalk of scene.sidewalks) {
      if (!sidewalk.classes.includes(track.label as VehicleClass)) continue;
      const start = trailingRun(
        h,
        (p) => pointInPolygon(anchorOf(p.box, scene), sidewalk.polygon),
        scene.rules.maxGapMs,
      );
      if (start === undefined || h.length - start < minFrames) continue;
      return {
        ruleCode: 'sidewalk',
        trackId: track.id,
        at: h[start + minFrames - 1]!.t,
        details: {
          sidewalk: sidewalk.id,
          vehicleClass: track.label,
          onSidewalkSince: iso(h[start]!.t),
          framesOnSidewalk: h.length - start,
        },
      };
    }
    return undefined;
  },
};
