import { groundPoint, type Box, type Point } from '../geometry.js';
import type { SceneConfig, VehicleClass } from '../scene-config.js';
import type { Track, TrackPoint } from '../tracker.js';

/** Helpers shared by the rules: where a vehicle is, and runs of observations that satisfy a test. */

export function anchorOf(box: Box, scene: Pick<SceneConfig, 'anchor'>): Point {
  return groundPoint(box, scene.anchor);
}

/** Whether the scene enforces rules on this track's class at all. */
export function enforced(track: Pick<Track, 'label'>, scene: Pick<SceneConfig, 'vehicleClasses'>): boolean {
  return scene.vehicleClasses.includes(track.label as VehicleClass);
}

/** The sanction table's class family: Decree 168 Art 6 (cars and other automobiles) or Art 7 (motorbikes). */
export function classFamily(label: string): 'car' | 'motorbike' | undefined {
  if (label === 'car' || label === 'truck' || label === 'bus') return 'car';
  if (label === 'motorcycle') return 'motorbike';
  return undefined;
}

/**
 * The start index of the run of observations at the end of the history that all pass `test`, with no
 * two consecutive ones further apart than `maxGapMs`; undefined when the newest one fails.
 */
export function trailingRun(
  history: readonly TrackPoint[],
  test: (p: TrackPoint, i: number) => boolean,
  maxGapMs: number,
): number | undefined {
  let i = history.length - 1;
  if (i < 0 || !test(history[i]!, i)) return undefined;
  while (i > 0 && history[i]!.t - history[i - 1]!.t <= maxGapMs && test(history[i - 1]!, i - 1)) i--;
  return i;
}

/**
 * The start of the trailing run in which the vehicle stands still: every anchor within `drift` box
 * widths (x) and heights (y) of the newest one, each also passing `test`.
 */
export function stationaryRun(
  history: readonly TrackPoint[],
  scene: Pick<SceneConfig, 'anchor'>,
  drift: number,
  maxGapMs: number,
  test: (p: TrackPoint) => boolean = () => true,
): number | undefined {
  const last = history[history.length - 1];
  if (!last) return undefined;
  const ref = anchorOf(last.box, scene);
  const dx = drift * last.box.w;
  const dy = drift * last.box.h;
  return trailingRun(
    history,
    (p) => {
      const a = anchorOf(p.box, scene);
      return Math.abs(a.x - ref.x) <= dx && Math.abs(a.y - ref.y) <= dy && test(p);
    },
    maxGapMs,
  );
}

export function iso(t: number): string {
  return new Date(t).toISOString();
}

export function round(v: number, digits = 4): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

export function roundPoint(p: Point): Point {
  return { x: round(p.x), y: round(p.y) };
}
