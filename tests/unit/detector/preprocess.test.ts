import { describe, expect, it } from 'vitest';
import {
  Preprocessor,
  boxToFrame,
  boxToModel,
  letterboxTransform,
  type PreprocessSpec,
} from '../../../detector/preprocess.js';

describe('letterbox mapping', () => {
  it('fits a 16:9 frame into a square input, centred', () => {
    const t = letterboxTransform(1920, 1080, 416, 416, true);
    expect(t).toMatchObject({ resizedWidth: 416, resizedHeight: 234, padX: 0, padY: 91 });
    expect(t.scaleX).toBeCloseTo(416 / 1920, 12);
    expect(t.scaleY).toBeCloseTo(234 / 1080, 12);
  });

  it('fits a 16:9 frame into a 16:9-ish input (nanodet-coco/3, 384×224) with thin bars, per axis', () => {
    const t = letterboxTransform(1920, 1080, 384, 224, true);
    // One scale for both axes (0.2, set by the width); 216 of the 224 rows are image.
    expect(t).toMatchObject({ resizedWidth: 384, resizedHeight: 216, padX: 0, padY: 4 });
    expect(t.scaleX).toBeCloseTo(0.2, 12);
    expect(t.scaleY).toBeCloseTo(0.2, 12);
    // A 4:3 frame is bound by the height instead: side bars.
    expect(letterboxTransform(640, 480, 384, 224, true)).toMatchObject({
      resizedWidth: 299,
      resizedHeight: 224,
      padX: 42,
      padY: 0,
    });
    expect(boxToFrame(t, { x1: 0, y1: 4, x2: 384, y2: 220 })).toEqual({ x1: 0, y1: 0, x2: 1920, y2: 1080 });
  });

  it('fits a portrait frame with side bars', () => {
    const t = letterboxTransform(480, 640, 416, 416, true);
    expect(t).toMatchObject({ resizedWidth: 312, resizedHeight: 416, padX: 52, padY: 0 });
  });

  it('maps boxes to the model input and back to the same frame pixels', () => {
    for (const [w, h] of [
      [1920, 1080],
      [640, 360],
      [480, 640],
      [333, 777],
    ] as const) {
      for (const [keep, iw, ih] of [
        [true, 416, 416],
        [false, 416, 416],
        [true, 384, 224],
        [false, 384, 224],
      ] as const) {
        const t = letterboxTransform(w, h, iw, ih, keep);
        const box = { x1: w * 0.1, y1: h * 0.25, x2: w * 0.7, y2: h * 0.9 };
        const back = boxToFrame(t, boxToModel(t, box));
        expect(back.x1).toBeCloseTo(box.x1, 9);
        expect(back.y1).toBeCloseTo(box.y1, 9);
        expect(back.x2).toBeCloseTo(box.x2, 9);
        expect(back.y2).toBeCloseTo(box.y2, 9);
      }
    }
  });

  it('puts the input corners on the frame corners and clamps what lies in the padding', () => {
    const t = letterboxTransform(1920, 1080, 416, 416, true);
    expect(boxToFrame(t, { x1: 0, y1: 91, x2: 416, y2: 325 })).toEqual({ x1: 0, y1: 0, x2: 1920, y2: 1080 });
    expect(boxToFrame(t, { x1: -5, y1: 0, x2: 500, y2: 416 })).toEqual({ x1: 0, y1: 0, x2: 1920, y2: 1080 });
  });

  it('can put the image in the top-left corner (YOLOX)', () => {
    expect(letterboxTransform(1920, 1080, 416, 416, true, 'top-left')).toMatchObject({
      padX: 0,
      padY: 0,
      resizedHeight: 234,
    });
  });

  it('stretches without letterbox', () => {
    const t = letterboxTransform(800, 400, 416, 416, false);
    expect(t).toMatchObject({
      padX: 0,
      padY: 0,
      resizedWidth: 416,
      resizedHeight: 416,
      scaleX: 0.52,
      scaleY: 1.04,
    });
  });
});

describe('pre-processing', () => {
  // BGR planes with per-channel mean/std, like NanoDet; a 4×4 input for a 2×1 frame.
  const spec: PreprocessSpec = {
    width: 4,
    height: 4,
    pixelFormat: 'BGR',
    mean: [10, 20, 30],
    std: [2, 4, 5],
    letterbox: true,
    padValue: 0,
  };
  // Two pixels: (R, G, B) = (0, 100, 200) and (50, 150, 250).
  const frame = { data: Buffer.from([0, 100, 200, 50, 150, 250]), width: 2, height: 1 };

  it('letterboxes, resizes bilinearly with half-pixel centres, reorders to BGR and normalises', () => {
    const pre = new Preprocessor(spec);
    const t = pre.run(frame);
    expect(t).toMatchObject({ resizedWidth: 4, resizedHeight: 2, padX: 0, padY: 1 });
    // Horizontal samples at x = 0, 0.25, 0.75, 1 (clamped at the edges) of the two pixels.
    const r = [0, 12.5, 37.5, 50];
    const g = [100, 112.5, 137.5, 150];
    const b = [200, 212.5, 237.5, 250];
    const plane = (values: number[], mean: number, std: number, pad: number) => [
      ...Array<number>(4).fill(pad),
      ...values.map((v) => (v - mean) / std),
      ...values.map((v) => (v - mean) / std),
      ...Array<number>(4).fill(pad),
    ];
    const expected = [...plane(b, 10, 2, -5), ...plane(g, 20, 4, -5), ...plane(r, 30, 5, -6)];
    expect(Array.from(pre.output)).toEqual(expected.map((v) => expect.closeTo(v, 5)));
  });

  it('fills a non-square input row by row (width 6, height 2: side bars of one column)', () => {
    const pre = new Preprocessor({ ...spec, width: 6, height: 2 });
    const t = pre.run(frame);
    // Scale min(6/2, 2/1) = 2: a 4×2 image, one column of padding each side.
    expect(t).toMatchObject({ resizedWidth: 4, resizedHeight: 2, padX: 1, padY: 0 });
    expect(pre.output).toHaveLength(3 * 6 * 2);
    const r = [0, 12.5, 37.5, 50];
    const g = [100, 112.5, 137.5, 150];
    const b = [200, 212.5, 237.5, 250];
    const row = (values: number[], mean: number, std: number, pad: number) => [
      pad,
      ...values.map((v) => (v - mean) / std),
      pad,
    ];
    const plane = (values: number[], mean: number, std: number, pad: number) => [
      ...row(values, mean, std, pad),
      ...row(values, mean, std, pad),
    ];
    const expected = [...plane(b, 10, 2, -5), ...plane(g, 20, 4, -5), ...plane(r, 30, 5, -6)];
    expect(Array.from(pre.output)).toEqual(expected.map((v) => expect.closeTo(v, 5)));
  });

  it('reuses its output buffer and repaints the padding when the frame size changes', () => {
    const pre = new Preprocessor({
      ...spec,
      pixelFormat: 'RGB',
      mean: [0, 0, 0],
      std: [1, 1, 1],
      padValue: 7,
    });
    const out = pre.output;
    pre.run(frame);
    expect(pre.output).toBe(out);
    expect(out[0]).toBe(7);
    expect(out[4]).toBe(0);
    // A 1×2 frame: side bars instead of top/bottom bars.
    pre.run({ data: Buffer.from([10, 20, 30, 40, 50, 60]), width: 1, height: 2 });
    expect(pre.output).toBe(out);
    // R plane: rows sampled at y = 0, 0.25, 0.75, 1 between 10 and 40, bars of 7 left and right.
    const red = [7, 10, 10, 7, 7, 17.5, 17.5, 7, 7, 32.5, 32.5, 7, 7, 40, 40, 7];
    expect(Array.from(out.subarray(0, 16))).toEqual(red.map((v) => expect.closeTo(v, 5)));
  });

  it('rejects a buffer that is not width × height × 3 bytes', () => {
    const pre = new Preprocessor(spec);
    expect(() => pre.run({ data: Buffer.alloc(5), width: 2, height: 1 })).toThrow(/needs 6 bytes, got 5/);
    expect(() => pre.run({ data: Buffer.alloc(0), width: 0, height: 1 })).toThrow(
      /not a positive integer size/,
    );
  });
});
