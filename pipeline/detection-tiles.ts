/**
 * Zoom windows ("detection tiles"): parts of the frame the detector also looks at on their own, enlarged
 * to its input, because vehicles there are too small for it in the whole frame (the far end of a speed
 * gate, where a car 35–45 m away is 70–95 px wide at 1280 px and a quarter of that at the detector's
 * 384×224 input). Each tile is cut from the frame's RGB pixels, detected like a frame, its boxes moved
 * back to frame pixels, then merged with the whole frame's:
 *
 * - a tile's box that touches the tile's edge where the tile does not end at the frame's edge is a cut-off
 *   view of a vehicle that continues outside it: dropped (the whole frame sees that vehicle whole);
 * - boxes of one object found twice (same class group, IoU ≥ `MERGE_IOU`, or one mostly inside the
 *   other) keep the better-scored one.
 *
 * Costs one more inference per tile and frame, only on the cameras whose scene names tiles.
 */
import { iou, overlapOfSmaller, type Box } from '../violations/geometry.js';
import { VEHICLE_CLASSES } from '../violations/scene-config.js';
import type { EngineDetection } from '../violations/engine.js';

export interface RgbFrame {
  data: Buffer;
  width: number;
  height: number;
}

/** A tile in frame pixels (integers, inside the frame). */
export interface PixelRect {
  x: number;
  y: number;
  w: number;
  h: number;
}

/** Two boxes of one object seen in the frame and in a tile overlap at least this much. */
export const MERGE_IOU = 0.5;
/** A box this much inside a better one of the same class group is a part of it, or it seen again. */
export const MERGE_CONTAINED = 0.7;
/** A box within this many pixels of a tile's inner edge is taken as cut off by it. */
const EDGE_PX = 2;
/** Tiles smaller than this (in frame pixels, either side) are refused: nothing to enlarge. */
const MIN_TILE_PX = 32;

const VEHICLES: ReadonlySet<string> = new Set(VEHICLE_CLASSES);
/** Vehicle classes merge with each other (one object, two labels); other labels only with their own. */
const groupOf = (label: string): string => (VEHICLES.has(label) ? 'vehicle' : label);

/** A normalised region (the scene's) to whole frame pixels, rounded outwards, clamped to the frame. */
export function tileRect(region: Box, width: number, height: number): PixelRect {
  const x = Math.max(0, Math.min(width - 1, Math.floor(region.x * width)));
  const y = Math.max(0, Math.min(height - 1, Math.floor(region.y * height)));
  const x2 = Math.max(x + 1, Math.min(width, Math.ceil((region.x + region.w) * width)));
  const y2 = Math.max(y + 1, Math.min(height, Math.ceil((region.y + region.h) * height)));
  return { x, y, w: x2 - x, h: y2 - y };
}

/** The tile's pixels as a frame of their own (rows copied out of the packed RGB24 frame). */
export function cropRgb(frame: RgbFrame, rect: PixelRect): RgbFrame {
  const expected = frame.width * frame.height * 3;
  if (frame.data.length < expected)
    throw new Error(`frame buffer holds ${frame.data.length} bytes, ${expected} expected for RGB24`);
  const out = Buffer.allocUnsafe(rect.w * rect.h * 3);
  const rowBytes = rect.w * 3;
  for (let row = 0; row < rect.h; row++) {
    const from = ((rect.y + row) * frame.width + rect.x) * 3;
    frame.data.copy(out, row * rowBytes, from, from + rowBytes);
  }
  return { data: out, width: rect.w, height: rect.h };
}

/** A tile's detections in frame pixels, without those its inner edges cut off. */
export function fromTile(detections: readonly EngineDetection[], rect: PixelRect, frame: RgbFrame) {
  const innerLeft = rect.x > 0;
  const innerTop = rect.y > 0;
  const innerRight = rect.x + rect.w < frame.width;
  const innerBottom = rect.y + rect.h < frame.height;
  const kept: EngineDetection[] = [];
  for (const d of detections) {
    const b = d.box;
    if (innerLeft && b.x <= EDGE_PX) continue;
    if (innerTop && b.y <= EDGE_PX) continue;
    if (innerRight && b.x + b.w >= rect.w - EDGE_PX) continue;
    if (innerBottom && b.y + b.h >= rect.h - EDGE_PX) continue;
    kept.push({ ...d, box: { x: b.x + rect.x, y: b.y + rect.y, w: b.w, h: b.h } });
  }
  return kept;
}

/**
 * Whole-frame and tile detections (`lists[0]` the frame's, the rest the tiles') as one list. A detection
 * is dropped when a better-scored one of the same class group overlaps it by `MERGE_IOU`, or holds
 * `MERGE_CONTAINED` of it: one vehicle seen twice, or a part of a vehicle seen as one (an enlarged
 * vehicle's windscreen, its side) inside the whole. Deterministic: ties keep the earlier list's. The
 * frame's own detections never suppress each other (the detector already chose among them), so the
 * result with no tile is the frame's list unchanged; a tile's do, because enlargement shows the parts.
 */
export function mergeDetections(lists: ReadonlyArray<readonly EngineDetection[]>): EngineDetection[] {
  const all = lists.flatMap((list, source) => list.map((d) => ({ d, source })));
  const order = all.map((e, i) => ({ ...e, i })).sort((p, q) => q.d.score - p.d.score || p.i - q.i);
  const kept: { d: EngineDetection; source: number; i: number }[] = [];
  for (const e of order) {
    const group = groupOf(e.d.label);
    const duplicate = kept.some(
      (k) =>
        (k.source !== e.source || e.source > 0) &&
        groupOf(k.d.label) === group &&
        (iou(k.d.box, e.d.box) >= MERGE_IOU || overlapOfSmaller(k.d.box, e.d.box) >= MERGE_CONTAINED),
    );
    if (!duplicate) kept.push(e);
  }
  // Back in input order: the frame's detections first, as the detector listed them.
  return kept.sort((p, q) => p.i - q.i).map((k) => k.d);
}

/**
 * The frame's detections with the scene's tiles: the whole frame, then each tile, through `detect`
 * (started together, so a batching detector may run them in one call), merged.
 */
export async function detectWithTiles(
  frame: RgbFrame,
  tiles: readonly Box[],
  detect: (frame: RgbFrame) => Promise<EngineDetection[]>,
): Promise<EngineDetection[]> {
  if (tiles.length === 0) return detect(frame);
  const rects = tiles
    .map((t) => tileRect(t, frame.width, frame.height))
    .filter((r) => r.w >= MIN_TILE_PX && r.h >= MIN_TILE_PX);
  const [whole, ...parts] = await Promise.all([
    detect(frame),
    ...rects.map((r) => detect(cropRgb(frame, r))),
  ]);
  return mergeDetections([whole!, ...parts.map((p, i) => fromTile(p, rects[i]!, frame))]);
}
