import { describe, expect, it } from 'vitest';
import {
  decodeNanodet,
  distributionExpectation,
  type NanodetSpec,
} from '../../../../detector/postprocess/nanodet.js';

const ln = Math.log;

describe('GFL distribution', () => {
  it('is the expectation of the softmax over the bins', () => {
    // softmax(0, ln 2, ln 3) = (1, 2, 3) / 6 → 0·1/6 + 1·2/6 + 2·3/6 = 8/6.
    expect(distributionExpectation(Float32Array.from([0, ln(2), ln(3)]), 0, 3)).toBeCloseTo(4 / 3, 6);
    // Uniform logits → the middle of 0..2.
    expect(distributionExpectation(Float32Array.from([9, 5, 5, 5]), 1, 3)).toBeCloseTo(1, 12);
    // Shift invariance and no overflow for large logits.
    expect(distributionExpectation(Float32Array.from([1000, 1000 + ln(2), 1000 + ln(3)]), 0, 3)).toBeCloseTo(
      4 / 3,
      4,
    );
  });
});

describe('NanoDet decoding', () => {
  // A 16×8 input, one stride-8 level: 2 columns × 1 row of cells, 2 classes, regMax 2 (3 bins per side).
  const spec: NanodetSpec = { inputWidth: 16, inputHeight: 8, numClasses: 2, regMax: 2, centerOffset: 0.5 };
  const uniform = [0, 0, 0]; // expectation 1
  const oneThird = [0, ln(2), ln(3)]; // expectation 4/3
  const zero = [50, 0, 0]; // expectation ≈ 0
  // prettier-ignore
  const scores = Float32Array.from([
    0.9, 0.2, // cell 0 (centre 4, 4): class 0
    0.6, 0.7, // cell 1 (centre 12, 4): both classes
  ]);
  // prettier-ignore
  const distances = Float32Array.from([
    ...uniform, ...zero, ...oneThird, ...uniform, // cell 0: left 1, top 0, right 4/3, bottom 1 (× stride 8)
    ...zero, ...oneThird, ...uniform, ...zero, // cell 1: left 0, top 4/3, right 1, bottom 0
  ]);
  const levels = [{ stride: 8, scores, distances }];

  it('turns distances × stride around the cell centre into boxes, clipped to the input', () => {
    const out = decodeNanodet(levels, spec, 0.5);
    expect(out).toHaveLength(3);
    const [a, b, c] = out;
    // cell 0: x1 = 4 − 8 = −4 → 0, y1 = 4 − 0 = 4, x2 = 4 + 32/3, y2 = 4 + 8 = 12 → 8.
    expect(a).toMatchObject({ classId: 0, score: expect.closeTo(0.9, 6) });
    expect(a!.x1).toBe(0);
    expect(a!.y1).toBeCloseTo(4, 6);
    expect(a!.x2).toBeCloseTo(4 + 32 / 3, 5);
    expect(a!.y2).toBe(8);
    // cell 1: x1 = 12, y1 = 4 − 32/3 → 0, x2 = 12 + 8 = 20 → 16, y2 = 4; one box shared by both classes.
    for (const [cand, cls, score] of [
      [b, 0, 0.6],
      [c, 1, 0.7],
    ] as const) {
      expect(cand).toMatchObject({ classId: cls, score: expect.closeTo(score, 6) });
      expect(cand!.x1).toBeCloseTo(12, 6);
      expect(cand!.y1).toBe(0);
      expect(cand!.x2).toBe(16);
      expect(cand!.y2).toBeCloseTo(4, 6);
    }
  });

  it('drops scores under the threshold and classes outside the mask', () => {
    expect(decodeNanodet(levels, spec, 0.65).map((c) => [c.classId, c.score.toFixed(1)])).toEqual([
      [0, '0.9'],
      [1, '0.7'],
    ]);
    expect(decodeNanodet(levels, spec, 0.5, Uint8Array.from([0, 1])).map((c) => c.classId)).toEqual([1]);
  });

  it('uses the NanoDet-Plus centre (offset 0) when the card says so', () => {
    const [a] = decodeNanodet(levels, { ...spec, centerOffset: 0 }, 0.85);
    // centre (0, 0): x2 = 32/3, y2 = 8.
    expect(a!.x2).toBeCloseTo(32 / 3, 5);
    expect(a!.y2).toBeCloseTo(8, 6);
  });

  it('lays a non-square input (384×224, nanodet-coco/3) out per axis: 48×28, 24×14 and 12×7 cells', () => {
    const wide: NanodetSpec = {
      inputWidth: 384,
      inputHeight: 224,
      numClasses: 1,
      regMax: 2,
      centerOffset: 0.5,
    };
    const grids = [
      { stride: 8, cols: 48, rows: 28 },
      { stride: 16, cols: 24, rows: 14 },
      { stride: 32, cols: 12, rows: 7 },
    ];
    // Per level, one scoring cell: column 5, row rows − 2 (so a transposed grid puts it elsewhere).
    const wideLevels = grids.map(({ stride, cols, rows }) => {
      const cells = cols * rows;
      const s = new Float32Array(cells);
      s[(rows - 2) * cols + 5] = 0.8;
      const d = new Float32Array(cells * 4 * 3);
      for (let i = 0; i < cells * 4; i++) d.set(zero, i * 3); // every distance ≈ 0: a point box
      return { stride, scores: s, distances: d };
    });
    const out = decodeNanodet(wideLevels, wide, 0.5);
    expect(out).toHaveLength(3);
    for (const [i, { stride, rows }] of grids.entries()) {
      const cx = 5.5 * stride;
      const cy = (rows - 2 + 0.5) * stride;
      expect(out[i]!.x1).toBeCloseTo(cx, 3);
      expect(out[i]!.x2).toBeCloseTo(cx, 3);
      expect(out[i]!.y1).toBeCloseTo(cy, 3);
      expect(out[i]!.y2).toBeCloseTo(cy, 3);
    }
    // Read as a portrait 224×384 input (same cell counts) the same cell is elsewhere: the axes matter.
    const [tall] = decodeNanodet(wideLevels, { ...wide, inputWidth: 224, inputHeight: 384 }, 0.5);
    expect(tall!.x1).not.toBeCloseTo(out[0]!.x1, 0);
    // A square input's grid does not fit these tensors.
    expect(() => decodeNanodet(wideLevels, { ...wide, inputWidth: 320, inputHeight: 320 }, 0.5)).toThrow(
      /stride 8: expected 1600×1 scores/,
    );
  });

  it('rejects tensors that do not match the grid', () => {
    expect(() => decodeNanodet([{ stride: 4, scores, distances }], spec, 0.5)).toThrow(
      /stride 4: expected 8×2 scores/,
    );
  });
});
