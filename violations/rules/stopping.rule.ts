import { pointInPolygon } from '../geometry.js';
import {
  DEFAULT_DWELL_S,
  type StoppingZone,
  type StoppingZoneKind,
  type VehicleClass,
} from '../scene-config.js';
import type { Track } from '../tracker.js';
import { anchorOf, enforced, iso, stationaryRun } from './rule-helpers.js';
import type { Rule, RuleCode, RuleContext, RuleHit } from './rule.js';

/**
 * Illegal stopping and parking: the vehicle stands still (its anchor within `stationaryDrift` box sizes
 * of where it stands now) inside a stopping zone for at least the zone's dwell. Time while the zone's
 * `exemptWhileRed` signal shows red or amber, or is unknown, does not count: a queue at the light is not
 * parking. Two rules share this module by the zone's kind: `no_parking` (no-parking and no-stopping
 * signs, Decree 168 6.3.e / 7.2.e) and `intersection_stopping` (in or near an intersection, at a bus
 * stop, 6.3.đ / 7.2.e). The act is established when the counted dwell reaches the threshold.
 */
const CODE_OF_KIND: Record<StoppingZoneKind, 'no_parking' | 'intersection_stopping'> = {
  no_parking: 'no_parking',
  no_stopping: 'no_parking',
  intersection: 'intersection_stopping',
  bus_stop: 'intersection_stopping',
};

function stoppingRule(code: 'no_parking' | 'intersection_stopping'): Rule {
  return {
    code,
    evaluate(track: Track, ctx: RuleContext): RuleHit | undefined {
      const { scene } = ctx;
      const h = track.history;
      if (h.length < 2 || !enforced(track, scene)) return undefined;
      for (const zone of scene.stoppingZones) {
        if (CODE_OF_KIND[zone.kind] !== code) continue;
        if (zone.classes && !zone.classes.includes(track.label as VehicleClass)) continue;
        const hit = dwellInZone(track, zone, ctx, code);
        if (hit) return hit;
      }
      return undefined;
    },
  };
}

function dwellInZone(
  track: Track,
  zone: StoppingZone,
  ctx: RuleContext,
  code: RuleCode,
): RuleHit | undefined {
  const { scene } = ctx;
  const h = track.history;
  const start = stationaryRun(h, scene, scene.rules.stationaryDrift, scene.rules.maxGapMs, (p) =>
    pointInPolygon(anchorOf(p.box, scene), zone.polygon),
  );
  if (start === undefined) return undefined;
  const dwellMs = (zone.dwellS ?? DEFAULT_DWELL_S[zone.kind]) * 1000;
  let counted = 0;
  let exemptMs = 0;
  // The phase over an interval: exempt unless both ends show a phase that lets traffic move.
  const group = zone.exemptWhileRed;
  const moving = (at: number) => {
    const phase = ctx.signalAt(group!, at).phase;
    return phase === 'green' || phase === 'flashing-amber' || phase === 'dark';
  };
  let fromMoving = group ? moving(h[start]!.t) : true;
  for (let i = start + 1; i < h.length; i++) {
    const from = h[i - 1]!.t;
    const to = h[i]!.t;
    const toMoving = group ? moving(to) : true;
    const exempt = !fromMoving || !toMoving;
    fromMoving = toMoving;
    if (exempt) {
      exemptMs += to - from;
      continue;
    }
    counted += to - from;
    if (counted >= dwellMs) {
      return {
        ruleCode: code,
        trackId: track.id,
        at: to,
        details: {
          zone: zone.id,
          zoneKind: zone.kind,
          stationarySince: iso(h[start]!.t),
          dwellMs: Math.round(counted),
          dwellThresholdMs: Math.round(dwellMs),
          ...(zone.exemptWhileRed ? { exemptSignalGroup: zone.exemptWhileRed, exemptMs } : {}),
        },
      };
    }
  }
  return undefined;
}

export const noParkingRule = stoppingRule('no_parking');
export const intersectionStoppingRule = stoppingRule('intersection_stopping');
