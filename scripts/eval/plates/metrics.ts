/** Scoring of plate readings: exact match on the compact form, edit-distance character accuracy,
 * accuracy against coverage by confidence, plate-box matching at an IoU threshold. */
import type { PixelBox } from '../../../detector/plates/image.js';
import { iou } from '../../../detector/plates/image.js';
import { comparablePlate } from '../../../detector/plates/plate-grammar.js';

/** Levenshtein distance. */
export function editDistance(a: string, b: string): number {
  const x = [...a];
  const y = [...b];
  let prev = Array.from({ length: y.length + 1 }, (_, j) => j);
  for (let i = 1; i <= x.length; i++) {
    const cur = [i];
    for (let j = 1; j <= y.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (x[i - 1] === y[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[y.length]!;
}

export interface Scored {
  label: string;
  read: string;
  confidence: number;
  exact: boolean;
  /** Edit distance between the comparable forms. */
  distance: number;
  /** Length of the comparable label. */
  length: number;
}

export function score(label: string, read: string, confidence: number): Scored {
  const l = comparablePlate(label);
  const r = comparablePlate(read);
  return { label: l, read: r, confidence, exact: l === r, distance: editDistance(l, r), length: l.length };
}

export interface Summary {
  n: number;
  exact: number;
  /** 1 − Σ edit distance / Σ label length (at least 0). */
  charAccuracy: number;
}

const round = (v: number, d = 4) => Math.round(v * 10 ** d) / 10 ** d;

export function summarise(items: readonly Scored[]): Summary {
  if (items.length === 0) return { n: 0, exact: 0, charAccuracy: 0 };
  const exact = items.filter((s) => s.exact).length / items.length;
  const chars = items.reduce((a, s) => a + s.length, 0);
  const dist = items.reduce((a, s) => a + s.distance, 0);
  return {
    n: items.length,
    exact: round(exact),
    charAccuracy: round(chars === 0 ? 0 : Math.max(0, 1 - dist / chars)),
  };
}

export function groupBy<T>(items: readonly T[], key: (t: T) => string): Record<string, T[]> {
  const out: Record<string, T[]> = {};
  for (const it of items) (out[key(it)] ??= []).push(it);
  return out;
}

export interface CoveragePoint {
  threshold: number;
  /** Share of readings at or above the threshold. */
  coverage: number;
  /** Exact-match rate among them. */
  exact: number;
  n: number;
}

export const COVERAGE_THRESHOLDS = [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99];

export function coverageCurve(items: readonly Scored[], thresholds = COVERAGE_THRESHOLDS): CoveragePoint[] {
  return thresholds.map((t) => {
    const kept = items.filter((s) => s.confidence >= t);
    return {
      threshold: t,
      coverage: items.length ? round(kept.length / items.length) : 0,
      exact: kept.length ? round(kept.filter((s) => s.exact).length / kept.length) : 0,
      n: kept.length,
    };
  });
}

export interface Prediction {
  box: PixelBox;
  score: number;
  text: string;
  confidence: number;
}

export interface PlateMatch {
  truth: { box: PixelBox; plate: string };
  prediction: Prediction | undefined;
  iou: number;
}

/**
 * Greedy one-to-one matching of predictions to ground-truth plates, highest IoU first; a pair counts
 * at IoU ≥ minIou.
 */
export function matchPlates(
  truths: readonly { box: PixelBox; plate: string }[],
  predictions: readonly Prediction[],
  minIou = 0.5,
): PlateMatch[] {
  const pairs: { t: number; p: number; v: number }[] = [];
  truths.forEach((t, i) =>
    predictions.forEach((p, j) => {
      const v = iou(t.box, p.box);
      if (v >= minIou) pairs.push({ t: i, p: j, v });
    }),
  );
  pairs.sort((a, b) => b.v - a.v);
  const usedT = new Set<number>();
  const usedP = new Set<number>();
  const match = new Map<number, { p: number; v: number }>();
  for (const pr of pairs) {
    if (usedT.has(pr.t) || usedP.has(pr.p)) continue;
    usedT.add(pr.t);
    usedP.add(pr.p);
    match.set(pr.t, { p: pr.p, v: pr.v });
  }
  return truths.map((t, i) => {
    const m = match.get(i);
    return { truth: t, prediction: m ? predictions[m.p] : undefined, iou: m ? m.v : 0 };
  });
}

export interface DetectionSummary {
  images: number;
  n: number;
  /** Share of plates with a prediction at IoU ≥ 0.5. */
  recall: number;
  /** Share of plates whose matched prediction reads exactly the plate. */
  exact: number;
  /** Share of images whose best-scored prediction reads one of its plates exactly. */
  exactTop1: number;
  /** Predictions that match no plate, per image (plates nobody annotated count here too). */
  unmatchedPerImage: number;
  charAccuracy: number;
}

export interface ImageOutcome {
  matches: PlateMatch[];
  predictions: Prediction[];
}

export function summariseDetection(outcomes: readonly ImageOutcome[]): DetectionSummary {
  const matches = outcomes.flatMap((o) => o.matches);
  const n = matches.length;
  const found = matches.filter((m) => m.prediction).length;
  const exact = matches.filter(
    (m) => m.prediction && comparablePlate(m.prediction.text) === comparablePlate(m.truth.plate),
  ).length;
  let top1 = 0;
  let unmatched = 0;
  let dist = 0;
  let chars = 0;
  for (const o of outcomes) {
    const best = [...o.predictions].sort((a, b) => b.score - a.score)[0];
    if (best && o.matches.some((m) => comparablePlate(m.truth.plate) === comparablePlate(best.text))) top1++;
    const used = new Set(o.matches.map((m) => m.prediction).filter(Boolean));
    unmatched += o.predictions.filter((p) => !used.has(p)).length;
    for (const m of o.matches) {
      const l = comparablePlate(m.truth.plate);
      chars += l.length;
      dist += m.prediction ? editDistance(l, comparablePlate(m.prediction.text)) : l.length;
    }
  }
  return {
    images: outcomes.length,
    n,
    recall: n ? round(found / n) : 0,
    exact: n ? round(exact / n) : 0,
    exactTop1: outcomes.length ? round(top1 / outcomes.length) : 0,
    unmatchedPerImage: outcomes.length ? round(unmatched / outcomes.length, 2) : 0,
    charAccuracy: chars ? round(Math.max(0, 1 - dist / chars)) : 0,
  };
}
