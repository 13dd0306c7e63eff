import { describe, expect, it } from 'vitest';
import { applyHomography, fitHomography, isConvexQuad } from '../../../violations/homography.js';

describe('ground homography', () => {
  // A 3.5 m × 20 m stretch of lane seen in perspective: narrower and shorter far away (top).
  const image = [
    { x: 0.45, y: 0.3 },
    { x: 0.55, y: 0.3 },
    { x: 0.7, y: 0.9 },
    { x: 0.3, y: 0.9 },
  ];
  const ground = [
    { x: 0, y: 20 },
    { x: 3.5, y: 20 },
    { x: 3.5, y: 0 },
    { x: 0, y: 0 },
  ];

  it('maps the four calibration points exactly', () => {
    const h = fitHomography(image, ground)!;
    for (const [i, p] of image.entries()) {
      const g = applyHomography(h, p)!;
      expect(g.x).toBeCloseTo(ground[i]!.x, 9);
      expect(g.y).toBeCloseTo(ground[i]!.y, 9);
    }
  });

  it('compresses the far part of the road (perspective)', () => {
    // The far edge looks 4× narrower, so it is 4× as deep: halfway up the image, 1/depth is halfway
    // between 1 and 1/4 of the near edge's, depth 1.6× it, which is 4 m into the 20 m stretch.
    const h = fitHomography(image, ground)!;
    const g = applyHomography(h, { x: 0.5, y: 0.6 })!;
    expect(g.x).toBeCloseTo(1.75, 6);
    expect(g.y).toBeCloseTo(4, 6);
  });

  it('refuses three points in a line', () => {
    const bad = [image[0]!, { x: 0.5, y: 0.3 }, image[1]!, image[2]!];
    expect(fitHomography(bad, ground)).toBeUndefined();
  });

  it('tells a convex quadrilateral from a crossed one', () => {
    expect(isConvexQuad(image)).toBe(true);
    expect(isConvexQuad([image[0]!, image[2]!, image[1]!, image[3]!])).toBe(false);
  });
});
