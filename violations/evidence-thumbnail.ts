import sharp, { type OverlayOptions } from 'sharp';
import type { Box } from './geometry.js';

/**
 * The public thumbnail of a violation: a small JPEG of an evidence still in which only the offending
 * vehicle is sharp (outlined), and everything else is blurred past reading.
 *
 * Why everything else, not only the other vehicles' boxes: the evidence bundle records the offending
 * vehicle's trajectory, not every detection in the frame, and a detector misses vehicles, plates and
 * faces (occlusion, low light, classes it does not know). Blurring all but the one box the public is
 * entitled to see fails safe: a missed detection stays blurred. The road, the stop line and the colour
 * of the light stay recognisable at this blur, which is the context a citizen needs.
 */

export interface ThumbnailOptions {
  /** Output width in pixels (height keeps the aspect ratio). */
  width?: number;
  /** Margin around the vehicle's box, as a share of its size. */
  margin?: number;
  quality?: number;
}

/** Gaussian sigma at the thumbnail's width: characters a few pixels high become unreadable. */
export function thumbnailBlurSigma(width: number): number {
  return Math.max(4, Math.round(width / 60));
}

/** `box` is normalised to the still (0..1), as in the evidence manifest's trajectory; undefined blurs all. */
export async function renderPublicThumbnail(
  still: Buffer,
  box: Box | undefined,
  options: ThumbnailOptions = {},
): Promise<Buffer> {
  const width = options.width ?? 480;
  const margin = options.margin ?? 0.08;
  const small = await sharp(still)
    .resize({ width, withoutEnlargement: true })
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  const { width: w, height: h, channels } = small.info;
  const raw = { width: w, height: h, channels };
  const overlays: OverlayOptions[] = [];
  const rect = box && pixelRect(box, w, h, margin);
  if (rect) {
    const sharpRegion = await sharp(small.data, { raw })
      .extract({ left: rect.left, top: rect.top, width: rect.width, height: rect.height })
      .raw()
      .toBuffer();
    overlays.push({
      input: sharpRegion,
      raw: { width: rect.width, height: rect.height, channels },
      left: rect.left,
      top: rect.top,
    });
    const stroke = Math.max(2, Math.round(w / 240));
    overlays.push({
      input: Buffer.from(
        `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}"><rect x="${rect.left + stroke / 2}" y="${rect.top + stroke / 2}" width="${rect.width - stroke}" height="${rect.height - stroke}" fill="none" stroke="#ffd400" stroke-width="${stroke}"/></svg>`,
      ),
      left: 0,
      top: 0,
    });
  }
  return sharp(small.data, { raw })
    .blur(thumbnailBlurSigma(w))
    .composite(overlays)
    .jpeg({ quality: options.quality ?? 78 })
    .toBuffer();
}

/** The box with its margin in whole pixels, clipped to the image; undefined when nothing is left. */
export function pixelRect(
  box: Box,
  width: number,
  height: number,
  margin: number,
): { left: number; top: number; width: number; height: number } | undefined {
  if (![box.x, box.y, box.w, box.h].every(Number.isFinite) || box.w <= 0 || box.h <= 0) return undefined;
  const left = Math.max(0, Math.floor((box.x - box.w * margin) * width));
  const top = Math.max(0, Math.floor((box.y - box.h * margin) * height));
  const right = Math.min(width, Math.ceil((box.x + box.w * (1 + margin)) * width));
  const bottom = Math.min(height, Math.ceil((box.y + box.h * (1 + margin)) * height));
  if (right - left < 4 || bottom - top < 4) return undefined;
  return { left, top, width: right - left, height: bottom - top };
}

/**
 * The offending vehicle's box on a still, from the evidence manifest: the trajectory point captured
 * with the still (the engine draws the box from the same frame), else the nearest within `toleranceMs`.
 */
export function boxForStill(manifest: unknown, role: string, toleranceMs = 300): Box | undefined {
  if (typeof manifest !== 'object' || manifest === null) return undefined;
  const m = manifest as { stills?: unknown; trajectory?: unknown };
  if (!Array.isArray(m.stills) || !Array.isArray(m.trajectory)) return undefined;
  const still = m.stills.find((s): s is { role: string; capturedAt: string } => {
    const r = s as { role?: unknown; capturedAt?: unknown };
    return r.role === role && typeof r.capturedAt === 'string';
  });
  const at = still ? Date.parse(still.capturedAt) : NaN;
  if (!Number.isFinite(at)) return undefined;
  let best: { box: Box; dt: number } | undefined;
  for (const p of m.trajectory as { t?: unknown; box?: unknown }[]) {
    const t = typeof p.t === 'string' ? Date.parse(p.t) : NaN;
    const b = p.box as Partial<Box> | undefined;
    if (!Number.isFinite(t) || !b || ![b.x, b.y, b.w, b.h].every((v) => typeof v === 'number')) continue;
    const dt = Math.abs(t - at);
    if (dt <= toleranceMs && (!best || dt < best.dt)) best = { box: b as Box, dt };
  }
  return best?.box;
}
