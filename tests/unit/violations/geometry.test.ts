import { describe, expect, it } from 'vitest';
import { iou, pointInPolygon, segmentCrossing, sideOf } from '../../../violations/geometry.js';

describe('geometry', () => {
  it('finds where a path crosses a line, as a fraction of the path', () => {
    expect(
      segmentCrossing({ x: 0.5, y: 0.2 }, { x: 0.5, y: 0.6 }, { x: 0, y: 0.5 }, { x: 1, y: 0.5 }),
    ).toBeCloseTo(0.75);
  });

  it('reports no crossing for a path that stops short of the line', () => {
    expect(
      segmentCrossing({ x: 0.5, y: 0.2 }, { x: 0.5, y: 0.49 }, { x: 0, y: 0.5 }, { x: 1, y: 0.5 }),
    ).toBeUndefined();
  });

  it('reports no crossing for a path beside the end of the line', () => {
    expect(
      segmentCrossing({ x: 0.9, y: 0.2 }, { x: 0.9, y: 0.8 }, { x: 0, y: 0.5 }, { x: 0.8, y: 0.5 }),
    ).toBeUndefined();
  });

  it('tells the sides of a line apart', () => {
    const a = { x: 0, y: 0.5 };
    const b = { x: 1, y: 0.5 };
    expect(sideOf(a, b, { x: 0.5, y: 0.9 })).toBe(-sideOf(a, b, { x: 0.5, y: 0.1 }));
    expect(sideOf(a, b, { x: 0.3, y: 0.5 })).toBe(0);
  });

  it('computes intersection over union', () => {
    expect(iou({ x: 0, y: 0, w: 2, h: 2 }, { x: 1, y: 0, w: 2, h: 2 })).toBeCloseTo(2 / 6);
    expect(iou({ x: 0, y: 0, w: 1, h: 1 }, { x: 5, y: 5, w: 1, h: 1 })).toBe(0);
  });

  it('tests points against a polygon', () => {
    const square = [
      { x: 0.1, y: 0.1 },
      { x: 0.4, y: 0.1 },
      { x: 0.4, y: 0.4 },
      { x: 0.1, y: 0.4 },
    ];
    expect(pointInPolygon({ x: 0.2, y: 0.2 }, square)).toBe(true);
    expect(pointInPolygon({ x: 0.5, y: 0.2 }, square)).toBe(false);
  });
});
