/**
 * Where a plate crop's two text rows meet: Otsu-binarise the crop (the background is the majority
 * class of its central part, so dark-on-light and light-on-dark plates both work), project the ink
 * onto the rows of the central column band, and look for the emptiest band of rows between two inked
 * ones in the middle of the crop. The split is the middle of that band, not a fixed 50 %, so crops
 * with uneven margins or rows of unequal height split between the rows.
 */
import type { RgbImage } from './image.js';
import { otsuThreshold, toGray } from './image.js';

export interface RowAnalysis {
  /** The crop probably holds two rows of text. */
  twoRows: boolean;
  /** 0–1: how clearly an empty band separates two inked bands (the valley's depth). */
  twoRowScore: number;
  /** First pixel row of the bottom text row. */
  split: number;
  /** Text is darker than the background ('dark-on-light': white and yellow plates). */
  polarity: 'dark-on-light' | 'light-on-dark';
  /** Otsu threshold on grey levels (0–255). */
  threshold: number;
  /** Smoothed share of ink per pixel row (central columns), for diagnostics and tests. */
  profile: Float32Array;
}

/** Share of the crop's height searched for the gap between rows (centred). */
const SEARCH_FROM = 0.28;
const SEARCH_TO = 0.72;
/** A valley this deep relative to the weaker of the two inked bands means two rows. */
const TWO_ROW_DEPTH = 0.55;
/** A row this inked is solid (margin, background), not text. */
const SOLID = 0.85;

export function analyseRows(img: RgbImage): RowAnalysis {
  const { width: W, height: H } = img;
  const gray = toGray(img);
  const cx0 = Math.floor(W * 0.15);
  const cx1 = Math.max(cx0 + 1, Math.ceil(W * 0.85));
  const cy0 = Math.floor(H * 0.15);
  const cy1 = Math.max(cy0 + 1, Math.ceil(H * 0.85));
  const threshold = otsuThreshold(gray, W, { x0: cx0, y0: cy0, x1: cx1, y1: cy1 });
  let darkPixels = 0;
  for (let y = cy0; y < cy1; y++)
    for (let x = cx0; x < cx1; x++) if (gray[y * W + x]! <= threshold) darkPixels++;
  const polarity = darkPixels <= ((cx1 - cx0) * (cy1 - cy0)) / 2 ? 'dark-on-light' : 'light-on-dark';

  const bx0 = Math.floor(W * 0.1);
  const bx1 = Math.max(bx0 + 1, Math.ceil(W * 0.9));
  const dark = new Float32Array(H);
  for (let y = 0; y < H; y++) {
    let ink = 0;
    const row = y * W;
    for (let x = bx0; x < bx1; x++) if (gray[row + x]! <= threshold) ink++;
    dark[y] = ink / (bx1 - bx0);
  }
  const light = dark.map((v) => 1 - v);
  // The majority class of the centre is usually the background; a crop with a wide dark margin can
  // mislead that guess, so both polarities are tried and the one with the clearer gap is kept.
  const guessed = polarity === 'dark-on-light' ? dark : light;
  const other = polarity === 'dark-on-light' ? light : dark;
  const a = valleyOf(guessed, H);
  const b = valleyOf(other, H);
  const pick = b.twoRowScore > a.twoRowScore + 0.2 && b.level < 0.1 && b.textBands ? b : a;
  const chosen = pick === a ? polarity : polarity === 'dark-on-light' ? 'light-on-dark' : 'dark-on-light';
  const { twoRowScore, split, profile } = pick;
  return { twoRows: twoRowScore >= TWO_ROW_DEPTH, twoRowScore, split, polarity: chosen, threshold, profile };
}

/** The emptiest band of the (smoothed) ink profile in the middle of the crop, and how deep it is. */
function valleyOf(
  raw: Float32Array,
  H: number,
): { twoRowScore: number; split: number; profile: Float32Array; level: number; textBands: boolean } {
  const profile = smooth(raw, Math.max(1, Math.round(H / 40)));
  const from = Math.floor(H * SEARCH_FROM);
  const to = Math.max(from + 1, Math.ceil(H * SEARCH_TO));
  let valley = from;
  for (let y = from; y < to; y++) if (profile[y]! < profile[valley]!) valley = y;
  const peak = (a: number, b: number, cap = 1) => {
    let m = 0;
    for (let y = Math.max(0, a); y < Math.min(H, b); y++)
      if (profile[y]! <= cap) m = Math.max(m, profile[y]!);
    return m;
  };
  // Rows of text are partly inked; a nearly solid band is a margin or the background itself.
  const textBands =
    peak(Math.floor(H * 0.05), valley, SOLID) >= 0.15 && peak(valley + 1, Math.ceil(H * 0.95), SOLID) >= 0.15;
  // Inked bands above and below: ignore the outer 5 % (plate frame, surroundings).
  const top = peak(Math.floor(H * 0.05), valley);
  const bottom = peak(valley + 1, Math.ceil(H * 0.95));
  const weaker = Math.min(top, bottom);
  const depth = weaker > 0.05 ? (weaker - profile[valley]!) / weaker : 0;
  const twoRowScore = Math.max(0, Math.min(1, depth));
  // The split: the middle of the low band around the valley.
  const level = profile[valley]! + 0.25 * (weaker - profile[valley]!);
  let a = valley;
  let b = valley;
  while (a > from && profile[a - 1]! <= level) a--;
  while (b < to - 1 && profile[b + 1]! <= level) b++;
  return { twoRowScore, split: Math.round((a + b + 1) / 2), profile, level: profile[valley]!, textBands };
}

/** Moving average over 2 × radius + 1 rows (shorter at the ends). */
function smooth(v: Float32Array, radius: number): Float32Array {
  const out = new Float32Array(v.length);
  let sum = 0;
  let n = 0;
  let lo = 0;
  let hi = -1;
  for (let i = 0; i < v.length; i++) {
    while (hi < Math.min(v.length - 1, i + radius)) {
      sum += v[++hi]!;
      n++;
    }
    while (lo < i - radius) {
      sum -= v[lo++]!;
      n--;
    }
    out[i] = sum / n;
  }
  return out;
}
