import { describe, expect, it } from 'vitest';
import { iou, nmsPerClass, type Candidate } from '../../../../detector/postprocess/nms.js';

const box = (classId: number, score: number, x1: number, y1: number, x2: number, y2: number): Candidate => ({
  classId,
  score,
  x1,
  y1,
  x2,
  y2,
});

describe('iou', () => {
  it('is intersection over union of corner boxes', () => {
    // 10×10 boxes offset by 5 in x: intersection 50, union 150.
    expect(iou(box(0, 1, 0, 0, 10, 10), box(0, 1, 5, 0, 15, 10))).toBeCloseTo(1 / 3, 12);
    expect(iou(box(0, 1, 0, 0, 10, 10), box(0, 1, 0, 0, 10, 10))).toBe(1);
  });

  it('is zero for boxes that only touch or do not meet', () => {
    expect(iou(box(0, 1, 0, 0, 10, 10), box(0, 1, 10, 0, 20, 10))).toBe(0);
    expect(iou(box(0, 1, 0, 0, 10, 10), box(0, 1, 30, 30, 40, 40))).toBe(0);
  });
});

describe('per-class NMS', () => {
  it('keeps the best box of an overlapping cluster and drops the rest', () => {
    const kept = nmsPerClass(
      [
        box(2, 0.6, 1, 1, 11, 11),
        box(2, 0.9, 0, 0, 10, 10),
        box(2, 0.7, 0, 0, 10, 9),
        box(2, 0.5, 50, 50, 60, 60),
      ],
      0.5,
    );
    expect(kept.map((k) => k.score)).toEqual([0.9, 0.5]);
  });

  it('never suppresses across classes', () => {
    const kept = nmsPerClass([box(2, 0.9, 0, 0, 10, 10), box(7, 0.8, 0, 0, 10, 10)], 0.5);
    expect(kept.map((k) => k.classId)).toEqual([2, 7]);
  });

  it('keeps a box whose overlap equals the threshold (suppresses only above it)', () => {
    // IoU exactly 1/3.
    const kept = nmsPerClass([box(0, 0.9, 0, 0, 10, 10), box(0, 0.8, 5, 0, 15, 10)], 1 / 3);
    expect(kept).toHaveLength(2);
  });

  it('orders by score, ties by input order, and caps the count', () => {
    const a = box(1, 0.5, 0, 0, 1, 1);
    const b = box(3, 0.5, 5, 5, 6, 6);
    const c = box(0, 0.7, 9, 9, 10, 10);
    expect(nmsPerClass([a, b, c], 0.5)).toEqual([c, a, b]);
    expect(nmsPerClass([a, b, c], 0.5, 2)).toEqual([c, a]);
  });
});
