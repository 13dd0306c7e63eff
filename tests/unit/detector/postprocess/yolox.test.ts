import { describe, expect, it } from 'vitest';
import { decodeYolox, type YoloxSpec } from '../../../../detector/postprocess/yolox.js';

const ln = Math.log;

describe('YOLOX decoding', () => {
  // A 16×8 input with strides 4 and 8: a 4×2 grid (rows 0–7), then a 2×1 grid (rows 8–9); 2 classes,
  // so each row is dx, dy, log w, log h, objectness, score0, score1.
  const spec: YoloxSpec = { inputWidth: 16, inputHeight: 8, numClasses: 2, strides: [4, 8] };
  const rows: number[][] = Array.from({ length: 10 }, () => [0, 0, 0, 0, 0, 0, 0]);
  // Objectness under the threshold: nothing, however sure the class.
  rows[0] = [0, 0, 0, 0, 0.2, 1, 1];
  // Sure of an object, unsure of every class: objectness × class stays under 0.3.
  rows[3] = [0, 0, 0, 0, 0.99, 0.1, 0.2];
  // Stride 4, cell (gx 2, gy 1): centre ((2 + 0.5)·4, (1 + 0.25)·4) = (10, 5), size (2·4, 1·4) = (8, 4).
  rows[6] = [0.5, 0.25, ln(2), 0, 0.8, 0.5, 0.9];
  // Stride 8, cell (gx 1, gy 0): centre (12, 4), size (3·8, 2·8) = (24, 16): clipped to the 16×8 input.
  rows[9] = [0.5, 0.5, ln(3), ln(2), 0.9, 0.5, 0.1];
  const data = Float32Array.from(rows.flat());

  it('adds the grid cell (no half-cell offset), scales by the stride and multiplies objectness by class', () => {
    const out = decodeYolox(data, spec, 0.3);
    expect(out).toHaveLength(3);
    const [a, b, c] = out;
    // Row 6, class 0: 0.8 × 0.5 = 0.4; class 1: 0.8 × 0.9 = 0.72; both on the box (6, 3)–(14, 7).
    for (const [cand, cls, score] of [
      [a, 0, 0.4],
      [b, 1, 0.72],
    ] as const) {
      expect(cand).toMatchObject({ classId: cls, score: expect.closeTo(score, 6) });
      expect(cand!.x1).toBeCloseTo(6, 5);
      expect(cand!.y1).toBeCloseTo(3, 5);
      expect(cand!.x2).toBeCloseTo(14, 5);
      expect(cand!.y2).toBeCloseTo(7, 5);
    }
    // Row 9, class 0: 0.9 × 0.5 = 0.45; box (12 ∓ 12, 4 ∓ 8) → (0, 0)–(16, 8); class 1 (0.09) dropped.
    expect(c).toMatchObject({ classId: 0, score: expect.closeTo(0.45, 6) });
    expect(c!.x1).toBeCloseTo(0, 5);
    expect(c!.y1).toBe(0);
    expect(c!.x2).toBe(16);
    expect(c!.y2).toBe(8);
  });

  it('keeps only the classes of the mask', () => {
    const out = decodeYolox(data, spec, 0.3, Uint8Array.from([0, 1]));
    expect(out.map((c) => [c.classId, c.score])).toEqual([[1, expect.closeTo(0.72, 6)]]);
  });

  it('refuses a tensor that does not fit the grids of its strides', () => {
    expect(() => decodeYolox(data.subarray(7), spec, 0.3)).toThrow(/expected 10×7 values .* got 63/);
  });
});
