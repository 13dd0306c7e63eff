import { assign } from './assignment.js';
import { BoxKalman, CHI2_4DOF_80, DEFAULT_KALMAN_NOISE, type KalmanNoise } from './box-kalman.js';
import { iou, type Box } from './geometry.js';

/** A detection in normalised frame coordinates. */
export interface TrackInput {
  label: string;
  score: number;
  box: Box;
}

export interface TrackPoint {
  t: number;
  /** The detector's box in that frame (not the filtered one: evidence shows what was detected). */
  box: Box;
  score: number;
}

export interface Track {
  id: number;
  label: string;
  /** Observed positions, oldest first, capped at `historyLength`. */
  history: TrackPoint[];
  hits: number;
  /** Consecutive updates without a match. */
  misses: number;
  firstSeenAt: number;
  lastSeenAt: number;
  confirmed: boolean;
  /**
   * The vehicle's identity across track breaks: the track's own id, or, when the track was recognised
   * as the continuation of a confirmed track lost shortly before (same class family, starting where
   * that track's prediction put the vehicle), that track's lineage. Rules are flagged once per lineage.
   */
  lineage: number;
}

export interface TrackerOptions {
  /** Detections at or above this score can start tracks and match first. */
  highScore: number;
  /** Detections between lowScore and highScore only extend existing tracks (second pass). */
  lowScore: number;
  /** First pass: a pair with at least this IoU between prediction and detection may match. */
  matchIou: number;
  /** Second pass (low-score detections): IoU only, at least this much. */
  lowMatchIou: number;
  /**
   * First pass: a pair without enough overlap may still match when the detection lies inside the
   * prediction's uncertainty (squared Mahalanobis distance over cx, cy, w, h at most this). At 1–5 fps a
   * vehicle can move beyond its own box between frames, and after an occlusion the prediction is
   * uncertain; IoU pairs are always preferred.
   */
  gateMahalanobis2: number;
  /**
   * Motion pass (fast objects at low frame rates): a track and a detection still unmatched may pair when
   * the detection's centre lies within this many box sizes of the predicted centre (across the motion;
   * along it the allowance grows with the distance the track is expected to travel).
   */
  motionGate: number;
  /**
   * ...and when the box's size changed by no more than this factor per second (1 + rate·Δt either way):
   * a vehicle approaching the camera grows fast in perspective.
   */
  maxScaleRatePerS: number;
  /** A track unseen for longer than this is dropped. */
  maxAgeMs: number;
  /**
   * A confirmed track dropped less than this long ago can be continued by a new track that starts where
   * its prediction puts the vehicle (the new track inherits its lineage).
   */
  reidentifyMs: number;
  minHits: number;
  historyLength: number;
  noise: KalmanNoise;
}

export const DEFAULT_TRACKER_OPTIONS: TrackerOptions = {
  highScore: 0.45,
  lowScore: 0.2,
  matchIou: 0.2,
  lowMatchIou: 0.3,
  // The 80 % quantile: on simulated crossing traffic at 1–2 fps it cut wrong links by a fifth against
  // the 95 % one for 1–3 % fewer links made.
  gateMahalanobis2: CHI2_4DOF_80,
  motionGate: 1.2,
  maxScaleRatePerS: 2,
  maxAgeMs: 1500,
  reidentifyMs: 4000,
  minHits: 2,
  // 10 minutes at 1 fps, 2 at 5 fps: dwell rules (parking) read the whole run from here.
  historyLength: 600,
  noise: DEFAULT_KALMAN_NOISE,
};

const FORBIDDEN = 1e6;
/** Frames of unmatched low-score detections a new track may open its history with. */
const LOW_FRAMES_KEPT = 2;

/** A confirmed track dropped by age, kept a while so that a new track can continue it. */
interface LostTrack {
  lineage: number;
  label: string;
  filter: BoxKalman;
  hits: number;
  lastSeenAt: number;
  /** Its last observations (for `leftByPerspective`). */
  last: TrackPoint[];
}

/**
 * Multi-object tracker for one camera, ByteTrack style: a Kalman filter per track predicts its box at
 * the new frame; high-score detections are assigned first (minimum-cost assignment on 1 − IoU, with a
 * Mahalanobis gate as fallback for pairs that do not overlap), then low-score detections extend the
 * tracks still unmatched (IoU only), so a vehicle whose score dips, or that is hidden for a moment,
 * keeps its id. After each of those, a motion pass pairs what is left of the tracks seen in the
 * previous frame by the distance between predicted and detected centres in box sizes, allowing for
 * perspective growth: at 1–2 fps a vehicle approaching the camera moves several lengths and doubles in
 * size between frames, where neither overlap nor a constant-velocity gate holds. Only high-score
 * detections start tracks (opening with the weak detections of up to two frames before that they
 * continue); a track is confirmed after `minHits` matches, and a tentative one that misses a frame is
 * dropped. A track that is confirmed soon after a confirmed one was lost, where that one's prediction
 * puts the vehicle, carries on its lineage.
 */
export class IouTracker {
  private tracks: Track[] = [];
  private readonly filters = new Map<number, BoxKalman>();
  private lost: LostTrack[] = [];
  /** The last frames' low-score detections that extended no track. */
  private recentLow: { t: number; detections: readonly TrackInput[] }[] = [];
  private nextId = 1;
  private readonly options: TrackerOptions;

  constructor(options: Partial<TrackerOptions> = {}) {
    this.options = { ...DEFAULT_TRACKER_OPTIONS, ...options };
  }

  get active(): readonly Track[] {
    return this.tracks;
  }

  /** Lineages that a track may still carry on: live tracks' and recently lost ones'. */
  get lineages(): ReadonlySet<number> {
    return new Set([...this.tracks.map((tr) => tr.lineage), ...this.lost.map((l) => l.lineage)]);
  }

  /** Where the track's box is expected at time t (its last detected box for an unknown id). */
  predict(trackId: number, t: number): Box | undefined {
    return this.filters.get(trackId)?.prior(t).box;
  }

  update(t: number, detections: readonly TrackInput[]): Track[] {
    const { highScore, lowScore, matchIou, lowMatchIou, gateMahalanobis2 } = this.options;
    const priors = new Map(this.tracks.map((tr) => [tr.id, this.filters.get(tr.id)!.prior(t)]));
    const high = detections.filter((d) => d.score >= highScore);
    const low = detections.filter((d) => d.score >= lowScore && d.score < highScore);

    const unmatched = new Set(this.tracks);
    const gone = new Set(this.tracks.filter((tr) => leftByPerspective(tr.history, t)).map((tr) => tr.id));
    // The size each track should have now if it kept its speed (once per track, not per pairing).
    const scales = new Map(this.tracks.map((tr) => [tr.id, perspectiveScale(tr.history, t)]));
    const pass = (
      candidates: TrackInput[],
      cost: (track: Track, det: TrackInput) => number,
    ): TrackInput[] => {
      // A track unseen for longer than its maximum age is gone, however wide its prediction has grown.
      const tracks = [...unmatched].filter((track) => t - track.lastSeenAt <= this.options.maxAgeMs);
      const costs = tracks.map((track) =>
        candidates.map((det) => (compatible(det.label, track.label) ? cost(track, det) : FORBIDDEN)),
      );
      const used = new Set<TrackInput>();
      for (const [ti, di] of assign(costs, FORBIDDEN)) {
        const track = tracks[ti]!;
        const det = candidates[di]!;
        unmatched.delete(track);
        used.add(det);
        this.extend(track, t, det);
      }
      return candidates.filter((d) => !used.has(d));
    };
    const overlapCost = (gated: boolean, minIou: number) => (track: Track, det: TrackInput) => {
      // A vehicle that was approaching fast enough to have passed out of the picture since it was last
      // seen is gone: another vehicle appearing where the constant-velocity prediction puts it (at the
      // frame's bottom edge, a car coming up the other way) is not it.
      if (gone.has(track.id)) return FORBIDDEN;
      const prior = priors.get(track.id)!;
      const overlap = iou(prior.box, det.box);
      if (overlap >= minIou) return 1 - overlap;
      if (!gated) return FORBIDDEN;
      const d2 = this.filters.get(track.id)!.mahalanobis2(det.box, t, prior);
      return d2 <= gateMahalanobis2 ? 1 + d2 / gateMahalanobis2 : FORBIDDEN;
    };

    // Only from one frame to the next: across a longer gap the overlap and Mahalanobis gates (whose
    // uncertainty grows with the gap) decide, and a vehicle lost for longer is re-identified by lineage.
    // On simulated crossing traffic at 2 fps, allowing gaps here added a fifth more wrong links.
    const motion = (track: Track, det: TrackInput) =>
      track.misses > 0 || gone.has(track.id)
        ? FORBIDDEN
        : (this.motionCost(
            track,
            this.filters.get(track.id)!,
            priors.get(track.id)!.box,
            det.box,
            t,
            false,
            scales.get(track.id),
          ) ?? FORBIDDEN);
    // High-score detections first, by overlap and then by motion; low-score ones only extend what is left.
    const unmatchedHigh = pass(pass(high, overlapCost(true, matchIou)), motion);
    const unmatchedLow = pass(pass(low, overlapCost(false, lowMatchIou)), motion);

    for (const track of unmatched) track.misses += 1;
    this.tracks = this.tracks.filter((track) => {
      const keep = t - track.lastSeenAt <= this.options.maxAgeMs && (track.confirmed || track.misses === 0);
      if (!keep) {
        if (track.confirmed) {
          this.lost.push({
            lineage: track.lineage,
            label: track.label,
            filter: this.filters.get(track.id)!,
            hits: track.hits,
            lastSeenAt: track.lastSeenAt,
            last: track.history.slice(-2),
          });
        }
        this.filters.delete(track.id);
      }
      return keep;
    });
    this.lost = this.lost.filter((l) => t - l.lastSeenAt <= this.options.reidentifyMs);

    const taken = new Set<TrackInput>();
    for (const det of unmatchedHigh) {
      const id = this.nextId++;
      // The same vehicle, seen weakly in the previous frames and by nothing since, opens its history.
      const before = this.lowPredecessors(det, t, taken);
      const first = before[0] ?? { t, det };
      const filter = new BoxKalman(first.det.box, first.t, this.options.noise);
      for (const p of [...before.slice(1), { t, det }]) filter.update(p.det.box, p.t);
      this.filters.set(id, filter);
      const history: TrackPoint[] = [...before, { t, det }].map((p) => ({
        t: p.t,
        box: p.det.box,
        score: p.det.score,
      }));
      const track: Track = {
        id,
        label: det.label,
        history,
        // Each detection counts, the weak ones it opened with too: they are the same vehicle's.
        hits: history.length,
        misses: 0,
        firstSeenAt: history[0]!.t,
        lastSeenAt: t,
        confirmed: history.length >= this.options.minHits,
        lineage: id,
      };
      this.tracks.push(track);
      if (track.confirmed) this.continueLineage(track);
    }
    // A weak detection that opened a track is that track's: no other track may open with it.
    this.recentLow = [...this.recentLow, { t, detections: unmatchedLow }]
      .slice(-LOW_FRAMES_KEPT)
      .map((frame) => ({ t: frame.t, detections: frame.detections.filter((d) => !taken.has(d)) }));
    return this.tracks;
  }

  /**
   * Low-score detections of the previous frames (at most `LOW_FRAMES_KEPT`, one per frame, frame after
   * frame), left unmatched, that a new track's first detection continues: same class family, each
   * within the motion gate of the next for a track without motion yet. A vehicle's first frames
   * far from the camera are often below the score that starts a track; without them, a fast vehicle's
   * track begins past a speed gate's entry line or a stop line. Oldest first.
   */
  private lowPredecessors(
    det: TrackInput,
    t: number,
    taken: Set<TrackInput>,
  ): { t: number; det: TrackInput }[] {
    const chain: { t: number; det: TrackInput }[] = [];
    let next = { t, det };
    for (let k = this.recentLow.length - 1; k >= 0; k--) {
      const frame = this.recentLow[k]!;
      if (next.t - frame.t > this.options.maxAgeMs) break;
      let best: { det: TrackInput; cost: number } | undefined;
      for (const low of frame.detections) {
        if (taken.has(low) || !compatible(low.label, det.label)) continue;
        // Further back, the motion must keep its direction: a vehicle does not turn back between frames.
        if (
          chain.length > 0 &&
          !sameWay(low.box, next.det.box, chain.length > 1 ? chain[1]!.det.box : det.box)
        )
          continue;
        const filter = new BoxKalman(low.box, frame.t, this.options.noise);
        const cost = this.motionCost({ hits: 1, lastSeenAt: frame.t }, filter, low.box, next.det.box, next.t);
        if (cost !== undefined && (!best || cost < best.cost)) best = { det: low, cost };
      }
      if (!best) break;
      taken.add(best.det);
      next = { t: frame.t, det: best.det };
      chain.unshift(next);
    }
    return chain;
  }

  /**
   * Motion-pass cost of pairing a track with a detection, or undefined outside the gate: the residual
   * between the expected and the detected centre in box sizes (the larger of the last box and the
   * detection; the smaller when `strict`), split along and across the track's motion. The expected
   * centre is the last one moved by the last velocity times Δt times the ratio of the sizes
   * (perspective). Along the motion the gate widens by half the expected travel, up to twice its size;
   * across it stays tight, so a vehicle in the next lane is not taken. The size may change by a factor
   * of 1 + `maxScaleRatePerS`·Δt (Δt at most 1 s) from the last box or from the predicted one.
   */
  private motionCost(
    track: Pick<Track, 'hits' | 'lastSeenAt'>,
    filter: BoxKalman,
    predicted: Box,
    det: Box,
    t: number,
    strict = false,
    /** The size change perspective predicts since the last sighting (perspectiveScale), if known. */
    scale?: number,
  ): number | undefined {
    const { motionGate, maxScaleRatePerS } = this.options;
    // A vehicle predicted out of the frame has left it.
    const cx = predicted.x + predicted.w / 2;
    const cy = predicted.y + predicted.h / 2;
    if (cx < 0 || cx > 1 || cy < 0 || cy > 1) return undefined;
    const dt = Math.max(0, (t - track.lastSeenAt) / 1000);
    // The size may change by the allowed factor from the last filtered box or from the predicted one:
    // in perspective a box's size does not change at a constant rate (an approaching vehicle grows ever
    // faster, a receding one shrinks ever more slowly).
    const { box: last, velocity: v } = filter.state;
    const sizeRatio = (b: Box) => Math.sqrt((det.w * det.h) / Math.max(b.w * b.h, 1e-8));
    const ratio = sizeRatio(last);
    const growth = Math.log(1 + maxScaleRatePerS * Math.min(dt, 1));
    // Or from the size perspective gives it now: a fast vehicle close to the camera grows by more than
    // the allowed rate between two frames, and the filter, smoothing over its whole approach, lags.
    const offPerspective = scale === undefined ? Infinity : Math.abs(Math.log(ratio / scale));
    if (
      Math.min(Math.abs(Math.log(ratio)), Math.abs(Math.log(sizeRatio(predicted))), offPerspective) > growth
    )
      return undefined;
    // Strict (re-identification after a break): residuals in units of the smaller box, not the larger.
    const pick = strict ? Math.min : Math.max;
    const w = Math.max(pick(last.w, det.w), 1e-4);
    const h = Math.max(pick(last.h, det.h), 1e-4);
    // In perspective a vehicle moving steadily along the road covers, between two frames, its image
    // displacement at the last one times the ratio of its sizes (the image distance from the vanishing
    // point goes as the size, which goes as the inverse of the distance): an approaching one goes
    // further than constant velocity says, a receding one less. The detection's size gives that ratio.
    const ex = (v.cx * dt * ratio) / w;
    const ey = (v.cy * dt * ratio) / h;
    const rx = (det.x + det.w / 2 - (last.x + last.w / 2)) / w - ex;
    const ry = (det.y + det.h / 2 - (last.y + last.h / 2)) / h - ey;
    const travel = Math.hypot(ex, ey);
    if (track.hits < 2 || travel < 0.25) {
      // No motion known yet: a little further as the box grew or shrank (perspective moves a vehicle
      // with its size); with the whole log-ratio, a camera looking down linked two cars a frame apart.
      const gate = motionGate * (1 + 0.5 * Math.abs(Math.log(ratio)));
      const r = Math.hypot(rx, ry);
      return r <= gate ? 2 + r / gate : undefined;
    }
    const along = (rx * ex + ry * ey) / travel;
    const across = (ry * ex - rx * ey) / travel;
    const gAlong = motionGate + Math.min(0.5 * travel, motionGate);
    const gAcross = motionGate * 0.6 + Math.min(0.15 * travel, motionGate * 0.4);
    const r2 = (along / gAlong) ** 2 + (across / gAcross) ** 2;
    return r2 <= 1 ? 2 + Math.sqrt(r2) : undefined;
  }

  /**
   * A newly confirmed track that starts where a recently lost confirmed track of the same class family
   * was expected to be (the motion gate, in units of the smaller box) carries on that track's lineage,
   * so the same act is never flagged twice because the tracker lost the vehicle for a moment.
   */
  private continueLineage(track: Track): void {
    const first = track.history[0]!;
    let best: { lost: LostTrack | Track; cost: number } | undefined;
    const consider = (lost: LostTrack | Track, filter: BoxKalman) => {
      if (lost.lastSeenAt >= track.firstSeenAt || !compatible(lost.label, track.label)) return;
      if (track.firstSeenAt - lost.lastSeenAt > this.options.reidentifyMs) return;
      if (leftByPerspective('last' in lost ? lost.last : lost.history, first.t)) return;
      const predicted = filter.prior(first.t).box;
      const scale = 'history' in lost ? perspectiveScale(lost.history, first.t) : undefined;
      const cost = this.motionCost(lost, filter, predicted, first.box, first.t, true, scale);
      if (cost !== undefined && (!best || cost < best.cost)) best = { lost, cost };
    };
    for (const lost of this.lost) consider(lost, lost.filter);
    for (const other of this.tracks) {
      if (other === track || !other.confirmed || other.lineage === track.lineage) continue;
      if (
        this.tracks.some(
          (tr) => tr !== other && tr.lineage === other.lineage && tr.lastSeenAt > other.lastSeenAt,
        )
      )
        continue;
      consider(other, this.filters.get(other.id)!);
    }
    if (!best) return;
    const found: LostTrack | Track = best.lost;
    track.lineage = found.lineage;
    this.lost = this.lost.filter((l) => l !== found);
  }

  private extend(track: Track, t: number, det: TrackInput): void {
    this.filters.get(track.id)!.update(det.box, t);
    track.history.push({ t, box: det.box, score: det.score });
    if (track.history.length > this.options.historyLength) track.history.shift();
    track.hits += 1;
    track.misses = 0;
    track.lastSeenAt = t;
    if (!track.confirmed && track.hits >= this.options.minHits) {
      track.confirmed = true;
      this.continueLineage(track);
    }
    // A car seen once as a truck stays the class it was seen as first (stable ids and classes).
  }
}

/**
 * Whether a vehicle approaching the camera must have left the picture by time t. In perspective a
 * vehicle's image size is inversely proportional to its distance, so at a steady speed the inverse of
 * its size changes linearly in time; and the image row of any point of it at a fixed height (the top
 * of its box) lies, below the horizon, in proportion to its size. Extrapolated from its last two
 * observations (at most 2 s apart): the vehicle has passed the camera (the inverse of its size at or
 * below zero) or its top is below the frame's bottom edge. A side cut off by the frame's edge is not
 * measured (the width of a box clipped at the bottom, the height of one clipped at a side). A
 * constant-velocity prediction (the Kalman filter's) instead puts a fast approaching car still inside
 * the frame a second after it left, where a car coming the other way appears.
 */
export function leftByPerspective(history: readonly TrackPoint[], t: number): boolean {
  const p = perspectiveExtrapolation(history, t);
  if (!p || !(p.sb > p.sa)) return false; // unknown, or not approaching
  if (p.inverse <= 0) return true;
  const { a, b, sa, sb } = p;
  const top = b.box.y + ((b.box.y - a.box.y) * (1 / p.inverse - sb)) / (sb - sa);
  return top > 1;
}

/**
 * The factor by which a vehicle's image size has grown (or shrunk) between its last observation and
 * time t if it kept its speed along the road: from its last two observations, as in leftByPerspective
 * (the inverse of the size linear in time). Undefined when the two do not tell (one observation, more
 * than 2 s apart, both sides clipped by the frame, the vehicle past the camera by t).
 */
export function perspectiveScale(history: readonly TrackPoint[], t: number): number | undefined {
  const p = perspectiveExtrapolation(history, t);
  if (!p || p.inverse <= 0) return undefined;
  return 1 / p.inverse / p.sb;
}

function perspectiveExtrapolation(history: readonly TrackPoint[], t: number) {
  const n = history.length;
  if (n < 2) return undefined;
  const a = history[n - 2]!;
  const b = history[n - 1]!;
  if (b.t <= a.t || b.t - a.t > 2000 || t <= b.t) return undefined;
  const EDGE = 0.002;
  const clippedX = (x: Box) => x.x <= EDGE || x.x + x.w >= 1 - EDGE;
  const clippedY = (x: Box) => x.y <= EDGE || x.y + x.h >= 1 - EDGE;
  const useWidth = !clippedX(a.box) && !clippedX(b.box);
  if (!useWidth && (clippedY(a.box) || clippedY(b.box))) return undefined;
  const size = (x: Box) => (useWidth ? x.w : x.h);
  const [sa, sb] = [size(a.box), size(b.box)];
  if (!(sa > 0 && sb > 0)) return undefined;
  const inverse = 1 / sb + ((1 / sb - 1 / sa) / (b.t - a.t)) * (t - b.t);
  return { a, b, sa, sb, inverse };
}

/** Whether the centre's step from a to b and the step from b to c do not point in opposite directions. */
function sameWay(a: Box, b: Box, c: Box): boolean {
  const centre = (x: Box) => ({ x: x.x + x.w / 2, y: x.y + x.h / 2 });
  const [p, q, r] = [centre(a), centre(b), centre(c)];
  return (q.x - p.x) * (r.x - q.x) + (q.y - p.y) * (r.y - q.y) >= 0;
}

/** Classes a detector commonly confuses on the same vehicle. */
function compatible(a: string, b: string): boolean {
  if (a === b) return true;
  const big = new Set(['car', 'truck', 'bus']);
  const two = new Set(['motorcycle', 'bicycle']);
  return (big.has(a) && big.has(b)) || (two.has(a) && two.has(b));
}
