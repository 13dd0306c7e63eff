/**
 * Small raster helpers for plate crops: packed RGB24 images (the detector's Frame), cropping, grey
 * levels, Otsu's threshold, bilinear sampling. Typed-array loops, no I/O.
 */
import { AppError } from '../../core/errors.js';

/** Packed RGB24, row-major, no row padding: width × height × 3 bytes (the same as detector Frame). */
export interface RgbImage {
  data: Uint8Array;
  width: number;
  height: number;
}

/** A box in image pixels: top-left corner and size. */
export interface PixelBox {
  x: number;
  y: number;
  w: number;
  h: number;
}

export function checkImage(img: { data: Uint8Array; width: number; height: number }, what = 'image'): void {
  const { width, height, data } = img;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new AppError('bad_request', `${what} size ${width}×${height} is not a positive integer size`, {
      permanent: true,
    });
  }
  if (data.length !== width * height * 3) {
    throw new AppError(
      'bad_request',
      `${what} of ${width}×${height} RGB24 needs ${width * height * 3} bytes, got ${data.length}`,
      { permanent: true },
    );
  }
}

/** The box clamped to the image and rounded outwards to whole pixels (at least 1×1). */
export function clampBox(box: PixelBox, width: number, height: number): PixelBox {
  const x1 = Math.max(0, Math.min(width - 1, Math.floor(box.x)));
  const y1 = Math.max(0, Math.min(height - 1, Math.floor(box.y)));
  const x2 = Math.max(x1 + 1, Math.min(width, Math.ceil(box.x + box.w)));
  const y2 = Math.max(y1 + 1, Math.min(height, Math.ceil(box.y + box.h)));
  return { x: x1, y: y1, w: x2 - x1, h: y2 - y1 };
}

export function cropImage(img: RgbImage, box: PixelBox): RgbImage {
  const b = clampBox(box, img.width, img.height);
  const out = new Uint8Array(b.w * b.h * 3);
  const rowBytes = b.w * 3;
  for (let y = 0; y < b.h; y++) {
    const src = ((b.y + y) * img.width + b.x) * 3;
    out.set(img.data.subarray(src, src + rowBytes), y * rowBytes);
  }
  return { data: out, width: b.w, height: b.h };
}

/** ITU-R BT.601 luma, 0–255. */
export function toGray(img: RgbImage): Uint8Array {
  const n = img.width * img.height;
  const out = new Uint8Array(n);
  const d = img.data;
  for (let i = 0, j = 0; i < n; i++, j += 3) {
    out[i] = (d[j]! * 299 + d[j + 1]! * 587 + d[j + 2]! * 114 + 500) / 1000;
  }
  return out;
}

/** Otsu's threshold over the grey levels of a region (x0..x1, y0..y1 exclusive): values ≤ t form one class. */
export function otsuThreshold(
  gray: Uint8Array,
  width: number,
  region: { x0: number; y0: number; x1: number; y1: number },
): number {
  const hist = new Float64Array(256);
  let n = 0;
  for (let y = region.y0; y < region.y1; y++) {
    for (let x = region.x0; x < region.x1; x++) {
      hist[gray[y * width + x]!]!++;
      n++;
    }
  }
  if (n === 0) return 127;
  let sum = 0;
  for (let i = 0; i < 256; i++) sum += i * hist[i]!;
  let sumB = 0;
  let wB = 0;
  let best = -1;
  let threshold = 127;
  for (let t = 0; t < 256; t++) {
    wB += hist[t]!;
    if (wB === 0) continue;
    const wF = n - wB;
    if (wF === 0) break;
    sumB += t * hist[t]!;
    const mB = sumB / wB;
    const mF = (sum - sumB) / wF;
    const between = wB * wF * (mB - mF) * (mB - mF);
    if (between > best) {
      best = between;
      threshold = t;
    }
  }
  return threshold;
}

/**
 * Bilinear resize of an RGB image (half-pixel centres, as OpenCV's INTER_LINEAR). For strong
 * down-scaling the source is averaged over each output pixel's footprint first (area), so thin
 * strokes are not skipped.
 */
export function resizeRgb(img: RgbImage, width: number, height: number): RgbImage {
  if (width === img.width && height === img.height) return img;
  if (img.width >= 2 * width && img.height >= 2 * height) return resizeArea(img, width, height);
  const out = new Uint8Array(width * height * 3);
  const sx = img.width / width;
  const sy = img.height / height;
  const W = img.width;
  const H = img.height;
  const d = img.data;
  for (let oy = 0; oy < height; oy++) {
    let fy = (oy + 0.5) * sy - 0.5;
    if (fy < 0) fy = 0;
    let y0 = Math.floor(fy);
    if (y0 > H - 1) y0 = H - 1;
    const y1 = y0 < H - 1 ? y0 + 1 : y0;
    const wy = Math.min(fy - y0, 1);
    for (let ox = 0; ox < width; ox++) {
      let fx = (ox + 0.5) * sx - 0.5;
      if (fx < 0) fx = 0;
      let x0 = Math.floor(fx);
      if (x0 > W - 1) x0 = W - 1;
      const x1 = x0 < W - 1 ? x0 + 1 : x0;
      const wx = Math.min(fx - x0, 1);
      const a = (y0 * W + x0) * 3;
      const b = (y0 * W + x1) * 3;
      const c = (y1 * W + x0) * 3;
      const e = (y1 * W + x1) * 3;
      const o = (oy * width + ox) * 3;
      for (let k = 0; k < 3; k++) {
        const top = d[a + k]! + (d[b + k]! - d[a + k]!) * wx;
        const bot = d[c + k]! + (d[e + k]! - d[c + k]!) * wx;
        out[o + k] = Math.round(top + (bot - top) * wy);
      }
    }
  }
  return { data: out, width, height };
}

function resizeArea(img: RgbImage, width: number, height: number): RgbImage {
  const out = new Uint8Array(width * height * 3);
  const sx = img.width / width;
  const sy = img.height / height;
  for (let oy = 0; oy < height; oy++) {
    const y0 = Math.floor(oy * sy);
    const y1 = Math.max(y0 + 1, Math.min(img.height, Math.floor((oy + 1) * sy)));
    for (let ox = 0; ox < width; ox++) {
      const x0 = Math.floor(ox * sx);
      const x1 = Math.max(x0 + 1, Math.min(img.width, Math.floor((ox + 1) * sx)));
      let r = 0;
      let g = 0;
      let b = 0;
      for (let y = y0; y < y1; y++) {
        let i = (y * img.width + x0) * 3;
        for (let x = x0; x < x1; x++, i += 3) {
          r += img.data[i]!;
          g += img.data[i + 1]!;
          b += img.data[i + 2]!;
        }
      }
      const n = (y1 - y0) * (x1 - x0);
      const o = (oy * width + ox) * 3;
      out[o] = Math.round(r / n);
      out[o + 1] = Math.round(g / n);
      out[o + 2] = Math.round(b / n);
    }
  }
  return { data: out, width, height };
}

/** Intersection over union of two boxes. */
export function iou(a: PixelBox, b: PixelBox): number {
  const w = Math.min(a.x + a.w, b.x + b.w) - Math.max(a.x, b.x);
  const h = Math.min(a.y + a.h, b.y + b.h) - Math.max(a.y, b.y);
  if (w <= 0 || h <= 0) return 0;
  const inter = w * h;
  return inter / (a.w * a.h + b.w * b.h - inter);
}
