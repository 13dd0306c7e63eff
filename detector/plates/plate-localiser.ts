/**
 * Plate candidates from text-line boxes (PP-OCR det) on a vehicle crop or a full image:
 *
 *  1. lines on the same baseline and close together are joined (a plate read as `YG9` + `X2G`);
 *  2. two stacked lines of similar width and height, close together, make a 2-row plate;
 *  3. candidates are kept by aspect (text of one row is wider than high; a 2-row block is squarer),
 *     size and contrast (plates are dark on light or light on dark, not low-contrast texture);
 *  4. each text box is grown to the plate's likely outline (a margin of its height on every side)
 *     and overlapping candidates are suppressed, best first.
 */
import type { PixelBox, RgbImage } from './image.js';
import { iou } from './image.js';
import type { TextBox } from './text-detector.js';

export interface PlateBox {
  /** The plate's likely outline, image pixels. */
  box: PixelBox;
  /** The text on it (one line, or the union of two rows), image pixels. */
  text: PixelBox;
  score: number;
  rows: 1 | 2;
}

export interface LocaliserOptions {
  /** Text lower than this (pixels) is not read (default 8). */
  minTextHeight?: number;
  /** Candidates kept, best first (default 8). */
  maxPlates?: number;
}

/** Plate outline = text box grown by these shares of the text height (measured on openalpr photos). */
export const PLATE_MARGIN_X = 0.1;
export const PLATE_MARGIN_Y = 0.1;
/** One-row text aspect (width / height) accepted, and the 2-row block's. */
const ONE_ROW_ASPECT: [number, number] = [1.2, 16];
const TWO_ROW_ASPECT: [number, number] = [0.6, 4.5];
/**
 * Grey-level standard deviation under which a box is blank, not print. Kept low: plates at night or
 * in haze read well at a standard deviation of 9.
 */
const MIN_CONTRAST = 4;

const right = (b: PixelBox) => b.x + b.w;
const bottom = (b: PixelBox) => b.y + b.h;

function union(a: PixelBox, b: PixelBox): PixelBox {
  const x = Math.min(a.x, b.x);
  const y = Math.min(a.y, b.y);
  return { x, y, w: Math.max(right(a), right(b)) - x, h: Math.max(bottom(a), bottom(b)) - y };
}

function verticalOverlap(a: PixelBox, b: PixelBox): number {
  return Math.max(0, Math.min(bottom(a), bottom(b)) - Math.max(a.y, b.y));
}

function horizontalOverlap(a: PixelBox, b: PixelBox): number {
  return Math.max(0, Math.min(right(a), right(b)) - Math.max(a.x, b.x));
}

/** Same baseline, similar height, a gap of at most one character height. */
export function sameLine(a: PixelBox, b: PixelBox): boolean {
  const h = Math.min(a.h, b.h);
  if (Math.max(a.h, b.h) > 1.6 * h) return false;
  if (verticalOverlap(a, b) < 0.6 * h) return false;
  const gap = Math.max(a.x, b.x) - Math.min(right(a), right(b));
  return gap <= 1.0 * Math.max(a.h, b.h);
}

/** `upper` above `lower`, overlapping horizontally, similar size, close: the two rows of one plate. */
export function stackedRows(upper: PixelBox, lower: PixelBox): boolean {
  if (upper.y + upper.h / 2 >= lower.y + lower.h / 2) return false;
  const w = Math.min(upper.w, lower.w);
  if (horizontalOverlap(upper, lower) < 0.6 * w) return false;
  if (Math.max(upper.w, lower.w) > 1.8 * w) return false;
  if (Math.max(upper.h, lower.h) > 1.4 * Math.min(upper.h, lower.h)) return false;
  const gap = lower.y - bottom(upper);
  return gap <= 0.6 * Math.max(upper.h, lower.h);
}

/** Joins lines on the same baseline (transitively). */
export function joinLines(lines: readonly TextBox[]): TextBox[] {
  const parent = lines.map((_, i) => i);
  const find = (i: number): number => (parent[i] === i ? i : (parent[i] = find(parent[i]!)));
  for (let i = 0; i < lines.length; i++) {
    for (let j = i + 1; j < lines.length; j++) {
      if (sameLine(lines[i]!.box, lines[j]!.box)) parent[find(i)] = find(j);
    }
  }
  const groups = new Map<number, TextBox>();
  lines.forEach((l, i) => {
    const root = find(i);
    const g = groups.get(root);
    groups.set(
      root,
      g
        ? { box: union(g.box, l.box), score: Math.max(g.score, l.score) }
        : { box: { ...l.box }, score: l.score },
    );
  });
  return [...groups.values()];
}

/** Grey-level standard deviation inside a box (sampled on a grid of at most 64 × 32 points). */
export function contrast(image: RgbImage, box: PixelBox): number {
  const x0 = Math.max(0, Math.floor(box.x));
  const y0 = Math.max(0, Math.floor(box.y));
  const x1 = Math.min(image.width, Math.ceil(right(box)));
  const y1 = Math.min(image.height, Math.ceil(bottom(box)));
  if (x1 <= x0 || y1 <= y0) return 0;
  const sx = Math.max(1, (x1 - x0) / 64);
  const sy = Math.max(1, (y1 - y0) / 32);
  let n = 0;
  let sum = 0;
  let sq = 0;
  for (let y = y0; y < y1; y += sy) {
    for (let x = x0; x < x1; x += sx) {
      const i = (Math.floor(y) * image.width + Math.floor(x)) * 3;
      const v = 0.299 * image.data[i]! + 0.587 * image.data[i + 1]! + 0.114 * image.data[i + 2]!;
      sum += v;
      sq += v * v;
      n++;
    }
  }
  const mean = sum / n;
  return Math.sqrt(Math.max(0, sq / n - mean * mean));
}

/** The plate outline around a text box, clamped to the image. */
export function plateOutline(text: PixelBox, width: number, height: number): PixelBox {
  const mx = PLATE_MARGIN_X * text.h;
  const my = PLATE_MARGIN_Y * text.h;
  const x1 = Math.max(0, text.x - mx);
  const y1 = Math.max(0, text.y - my);
  const x2 = Math.min(width, right(text) + mx);
  const y2 = Math.min(height, bottom(text) + my);
  return { x: x1, y: y1, w: x2 - x1, h: y2 - y1 };
}

function aspectFactor(aspect: number, [lo, hi]: [number, number]): number {
  if (aspect < lo || aspect > hi) return 0;
  return 1;
}

export function localisePlates(
  lines: readonly TextBox[],
  image: RgbImage,
  options: LocaliserOptions = {},
): PlateBox[] {
  const minH = options.minTextHeight ?? 8;
  const joined = joinLines(lines.filter((l) => l.box.h >= minH * 0.8));
  const candidates: { text: PixelBox; score: number; rows: 1 | 2 }[] = [];
  for (const l of joined) {
    if (l.box.h < minH) continue;
    candidates.push({
      text: l.box,
      score: l.score * aspectFactor(l.box.w / l.box.h, ONE_ROW_ASPECT),
      rows: 1,
    });
  }
  for (const upper of joined) {
    for (const lower of joined) {
      if (upper === lower || !stackedRows(upper.box, lower.box)) continue;
      const text = union(upper.box, lower.box);
      const score = Math.min(upper.score, lower.score) * aspectFactor(text.w / text.h, TWO_ROW_ASPECT);
      candidates.push({ text, score, rows: 2 });
    }
  }
  const scored: PlateBox[] = [];
  for (const c of candidates) {
    if (c.score <= 0) continue;
    const k = contrast(image, c.text);
    if (k < MIN_CONTRAST) continue;
    scored.push({
      box: plateOutline(c.text, image.width, image.height),
      text: c.text,
      score: c.score * Math.min(1, k / 12),
      rows: c.rows,
    });
  }
  scored.sort((a, b) => b.score - a.score || b.rows - a.rows);
  const kept: PlateBox[] = [];
  for (const p of scored) {
    if (kept.some((k) => iou(k.box, p.box) > 0.5)) continue;
    kept.push(p);
    if (kept.length >= (options.maxPlates ?? 8)) break;
  }
  return kept;
}
