import { describe, expect, it } from 'vitest';
import { decodeYolov8, type Yolov8Spec } from '../../../../detector/postprocess/yolov8.js';

describe('YOLOv8 decoding', () => {
  const spec: Yolov8Spec = { inputWidth: 16, inputHeight: 8, numClasses: 2, layout: 'attributes-first' };
  // Three anchors; per anchor cx, cy, w, h (input pixels), score0, score1.
  const anchors = [
    [4, 4, 4, 2, 0.9, 0.1], // box (2, 3)–(6, 5), class 0
    [15, 2, 6, 8, 0.2, 0.6], // box (12, −2)–(18, 6) → clipped to (12, 0)–(16, 6), class 1
    [8, 4, 2, 2, 0.3, 0.25], // under 0.5 for both classes
  ];
  // The export's layout: one row per attribute, [6, 3].
  const attributesFirst = Float32Array.from(anchors[0]!.flatMap((_, a) => anchors.map((row) => row[a]!)));
  const anchorsFirst = Float32Array.from(anchors.flat());
  const expected = [
    { classId: 0, score: expect.closeTo(0.9, 6), x1: 2, y1: 3, x2: 6, y2: 5 },
    { classId: 1, score: expect.closeTo(0.6, 6), x1: 12, y1: 0, x2: 16, y2: 6 },
  ];

  it('reads centre and size in input pixels, one score per class, clipped to the input', () => {
    expect(decodeYolov8(attributesFirst, spec, 0.5)).toEqual(expected);
  });

  it('reads the transposed (anchors-first) layout the same way', () => {
    expect(decodeYolov8(anchorsFirst, { ...spec, layout: 'anchors-first' }, 0.5)).toEqual(expected);
  });

  it('keeps only the classes of the mask and honours the threshold', () => {
    expect(decodeYolov8(attributesFirst, spec, 0.5, Uint8Array.from([0, 1]))).toEqual([expected[1]]);
    expect(decodeYolov8(attributesFirst, spec, 0.28).map((c) => [c.classId, c.score])).toEqual([
      [0, expect.closeTo(0.9, 6)],
      [0, expect.closeTo(0.3, 6)],
      [1, expect.closeTo(0.6, 6)],
    ]);
  });

  it('refuses a tensor that is not a whole number of anchors', () => {
    expect(() => decodeYolov8(attributesFirst.subarray(1), spec, 0.5)).toThrow(/17 values/);
  });
});
