import { distance, pointInPolygon, segmentCrossing, sideOf, type Box, type Point } from '../geometry.js';
import { applyHomography, fitHomography, type Homography } from '../homography.js';
import type { SceneConfig, SpeedConfig, SpeedGate, VehicleClass } from '../scene-config.js';
import type { Track, TrackPoint } from '../tracker.js';
import { anchorOf, classFamily, enforced, iso, round } from './rule-helpers.js';
import type { Rule, RuleContext, RuleHit } from './rule.js';

/**
 * Speeding tiers by km/h over the limit, per class family, as in Decree 168 (car 6.3.a, 6.5.đ, 6.6.a,
 * 6.7.a; motorbike 7.2.b, 7.4.a, 7.8.a). Under 5 km/h over is no offence. The labels are the
 * `speed_excess_kmh` ranges of the sanction table, which holds the fines; an integration test checks
 * that both agree.
 */
interface Tier {
  label: string;
  lo: number;
  loClosed: boolean;
  hi: number;
  hiClosed: boolean;
}
const tier = (label: string, lo: number, loClosed: boolean, hi: number, hiClosed: boolean): Tier => ({
  label,
  lo,
  loClosed,
  hi,
  hiClosed,
});
export const SPEED_TIERS: Record<'car' | 'motorbike', readonly Tier[]> = {
  car: [
    tier('[5,10)', 5, true, 10, false),
    tier('[10,20]', 10, true, 20, true),
    tier('(20,35]', 20, false, 35, true),
    tier('(35,)', 35, false, Infinity, false),
  ],
  motorbike: [
    tier('[5,10)', 5, true, 10, false),
    tier('[10,20]', 10, true, 20, true),
    tier('(20,)', 20, false, Infinity, false),
  ],
};

/** The tier an excess falls in for a class family, or undefined (no offence, or no tiers for it). */
export function speedTier(family: 'car' | 'motorbike', excessKmh: number): string | undefined {
  for (const t of SPEED_TIERS[family]) {
    const aboveLo = t.loClosed ? excessKmh >= t.lo : excessKmh > t.lo;
    const belowHi = t.hiClosed ? excessKmh <= t.hi : excessKmh < t.hi;
    if (aboveLo && belowHi) return t.label;
  }
  return undefined;
}

/**
 * Measured speed, limit and tolerance to the excess the fine depends on, in km/h to 0.01. The measured
 * speed is first rounded to 0.0001 (clearing the floating-point noise of interpolating times of the
 * order of 10¹² ms), then truncated to 0.01 in the driver's favour; the subtraction is exact in
 * hundredths, so the stored numbers recompute to the stored excess.
 */
export function speedExcess(
  measuredKmh: number,
  limitKmh: number,
  toleranceKmh: number,
): { measuredKmh: number; excessKmh: number } {
  const measuredCents = Math.floor(Math.round(measuredKmh * 1e4) / 1e2);
  const excessCents = measuredCents - Math.round(limitKmh * 100) - Math.round(toleranceKmh * 100);
  return { measuredKmh: measuredCents / 100, excessKmh: excessCents / 100 };
}

interface Measurement {
  speedKmh: number;
  details: Record<string, unknown>;
  at: number;
}

/**
 * Speeding: the vehicle's speed is measured, from the times its anchor crosses a speed gate's entry and
 * exit lines (interpolated between frames allowing for perspective, `perspectiveFraction`; the gate's
 * surveyed distance over the elapsed time), or from the ground homography (the ground distance between
 * the first and last observation of a completed stay in the measurement zone, over the elapsed time, at
 * least `minSpanMs`). The device tolerance is taken off, the limit for the vehicle's class compared,
 * and the tier of the excess decides the offence.
 */
export const speedingRule: Rule = {
  code: 'speeding',
  evaluate(track: Track, ctx: RuleContext): RuleHit | undefined {
    const { scene } = ctx;
    const speed = scene.speed;
    const h = track.history;
    if (!speed || h.length < 2 || !enforced(track, scene)) return undefined;
    const limit = speed.limitsKmh[track.label as VehicleClass];
    const family = classFamily(track.label);
    if (limit === undefined || !family) return undefined;
    const measurements: Measurement[] = [];
    for (const gate of speed.gates) {
      const m = measureGate(h, gate, scene);
      if (m) measurements.push(m);
    }
    const m = speed.homography && measureHomography(h, speed, scene);
    if (m) measurements.push(m);
    for (const measurement of measurements) {
      const { measuredKmh, excessKmh } = speedExcess(measurement.speedKmh, limit, speed.toleranceKmh);
      const tierLabel = speedTier(family, excessKmh);
      if (!tierLabel) continue;
      return {
        ruleCode: 'speeding',
        trackId: track.id,
        at: measurement.at,
        details: {
          measuredKmh,
          limitKmh: limit,
          toleranceKmh: speed.toleranceKmh,
          /** Measured − tolerance − limit: pass to findSanction as speedExcessKmh. */
          speedExcessKmh: excessKmh,
          speedTier: tierLabel,
          classFamily: family,
          ...measurement.details,
        },
      };
    }
    return undefined;
  },
};

/**
 * The time fraction between two observations at which the vehicle was at image fraction `u` of the way
 * from the first anchor to the second. A vehicle moving steadily covers equal ground in equal times, but
 * not equal image distances: in perspective an approaching vehicle speeds up in the image (and a
 * receding one slows down), so a linear split of the image segment puts an approaching vehicle's
 * crossing too early, by up to a tenth of a second at 2 fps, and more at the exit line than at the
 * entry: the gate's elapsed time comes out short and the speed high, against the driver. The box's size
 * is inversely proportional to its distance, which undoes the projection:
 * τ = u·s₂ / ((1 − u)·s₁ + u·s₂) with s the box size. A box cut off by the frame's edge says nothing
 * of the distance; then the split stays linear.
 */
export function perspectiveFraction(u: number, a: Box, b: Box): number {
  const clipped = (x: Box) => x.x <= 0.002 || x.y <= 0.002 || x.x + x.w >= 0.998 || x.y + x.h >= 0.998;
  if (clipped(a) || clipped(b)) return u;
  const s1 = Math.sqrt(a.w * a.h);
  const s2 = Math.sqrt(b.w * b.h);
  if (!(s1 > 0 && s2 > 0) || s2 / s1 > 4 || s1 / s2 > 4) return u;
  return (u * s2) / ((1 - u) * s1 + u * s2);
}

/**
 * The first time from observation `from` on that the anchor crosses `line` into the side `towards` lies
 * on: a crossing the other way (a vehicle driving back through the gate, or a track that followed
 * another vehicle before this one) is not the one the gate times.
 */
function crossingTime(
  h: readonly TrackPoint[],
  from: number,
  line: { a: Point; b: Point },
  towards: Point,
  scene: SceneConfig,
) {
  const inside = sideOf(line.a, line.b, towards);
  for (let i = Math.max(1, from); i < h.length; i++) {
    const prev = h[i - 1]!;
    const cur = h[i]!;
    const [p, q] = [anchorOf(prev.box, scene), anchorOf(cur.box, scene)];
    const u = segmentCrossing(p, q, line.a, line.b);
    if (u === undefined || sideOf(line.a, line.b, q) !== inside || sideOf(line.a, line.b, p) === inside)
      continue;
    const f = perspectiveFraction(u, prev.box, cur.box);
    return { index: i, at: prev.t + (cur.t - prev.t) * f, between: [prev.t, cur.t] };
  }
  return undefined;
}

function measureGate(h: readonly TrackPoint[], gate: SpeedGate, scene: SceneConfig): Measurement | undefined {
  const mid = (l: { a: Point; b: Point }) => ({ x: (l.a.x + l.b.x) / 2, y: (l.a.y + l.b.y) / 2 });
  const [entryMid, exitMid] = [mid(gate.entry), mid(gate.exit)];
  // Into the gate over the entry line (towards the exit line), out of it over the exit line.
  const entry = crossingTime(h, 1, gate.entry, exitMid, scene);
  if (!entry) return undefined;
  const beyond = { x: 2 * exitMid.x - entryMid.x, y: 2 * exitMid.y - entryMid.y };
  const exit = crossingTime(h, entry.index, gate.exit, beyond, scene);
  if (!exit || exit.at <= entry.at) return undefined;
  const elapsedMs = exit.at - entry.at;
  return {
    speedKmh: (gate.distanceM / (elapsedMs / 1000)) * 3.6,
    at: exit.at,
    details: {
      method: 'gate',
      interpolation: 'perspective',
      gate: gate.id,
      distanceM: gate.distanceM,
      entryAt: iso(entry.at),
      exitAt: iso(exit.at),
      elapsedMs: round(elapsedMs, 1),
      /** The analysed frames each crossing was interpolated between. */
      entryBetween: entry.between.map(iso),
      exitBetween: exit.between.map(iso),
    },
  };
}

const homographies = new WeakMap<object, Homography | undefined>();

function measureHomography(
  h: readonly TrackPoint[],
  speed: SpeedConfig,
  scene: SceneConfig,
): Measurement | undefined {
  const config = speed.homography!;
  if (!homographies.has(config)) homographies.set(config, fitHomography(config.image, config.groundM));
  const H = homographies.get(config);
  if (!H) return undefined;
  // Completed stays in the zone: runs of observations inside, each followed by one outside.
  let best: { from: number; to: number } | undefined;
  let runStart = -1;
  for (let i = 0; i < h.length; i++) {
    const isIn = pointInPolygon(anchorOf(h[i]!.box, scene), config.image);
    const gap = i > 0 && h[i]!.t - h[i - 1]!.t > scene.rules.maxGapMs;
    if (runStart >= 0 && (!isIn || gap)) {
      if (!isIn && (!best || h[i - 1]!.t - h[runStart]!.t > h[best.to]!.t - h[best.from]!.t)) {
        best = { from: runStart, to: i - 1 };
      }
      runStart = -1;
    }
    if (isIn && runStart < 0) runStart = i;
  }
  if (!best || best.to - best.from < 2) return undefined;
  const first = h[best.from]!;
  const last = h[best.to]!;
  const elapsedMs = last.t - first.t;
  if (elapsedMs < speed.minSpanMs) return undefined;
  const g0 = applyHomography(H, anchorOf(first.box, scene));
  const g1 = applyHomography(H, anchorOf(last.box, scene));
  if (!g0 || !g1) return undefined;
  const metres = distance(g0, g1);
  return {
    speedKmh: (metres / (elapsedMs / 1000)) * 3.6,
    at: last.t,
    details: {
      method: 'homography',
      groundDistanceM: round(metres, 3),
      fromAt: iso(first.t),
      toAt: iso(last.t),
      elapsedMs,
      observations: best.to - best.from + 1,
    },
  };
}
