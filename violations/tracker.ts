import { iou, type Box } from './geometry.js';

/** A detection in normalised frame coordinates. */
export interface TrackInput {
  label: string;
  score: number;
  box: Box;
}

export interface TrackPoint {
  t: number;
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
}

export interface TrackerOptions {
  /** Detections at or above this score can start tracks and match first. */
  highScore: number;
  /** Detections between lowScore and highScore only extend existing tracks (second pass). */
  lowScore: number;
  matchIou: number;
  /** A track unseen for longer than this is dropped. */
  maxAgeMs: number;
  minHits: number;
  historyLength: number;
}

export const DEFAULT_TRACKER_OPTIONS: TrackerOptions = {
  highScore: 0.45,
  lowScore: 0.2,
  matchIou: 0.2,
  maxAgeMs: 1500,
  minHits: 2,
  historyLength: 120,
};

/**
 * Multi-object tracker for one camera: constant-velocity prediction and IoU association in two passes
 * (high-score detections first, then low-score ones against the tracks still unmatched, as ByteTrack does),
 * so that a vehicle whose score dips for a frame or two keeps its id.
 */
export class IouTracker {
  private tracks: Track[] = [];
  private nextId = 1;
  private readonly options: TrackerOptions;

  constructor(options: Partial<TrackerOptions> = {}) {
    this.options = { ...DEFAULT_TRACKER_OPTIONS, ...options };
  }

  get active(): readonly Track[] {
    return this.tracks;
  }

  update(t: number, detections: readonly TrackInput[]): Track[] {
    const { highScore, lowScore, matchIou } = this.options;
    const predicted = new Map(this.tracks.map((track) => [track.id, predict(track, t)]));
    const high = detections.filter((d) => d.score >= highScore);
    const low = detections.filter((d) => d.score >= lowScore && d.score < highScore);

    const unmatchedTracks = new Set(this.tracks);
    const assign = (candidates: TrackInput[]): TrackInput[] => {
      const pairs: { track: Track; det: TrackInput; overlap: number }[] = [];
      for (const track of unmatchedTracks) {
        const box = predicted.get(track.id)!;
        for (const det of candidates) {
          if (det.label !== track.label && !compatible(det.label, track.label)) continue;
          const overlap = iou(box, det.box);
          if (overlap >= matchIou) pairs.push({ track, det, overlap });
        }
      }
      pairs.sort((a, b) => b.overlap - a.overlap);
      const usedDets = new Set<TrackInput>();
      for (const { track, det } of pairs) {
        if (!unmatchedTracks.has(track) || usedDets.has(det)) continue;
        unmatchedTracks.delete(track);
        usedDets.add(det);
        this.extend(track, t, det);
      }
      return candidates.filter((d) => !usedDets.has(d));
    };

    const unmatchedHigh = assign(high);
    assign(low);

    for (const track of unmatchedTracks) track.misses += 1;
    this.tracks = this.tracks.filter((track) => t - track.lastSeenAt <= this.options.maxAgeMs);

    for (const det of unmatchedHigh) {
      this.tracks.push({
        id: this.nextId++,
        label: det.label,
        history: [{ t, box: det.box, score: det.score }],
        hits: 1,
        misses: 0,
        firstSeenAt: t,
        lastSeenAt: t,
        confirmed: this.options.minHits <= 1,
      });
    }
    return this.tracks;
  }

  private extend(track: Track, t: number, det: TrackInput): void {
    track.history.push({ t, box: det.box, score: det.score });
    if (track.history.length > this.options.historyLength) track.history.shift();
    track.hits += 1;
    track.misses = 0;
    track.lastSeenAt = t;
    if (track.hits >= this.options.minHits) track.confirmed = true;
    // A car seen once as a truck stays the class it was seen as most; keep the first label (stable ids).
  }
}

/** Classes a detector commonly confuses on the same vehicle. */
function compatible(a: string, b: string): boolean {
  const big = new Set(['car', 'truck', 'bus']);
  const two = new Set(['motorcycle', 'bicycle']);
  return (big.has(a) && big.has(b)) || (two.has(a) && two.has(b));
}

/** Where the track's box should be at time t, moving at its last observed velocity. */
export function predict(track: Track, t: number): Box {
  const last = track.history[track.history.length - 1]!;
  const prev = track.history[track.history.length - 2];
  if (!prev || last.t === prev.t) return last.box;
  const k = (t - last.t) / (last.t - prev.t);
  return {
    x: last.box.x + (last.box.x - prev.box.x) * k,
    y: last.box.y + (last.box.y - prev.box.y) * k,
    w: last.box.w,
    h: last.box.h,
  };
}
