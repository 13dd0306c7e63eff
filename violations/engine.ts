import { groundPoint, iou, pointInPolygon, type Box } from './geometry.js';
import { redLightRule } from './rules/red-light.rule.js';
import type { Rule, RuleCode, RuleHit } from './rules/rule.js';
import { sidewalkRule } from './rules/sidewalk.rule.js';
import { speedingRule } from './rules/speeding.rule.js';
import { stopLineRule } from './rules/stop-line.rule.js';
import { intersectionStoppingRule, noParkingRule } from './rules/stopping.rule.js';
import { wrongLaneRule } from './rules/wrong-lane.rule.js';
import { wrongWayRule } from './rules/wrong-way.rule.js';
import type { SceneConfig } from './scene-config.js';
import { SignalLampObserver } from './signal-lamps.js';
import { SignalTimeline, signalStateAt, type SignalState } from './signal-timeline.js';
import { IouTracker, type Track, type TrackerOptions, type TrackPoint } from './tracker.js';

/** Every rule, in the order they are evaluated. */
export const DEFAULT_RULES: readonly Rule[] = [
  redLightRule,
  stopLineRule,
  wrongWayRule,
  wrongLaneRule,
  speedingRule,
  noParkingRule,
  intersectionStoppingRule,
  sidewalkRule,
];

export interface EngineFrame {
  capturedAt: number;
  width: number;
  height: number;
  data: Buffer;
}

export interface EngineDetection {
  label: string;
  score: number;
  /** Pixel box in the frame. */
  box: Box;
  model: { name: string; version: string; sha256?: string };
}

export interface StillRef {
  role: 'before' | 'at' | 'after';
  frame: EngineFrame;
  /** The vehicle's box in that frame, normalised, when it was seen in it. */
  box: Box | undefined;
}

/** A violation ready for evidence: the rule's finding, the track's trajectory and the stills. */
export interface Flag {
  ruleCode: RuleCode;
  trackKey: string;
  trackId: number;
  vehicleClass: string;
  at: number;
  details: Record<string, unknown>;
  trajectory: TrackPoint[];
  stills: StillRef[];
  /**
   * Every buffered frame in which the vehicle was seen, oldest first, with its box: what plate reading
   * draws on (several frames per track, so one misread does not decide the plate).
   */
  sightings: StillRef[];
  models: { name: string; version: string; sha256?: string }[];
}

/**
 * Codes that cover a lesser one for the same vehicle: crossing on red and going on (red_light) includes
 * having stood past the line on red (stop_line) on the way, so the lesser code is dropped when both are
 * met, whichever is established first while its flag is still pending (its "after" still not yet taken).
 */
const SUPERSEDES: Readonly<Record<string, readonly string[]>> = { red_light: ['stop_line'] };
const SUPERSEDED_BY: Readonly<Record<string, readonly string[]>> = Object.fromEntries(
  Object.entries(SUPERSEDES).flatMap(([major, minors]) => minors.map((m) => [m, [major]])),
);

export interface EngineOptions {
  rules?: Rule[];
  tracker?: Partial<TrackerOptions>;
  /** Frames kept for evidence (covering at least the "before" window). */
  bufferMs?: number;
  /** How long after the act the "after" still is taken. */
  afterMs?: number;
  beforeMs?: number;
  /**
   * A flagged vehicle still coming closer, and smaller than `plateHeight`, keeps its flag waiting up to
   * this long after the act, so that its plate is read on its largest sightings: a vehicle flagged far
   * away (a lane rule established in a zoom window) otherwise has only sightings too small to read.
   * The stills stay at the act; the later sightings only serve the plate.
   */
  plateWaitMs?: number;
  /** A vehicle this tall (fraction of the frame height) is large enough for its plate to be read. */
  plateHeight?: number;
  /** Where external and observed signal phases are recorded; default a new one. */
  signals?: SignalTimeline;
}

/**
 * The violation engine of one camera: detections → tracks → rules → flags with before/at/after stills.
 * Each (vehicle, rule code) is flagged at most once: per track lineage (a track that continues one lost
 * a moment before is the same vehicle), and the database unique key makes it hold across processes.
 * Signal groups of kind `observed` are read from each frame's lamps before the rules run; groups of
 * kind `external` are fed through `signals.record(group, phase, at)`.
 */
export class ViolationEngine {
  /** The signal phases reported for this camera's groups (external feed and lamp observations). */
  readonly signals: SignalTimeline;
  private readonly tracker: IouTracker;
  private readonly rules: readonly Rule[];
  private observers: SignalLampObserver[] = [];
  private readonly frames: EngineFrame[] = [];
  private readonly flagged = new Set<string>();
  private readonly pending: { hit: RuleHit; track: Track; models: EngineDetection['model'][] }[] = [];
  private readonly bufferMs: number;
  private readonly afterMs: number;
  private readonly beforeMs: number;
  private readonly plateWaitMs: number;
  private readonly plateHeight: number;

  constructor(
    private scene: SceneConfig,
    options: EngineOptions = {},
  ) {
    // Detections at the scene's threshold start tracks; weaker ones (down to half) only extend them.
    this.tracker = new IouTracker({
      highScore: scene.minScore,
      lowScore: scene.minScore / 2,
      ...options.tracker,
    });
    this.rules = options.rules ?? DEFAULT_RULES;
    this.afterMs = options.afterMs ?? 1000;
    this.beforeMs = options.beforeMs ?? 1000;
    this.plateWaitMs = options.plateWaitMs ?? 3000;
    this.plateHeight = options.plateHeight ?? 0.2;
    this.bufferMs =
      options.bufferMs ??
      Math.max(4000, this.beforeMs + this.afterMs + 2000, this.beforeMs + this.plateWaitMs + 1000);
    this.signals = options.signals ?? new SignalTimeline();
    this.observers = makeObservers(scene);
  }

  setScene(scene: SceneConfig): void {
    this.scene = scene;
    this.observers = makeObservers(scene);
  }

  signalAt(group: string, atMs: number): SignalState {
    return signalStateAt(this.scene.signals[group], atMs, this.signals, group);
  }

  /** Feeds one analysed frame; returns the flags whose "after" still is now available. */
  update(frame: EngineFrame, detections: readonly EngineDetection[]): Flag[] {
    const t = frame.capturedAt;
    this.frames.push(frame);
    while (this.frames.length > 1 && t - this.frames[0]!.capturedAt > this.bufferMs) this.frames.shift();
    for (const observer of this.observers) {
      for (const sample of observer.observe(frame, t)) {
        this.signals.recordObserved(observer.group, sample.phase, sample.at);
      }
    }

    const inputs = suppressCrossClass(
      detections
        .filter((d) => d.score >= this.scene.minScore * 0.5)
        .map((d) => ({
          label: d.label,
          score: d.score,
          box: {
            x: d.box.x / frame.width,
            y: d.box.y / frame.height,
            w: d.box.w / frame.width,
            h: d.box.h / frame.height,
          },
        })),
    )
      .filter((d) => this.scene.vehicleClasses.includes(d.label as never))
      .filter(
        (d) =>
          !this.scene.ignoreMasks.some((mask) => pointInPolygon(groundPoint(d.box, this.scene.anchor), mask)),
      );
    const tracks = this.tracker.update(t, inputs);
    const models = uniqueModels(detections);

    const ctx = { scene: this.scene, signalAt: (g: string, at: number) => this.signalAt(g, at) };
    for (const track of tracks) {
      if (!track.confirmed || track.lastSeenAt !== t) continue;
      for (const rule of this.rules) {
        const codes = rule.codes ?? [rule.code];
        if (codes.every((code) => this.flagged.has(`${track.lineage}:${code}`))) continue;
        const hit = rule.evaluate(track, ctx);
        if (!hit) continue;
        // Per lineage: a track that continues one lost a moment ago is the same vehicle, and its act
        // was flagged already.
        const key = `${track.lineage}:${hit.ruleCode}`;
        if (this.flagged.has(key)) continue;
        this.flagged.add(key);
        // One act, one code: a vehicle that ran the red is not also fined for standing past the line.
        if (SUPERSEDED_BY[hit.ruleCode]?.some((c) => this.flagged.has(`${track.lineage}:${c}`))) continue;
        for (const lesser of SUPERSEDES[hit.ruleCode] ?? []) {
          const i = this.pending.findIndex(
            (p) => p.track.lineage === track.lineage && p.hit.ruleCode === lesser,
          );
          if (i >= 0) this.pending.splice(i, 1);
        }
        this.pending.push({ hit: this.withSignalRecord(hit), track, models });
      }
    }
    const live = this.tracker.lineages;
    // Lineages are never reused, so the keys of one no track can carry on any more can go.
    for (const key of this.flagged) if (!live.has(Number(key.split(':')[0]))) this.flagged.delete(key);

    const ready: Flag[] = [];
    for (let i = this.pending.length - 1; i >= 0; i--) {
      const p = this.pending[i]!;
      if (t - p.hit.at < this.afterMs) continue;
      if (t - p.hit.at < this.plateWaitMs && approachingSmall(p.track, t, this.plateHeight)) continue;
      this.pending.splice(i, 1);
      ready.push(this.toFlag(p.hit, p.track, p.models));
    }
    return ready;
  }

  /** Every flag still waiting (for its "after" still or a larger sighting), now: at shutdown. */
  flush(): Flag[] {
    const ready = this.pending.map((p) => this.toFlag(p.hit, p.track, p.models));
    this.pending.length = 0;
    return ready;
  }

  /**
   * For a phase read from a timeline (not a fixed plan), the evidence carries the phase changes of the
   * minute before the act, so a reviewer sees how the red came about.
   */
  private withSignalRecord(hit: RuleHit): RuleHit {
    const group = hit.details['signalGroup'];
    if (typeof group !== 'string') return hit;
    const plan = this.scene.signals[group];
    if (!plan || plan.kind === 'fixed-time') return hit;
    const changes = this.signals
      .changes(group, hit.at - 60_000, hit.at)
      .map((c) => ({ phase: c.phase, from: new Date(c.from).toISOString() }));
    return { ...hit, details: { ...hit.details, signalChanges: changes } };
  }

  private toFlag(hit: RuleHit, track: Track, models: EngineDetection['model'][]): Flag {
    const before = this.frameNear(hit.at - this.beforeMs, 'atOrBefore');
    // "At": the first frame after the act in which the vehicle was seen (so its box is drawn on it).
    const seenAfter = track.history.find((h) => h.t >= hit.at)?.t;
    const at = this.frames.find((f) => f.capturedAt === seenAfter) ?? this.frameNear(hit.at, 'atOrAfter');
    const after = this.frameNear(hit.at + this.afterMs, 'atOrAfter') ?? this.frames[this.frames.length - 1]!;
    const boxAt = (f: EngineFrame | undefined) => track.history.find((h) => h.t === f?.capturedAt)?.box;
    const stills: StillRef[] = [];
    if (before) stills.push({ role: 'before', frame: before, box: boxAt(before) });
    if (at) stills.push({ role: 'at', frame: at, box: boxAt(at) });
    stills.push({ role: 'after', frame: after, box: boxAt(after) });
    const sightings: StillRef[] = [];
    for (const f of this.frames) {
      const box = boxAt(f);
      if (box) sightings.push({ role: f.capturedAt < hit.at ? 'before' : 'after', frame: f, box });
    }
    return {
      ruleCode: hit.ruleCode,
      trackKey: `${track.firstSeenAt.toString(36)}-${track.id}`,
      trackId: track.id,
      vehicleClass: track.label,
      at: hit.at,
      details: hit.details,
      trajectory: track.history.map((h) => ({ ...h })),
      stills,
      sightings,
      models,
    };
  }

  private frameNear(t: number, mode: 'atOrBefore' | 'atOrAfter'): EngineFrame | undefined {
    if (mode === 'atOrBefore') {
      let best: EngineFrame | undefined;
      for (const f of this.frames) if (f.capturedAt <= t) best = f;
      return best ?? this.frames[0];
    }
    return this.frames.find((f) => f.capturedAt >= t);
  }
}

/** Whether the track was seen at t, still smaller than `height` of the frame, and growing (approaching). */
function approachingSmall(track: Track, t: number, height: number): boolean {
  const h = track.history;
  const last = h[h.length - 1];
  const prev = h[h.length - 2];
  if (!last || !prev || track.lastSeenAt !== t || last.box.h >= height) return false;
  return last.box.w * last.box.h > prev.box.w * prev.box.h * 1.05;
}

/**
 * The detector suppresses overlaps per class, so one vehicle can come back as both "car" and "truck".
 * Keep the best-scoring label of boxes that overlap this much, so a vehicle yields one track.
 */
export function suppressCrossClass<T extends { score: number; box: Box }>(
  detections: T[],
  overlap = 0.7,
): T[] {
  const sorted = [...detections].sort((a, b) => b.score - a.score);
  const kept: T[] = [];
  for (const d of sorted) if (!kept.some((k) => iou(k.box, d.box) >= overlap)) kept.push(d);
  return kept;
}

function makeObservers(scene: SceneConfig): SignalLampObserver[] {
  const out: SignalLampObserver[] = [];
  for (const [group, plan] of Object.entries(scene.signals)) {
    if (plan.kind !== 'observed') continue;
    const heads = scene.signalHeads.filter((h) => h.group === group);
    if (heads.length > 0)
      out.push(new SignalLampObserver(group, heads, { confirmFrames: plan.confirmFrames }));
  }
  return out;
}

function uniqueModels(detections: readonly EngineDetection[]): EngineDetection['model'][] {
  const seen = new Map<string, EngineDetection['model']>();
  for (const d of detections) seen.set(`${d.model.name}@${d.model.version}`, d.model);
  return [...seen.values()];
}
