import type { Point } from '../../../violations/geometry.js';
import type { RuleContext } from '../../../violations/rules/rule.js';
import { parseSceneConfig, type SceneConfig } from '../../../violations/scene-config.js';
import type { SignalState } from '../../../violations/signal-timeline.js';
import type { Track } from '../../../violations/tracker.js';

/** Test fixtures for the rules: tracks drawn from anchor paths, and rule contexts. */

export const T0 = Date.UTC(2026, 10, 22, 3, 0, 0);

/**
 * A confirmed track whose anchor (bottom centre of a w×h box, or its centre with `center`) follows
 * `anchors`, one observation every `stepMs` from `t0`.
 */
export function trackAlong(
  anchors: readonly Point[],
  opts: {
    label?: string;
    t0?: number;
    stepMs?: number;
    w?: number;
    h?: number;
    anchor?: 'bottom-center' | 'center';
    id?: number;
  } = {},
): Track {
  const { label = 'car', t0 = T0, stepMs = 500, w = 0.1, h = 0.1, anchor = 'bottom-center', id = 7 } = opts;
  const history = anchors.map((p, i) => ({
    t: t0 + i * stepMs,
    box: { x: p.x - w / 2, y: anchor === 'center' ? p.y - h / 2 : p.y - h, w, h },
    score: 0.9,
  }));
  return {
    id,
    label,
    history,
    hits: history.length,
    misses: 0,
    firstSeenAt: history[0]?.t ?? t0,
    lastSeenAt: history[history.length - 1]?.t ?? t0,
    confirmed: true,
    lineage: id,
  };
}

/** n points evenly from a to b inclusive. */
export function path(a: Point, b: Point, n: number): Point[] {
  return Array.from({ length: n }, (_, i) => ({
    x: a.x + ((b.x - a.x) * i) / (n - 1),
    y: a.y + ((b.y - a.y) * i) / (n - 1),
  }));
}

/** The same point n times. */
export function still(p: Point, n: number): Point[] {
  return Array.from({ length: n }, () => ({ ...p }));
}

export function ctxFor(
  scene: unknown,
  signalAt: (group: string, at: number) => SignalState = () => ({
    phase: 'unknown',
    sincePhaseStartMs: 0,
    source: 'none',
  }),
): RuleContext & { scene: SceneConfig } {
  return { scene: parseSceneConfig(scene), signalAt };
}

/** A signal that is `phase` at every instant, for `sinceMs` already. */
export function always(phase: SignalState['phase'], sinceMs = 10_000): () => SignalState {
  return () => ({ phase, sincePhaseStartMs: sinceMs, source: 'fixed-time', startObserved: true });
}

/** A square polygon. */
export function square(x0: number, y0: number, x1: number, y1: number): Point[] {
  return [
    { x: x0, y: y0 },
    { x: x1, y: y0 },
    { x: x1, y: y1 },
    { x: x0, y: y1 },
  ];
}
