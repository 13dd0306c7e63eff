import { describe, expect, it } from 'vitest';
import {
  cropRgb,
  detectWithTiles,
  fromTile,
  mergeDetections,
  tileRect,
  type RgbFrame,
} from '../../../pipeline/detection-tiles.js';
import type { EngineDetection } from '../../../violations/engine.js';

const model = { name: 'test', version: '1' };
const det = (label: string, score: number, x: number, y: number, w: number, h: number): EngineDetection => ({
  label,
  score,
  box: { x, y, w, h },
  model,
});

/** Every pixel says where it is: R = x mod 256, G = y mod 256, B = (x + y) mod 256. */
function patterned(width: number, height: number): RgbFrame {
  const data = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      data[i] = x % 256;
      data[i + 1] = y % 256;
      data[i + 2] = (x + y) % 256;
    }
  return { data, width, height };
}

/** A grey frame with dark rectangles (vehicles) painted on it. */
function road(width: number, height: number, boxes: { x: number; y: number; w: number; h: number }[]) {
  const data = Buffer.alloc(width * height * 3, 160);
  for (const b of boxes)
    for (let y = b.y; y < b.y + b.h; y++) data.fill(20, (y * width + b.x) * 3, (y * width + b.x + b.w) * 3);
  return { data, width, height };
}

/**
 * A detector with a fixed input width, like the real one: the image is subsampled to `INPUT` columns
 * and a dark blob is found only if it spans at least `MIN_CELLS` of them; the box is measured in the
 * image's own pixels, the score grows with the blob's size at the input.
 */
const INPUT = 64;
const MIN_CELLS = 4;
async function blobDetector(frame: RgbFrame): Promise<EngineDetection[]> {
  const step = frame.width / INPUT;
  const rows = Math.floor(frame.height / step);
  const dark = (cx: number, cy: number) =>
    frame.data[(Math.floor(cy * step) * frame.width + Math.floor(cx * step)) * 3]! < 80;
  const seen = new Set<number>();
  const found: EngineDetection[] = [];
  for (let cy = 0; cy < rows; cy++)
    for (let cx = 0; cx < INPUT; cx++) {
      if (!dark(cx, cy) || seen.has(cy * INPUT + cx)) continue;
      let x2 = cx;
      while (x2 + 1 < INPUT && dark(x2 + 1, cy)) x2++;
      let y2 = cy;
      while (y2 + 1 < rows && dark(cx, y2 + 1)) y2++;
      for (let y = cy; y <= y2; y++) for (let x = cx; x <= x2; x++) seen.add(y * INPUT + x);
      const cells = x2 - cx + 1;
      if (cells < MIN_CELLS) continue;
      // Pixel-accurate edges: walk out from the cell grid in the image itself.
      const px = (v: number) => Math.floor(v * step);
      let left = px(cx);
      while (left > 0 && frame.data[(px(cy) * frame.width + left - 1) * 3]! < 80) left--;
      let right = px(x2);
      while (right + 1 < frame.width && frame.data[(px(cy) * frame.width + right + 1) * 3]! < 80) right++;
      let top = px(cy);
      while (top > 0 && frame.data[((top - 1) * frame.width + left) * 3]! < 80) top--;
      let bottom = px(y2);
      while (bottom + 1 < frame.height && frame.data[((bottom + 1) * frame.width + left) * 3]! < 80) bottom++;
      found.push(det('car', Math.min(0.95, cells / 10), left, top, right - left + 1, bottom - top + 1));
    }
  return found;
}

describe('detection tiles', () => {
  it('cuts a tile out of the frame pixel for pixel', () => {
    const frame = patterned(64, 40);
    const tile = cropRgb(frame, { x: 10, y: 5, w: 20, h: 12 });
    expect([tile.width, tile.height, tile.data.length]).toEqual([20, 12, 20 * 12 * 3]);
    for (const [tx, ty] of [
      [0, 0],
      [19, 11],
      [7, 3],
    ] as const) {
      const i = (ty * 20 + tx) * 3;
      expect([tile.data[i], tile.data[i + 1], tile.data[i + 2]]).toEqual([
        10 + tx,
        5 + ty,
        (15 + tx + ty) % 256,
      ]);
    }
  });

  it('refuses a buffer too small for the frame it claims to be', () => {
    expect(() =>
      cropRgb({ data: Buffer.alloc(10), width: 8, height: 8 }, { x: 0, y: 0, w: 4, h: 4 }),
    ).toThrow(/RGB24/);
  });

  it('maps a normalised region to whole pixels inside the frame', () => {
    expect(tileRect({ x: 0.25, y: 0.5, w: 0.5, h: 0.5 }, 1280, 720)).toEqual({
      x: 320,
      y: 360,
      w: 640,
      h: 360,
    });
    // Rounded outwards, clamped to the frame.
    expect(tileRect({ x: 0.1001, y: 0, w: 0.9, h: 1 }, 1000, 500)).toEqual({ x: 100, y: 0, w: 900, h: 500 });
  });

  it("moves a tile's boxes to frame pixels and drops those its inner edges cut off", () => {
    const frame = { data: Buffer.alloc(0), width: 1000, height: 500 };
    const rect = { x: 400, y: 0, w: 300, h: 200 };
    const kept = fromTile(
      [
        det('car', 0.8, 50, 40, 30, 20), // inside
        det('car', 0.8, 0, 40, 30, 20), // touches the left edge, which is inside the frame: cut off
        det('car', 0.8, 250, 190, 50, 10), // touches the bottom edge (inside the frame): cut off
        det('car', 0.8, 100, 0, 30, 20), // touches the top edge, which is the frame's own: kept
      ],
      rect,
      frame,
    );
    expect(kept.map((d) => d.box)).toEqual([
      { x: 450, y: 40, w: 30, h: 20 },
      { x: 500, y: 0, w: 30, h: 20 },
    ]);
  });

  it('keeps the better-scored box of one vehicle seen in the frame and in a tile', () => {
    const whole = [det('car', 0.3, 100, 100, 40, 30), det('car', 0.9, 500, 300, 120, 80)];
    const tile = [det('car', 0.7, 102, 101, 39, 29), det('car', 0.5, 300, 100, 20, 15)];
    const merged = mergeDetections([whole, tile]);
    expect(merged.map((d) => [d.score, d.box.x])).toEqual([
      [0.9, 500],
      [0.7, 102],
      [0.5, 300],
    ]);
  });

  it('merges one vehicle labelled car in the frame and truck in a tile, never a rider with the motorbike', () => {
    const merged = mergeDetections([
      [det('car', 0.6, 100, 100, 40, 30), det('motorcycle', 0.6, 300, 100, 20, 30)],
      [det('truck', 0.4, 101, 100, 40, 30), det('person', 0.8, 300, 95, 20, 30)],
    ]);
    expect(merged.map((d) => d.label).sort()).toEqual(['car', 'motorcycle', 'person']);
  });

  it("drops a part of a vehicle that a tile's enlargement shows as one, inside the whole", () => {
    const merged = mergeDetections([
      [det('car', 0.45, 630, 210, 75, 56)],
      [
        det('car', 0.6, 632, 208, 74, 60), // the vehicle again
        det('car', 0.22, 633, 212, 52, 32), // its rear, IoU 0.37 with the whole, 0.94 inside it
        det('car', 0.3, 540, 160, 45, 20), // another, far car
      ],
    ]);
    expect(merged.map((d) => [d.score, d.box.x])).toEqual([
      [0.6, 632],
      [0.3, 540],
    ]);
  });

  it("leaves one list's overlapping boxes as the detector gave them", () => {
    const whole = [det('car', 0.6, 100, 100, 40, 30), det('truck', 0.5, 101, 100, 40, 30)];
    expect(mergeDetections([whole])).toEqual(whole);
  });

  it('finds through a tile a vehicle too small for the detector in the whole frame', async () => {
    // 640 px wide frame, detector input 64 columns: one cell is 10 px, a vehicle needs 40 px. The far
    // one is 24 px wide; in a 160 px tile (2.5 px a cell) it spans 9 cells.
    const frame = road(640, 360, [
      { x: 300, y: 60, w: 24, h: 16 }, // far
      { x: 200, y: 250, w: 120, h: 70 }, // near
    ]);
    const alone = await blobDetector(frame);
    expect(alone.map((d) => d.box)).toEqual([{ x: 200, y: 250, w: 120, h: 70 }]);

    const calls: number[] = [];
    const detect = (f: RgbFrame) => (calls.push(f.width), blobDetector(f));
    const tiled = await detectWithTiles(frame, [{ x: 0.375, y: 0.0, w: 0.25, h: 0.25 }], detect);
    expect(calls).toEqual([640, 160]);
    expect(tiled.map((d) => d.box)).toEqual([
      { x: 200, y: 250, w: 120, h: 70 },
      { x: 300, y: 60, w: 24, h: 16 },
    ]);
  });

  it('detects the frame alone when the scene names no tile', async () => {
    const frame = road(640, 360, [{ x: 200, y: 250, w: 120, h: 70 }]);
    const calls: number[] = [];
    await detectWithTiles(frame, [], (f) => (calls.push(f.width), blobDetector(f)));
    expect(calls).toEqual([640]);
  });
});
