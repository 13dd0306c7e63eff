/**
 * Greedy non-maximum suppression. Boxes are corner form in any one pixel space; scores sort
 * descending, ties broken by input order so that results are deterministic.
 */
import type { Box } from '../preprocess.js';

export interface Candidate extends Box {
  classId: number;
  score: number;
}

export function area(b: Box): number {
  return Math.max(0, b.x2 - b.x1) * Math.max(0, b.y2 - b.y1);
}

export function iou(a: Box, b: Box): number {
  const w = Math.min(a.x2, b.x2) - Math.max(a.x1, b.x1);
  const h = Math.min(a.y2, b.y2) - Math.max(a.y1, b.y1);
  if (w <= 0 || h <= 0) return 0;
  const inter = w * h;
  const union = area(a) + area(b) - inter;
  return union > 0 ? inter / union : 0;
}

function byScore<T extends Candidate>(items: readonly T[]): T[] {
  return items
    .map((c, i) => ({ c, i }))
    .sort((p, q) => q.c.score - p.c.score || p.i - q.i)
    .map((p) => p.c);
}

/** Keeps, within each class, the best box of every cluster overlapping by more than `iouThreshold`. */
export function nmsPerClass<T extends Candidate>(
  candidates: readonly T[],
  iouThreshold: number,
  maxDetections = Infinity,
): T[] {
  const byClass = new Map<number, T[]>();
  for (const c of candidates) {
    const list = byClass.get(c.classId);
    if (list) list.push(c);
    else byClass.set(c.classId, [c]);
  }
  const kept: T[] = [];
  for (const list of byClass.values()) {
    const sorted = byScore(list);
    const alive = new Uint8Array(sorted.length).fill(1);
    for (let i = 0; i < sorted.length; i++) {
      if (!alive[i]) continue;
      const a = sorted[i]!;
      kept.push(a);
      for (let j = i + 1; j < sorted.length; j++) {
        if (alive[j] && iou(a, sorted[j]!) > iouThreshold) alive[j] = 0;
      }
    }
  }
  return byScore(kept).slice(0, maxDetections);
}
