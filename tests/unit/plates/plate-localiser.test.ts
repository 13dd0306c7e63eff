import { describe, expect, it } from 'vitest';
import { dbBoxes } from '../../../detector/plates/db-postprocess.js';
import type { RgbImage } from '../../../detector/plates/image.js';
import { iou } from '../../../detector/plates/image.js';
import {
  PLATE_MARGIN_X,
  joinLines,
  localisePlates,
  plateOutline,
  sameLine,
  stackedRows,
} from '../../../detector/plates/plate-localiser.js';
import { textRows } from '../../../detector/plates/plate-engine.js';

/** A grey image with dark "print" stripes inside the given boxes (contrast for the localiser). */
function image(
  width: number,
  height: number,
  boxes: { x: number; y: number; w: number; h: number }[],
): RgbImage {
  const data = new Uint8Array(width * height * 3).fill(200);
  for (const b of boxes) {
    for (let y = b.y; y < b.y + b.h; y++) {
      for (let x = b.x; x < b.x + b.w; x++) {
        if ((x - b.x) % 6 < 3) data.fill(20, (y * width + x) * 3, (y * width + x) * 3 + 3);
      }
    }
  }
  return { data, width, height };
}

const box = (x: number, y: number, w: number, h: number) => ({ x, y, w, h });

describe('plate localiser', () => {
  it('joins the pieces of one line either side of an emblem', () => {
    expect(sameLine(box(100, 50, 40, 30), box(165, 52, 70, 29))).toBe(true);
    expect(sameLine(box(100, 50, 40, 30), box(260, 52, 70, 29))).toBe(false);
    expect(sameLine(box(100, 50, 40, 30), box(145, 90, 70, 29))).toBe(false);
    const joined = joinLines([
      { box: box(100, 50, 40, 30), score: 0.9 },
      { box: box(165, 52, 70, 29), score: 0.95 },
    ]);
    expect(joined).toEqual([{ box: box(100, 50, 135, 31), score: 0.95 }]);
  });

  it('groups the two rows of a 2-row plate, not a plate line and a smaller dealer line', () => {
    expect(stackedRows(box(100, 100, 90, 40), box(95, 148, 100, 42))).toBe(true);
    expect(stackedRows(box(95, 148, 100, 42), box(100, 100, 90, 40))).toBe(false);
    expect(stackedRows(box(100, 100, 120, 40), box(110, 146, 90, 18))).toBe(false);
    expect(stackedRows(box(100, 100, 90, 40), box(100, 260, 90, 40))).toBe(false);
  });

  it('finds a 2-row plate and its rows, best first, with outlines around the text', () => {
    const rows = [box(120, 100, 90, 40), box(115, 148, 100, 42)];
    const img = image(400, 300, rows);
    const plates = localisePlates(
      rows.map((b) => ({ box: b, score: 0.95 })),
      img,
    );
    expect(plates[0]!.rows).toBe(2);
    expect(plates[0]!.text).toEqual({ x: 115, y: 100, w: 100, h: 90 });
    expect(plates[0]!.box.x).toBeCloseTo(115 - PLATE_MARGIN_X * 90, 6);
    expect(plates.some((p) => p.rows === 1)).toBe(true);
  });

  it('drops blank boxes and lines of implausible shape', () => {
    const img = image(400, 300, [box(50, 50, 120, 30)]);
    const plates = localisePlates(
      [
        { box: box(50, 50, 120, 30), score: 0.9 }, // print
        { box: box(250, 50, 120, 30), score: 0.9 }, // blank: no contrast
        { box: box(50, 150, 20, 100), score: 0.9 }, // tall and thin
      ],
      img,
    );
    expect(plates).toHaveLength(1);
    expect(iou(plates[0]!.text, box(50, 50, 120, 30))).toBe(1);
  });

  it('clamps the outline to the image', () => {
    expect(plateOutline(box(0, 0, 50, 20), 60, 25)).toEqual({ x: 0, y: 0, w: 52, h: 22 });
  });

  it('picks the text rows of a plate crop: two stacked lines spanning the plate, or the largest line', () => {
    const crop = image(200, 150, []);
    const two = textRows(
      [
        { box: box(40, 10, 110, 50), score: 0.9 },
        { box: box(20, 80, 160, 55), score: 0.9 },
        { box: box(5, 5, 8, 8), score: 0.9 },
      ],
      crop,
    );
    expect(two).toEqual([box(20, 10, 160, 50), box(20, 80, 160, 55)]);
    const one = textRows([{ box: box(10, 30, 180, 60), score: 0.9 }], crop);
    expect(one).toEqual([box(10, 30, 180, 60)]);
    expect(textRows([], crop)).toBeUndefined();
  });
});

describe('DB post-processing', () => {
  it('turns probability blobs into boxes grown by area × ratio / perimeter', () => {
    const W = 40;
    const H = 20;
    const prob = new Float32Array(W * H);
    for (let y = 5; y < 10; y++) for (let x = 4; x < 24; x++) prob[y * W + x] = 0.9;
    for (let y = 14; y < 16; y++) for (let x = 30; x < 33; x++) prob[y * W + x] = 0.9; // too small
    for (let y = 12; y < 18; y++) for (let x = 2; x < 10; x++) prob[y * W + x] = 0.4; // weak
    const boxes = dbBoxes(prob, W, H, {
      binary: 0.3,
      box: 0.6,
      unclipRatio: 1.5,
      minSize: 3,
      maxCandidates: 10,
    });
    expect(boxes).toHaveLength(1);
    const d = (20 * 5 * 1.5) / (2 * 25);
    expect(boxes[0]).toMatchObject({ x1: 4 - d, y1: 5 - d, x2: 24 + d, y2: 10 + d });
    expect(boxes[0]!.score).toBeCloseTo(0.9, 6);
  });
});
