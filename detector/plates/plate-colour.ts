/**
 * Plate colour from the crop's background: the majority class of an Otsu split of the crop's centre
 * (text covers less than half of a plate), averaged and classified by hue and saturation.
 * White/black: private; yellow: commercial transport; blue: state bodies; red: military.
 */
import type { RgbImage } from './image.js';
import { otsuThreshold, toGray } from './image.js';

export type PlateColour = 'white' | 'yellow' | 'blue' | 'red' | 'unknown';

export interface ColourEstimate {
  colour: PlateColour;
  /** Mean background colour, RGB 0–255. */
  background: [number, number, number];
  hue: number;
  saturation: number;
  value: number;
}

export function rgbToHsv(r: number, g: number, b: number): { h: number; s: number; v: number } {
  const max = Math.max(r, g, b);
  const min = Math.min(r, g, b);
  const d = max - min;
  let h = 0;
  if (d > 0) {
    if (max === r) h = ((g - b) / d) % 6;
    else if (max === g) h = (b - r) / d + 2;
    else h = (r - g) / d + 4;
    h *= 60;
    if (h < 0) h += 360;
  }
  return { h, s: max === 0 ? 0 : d / max, v: max / 255 };
}

export function classifyColour(r: number, g: number, b: number): PlateColour {
  const { h, s, v } = rgbToHsv(r, g, b);
  if (v < 0.12) return 'unknown';
  if (s < 0.25) return 'white';
  if (h >= 30 && h < 75) return 'yellow';
  if (h >= 180 && h < 265) return 'blue';
  if (h < 20 || h >= 330) return 'red';
  return s < 0.35 ? 'white' : 'unknown';
}

export function plateColour(img: RgbImage): ColourEstimate {
  const { width: W, height: H, data } = img;
  const gray = toGray(img);
  const region = {
    x0: Math.floor(W * 0.15),
    y0: Math.floor(H * 0.15),
    x1: Math.max(Math.floor(W * 0.15) + 1, Math.ceil(W * 0.85)),
    y1: Math.max(Math.floor(H * 0.15) + 1, Math.ceil(H * 0.85)),
  };
  const t = otsuThreshold(gray, W, region);
  const sums = [
    [0, 0, 0, 0],
    [0, 0, 0, 0],
  ] as [number, number, number, number][];
  for (let y = region.y0; y < region.y1; y++) {
    for (let x = region.x0; x < region.x1; x++) {
      const i = y * W + x;
      const s = sums[gray[i]! > t ? 1 : 0]!;
      s[0] += data[i * 3]!;
      s[1] += data[i * 3 + 1]!;
      s[2] += data[i * 3 + 2]!;
      s[3]++;
    }
  }
  const bg = sums[0]![3] > sums[1]![3] ? sums[0]! : sums[1]!;
  const n = Math.max(1, bg[3]);
  const background: [number, number, number] = [bg[0] / n, bg[1] / n, bg[2] / n].map(Math.round) as [
    number,
    number,
    number,
  ];
  const { h, s, v } = rgbToHsv(...background);
  return { colour: classifyColour(...background), background, hue: h, saturation: s, value: v };
}
