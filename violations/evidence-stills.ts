import sharp from 'sharp';
import type { Box, Point, Polygon } from './geometry.js';
import type { SceneConfig } from './scene-config.js';
import type { StillRef } from './engine.js';

export interface StillCaption {
  cameraCode: string;
  ruleLabel: string;
  signal?: string;
}

/** Scene geometry the rule judged by, drawn over the still (a lane, a zone, a speed gate's lines). */
export interface StillHighlight {
  lines?: { a: Point; b: Point }[];
  polygons?: Polygon[];
}

const ROLE_LABEL: Record<StillRef['role'], string> = {
  before: 'TRƯỚC / BEFORE',
  at: 'VI PHẠM / AT',
  after: 'SAU / AFTER',
};

/**
 * Renders an evidence still: the frame as captured, with the stop lines, the vehicle's box and a caption
 * (camera, UTC time, role, rule, signal) drawn over it, as JPEG. The raw frame is not altered elsewhere.
 */
export async function renderStill(
  still: StillRef,
  scene: SceneConfig,
  caption: StillCaption,
  highlight: StillHighlight = {},
): Promise<Buffer> {
  const { width, height, data, capturedAt } = still.frame;
  const svg = overlaySvg(width, height, scene, still.box, highlight, [
    `${caption.cameraCode}  ${new Date(capturedAt).toISOString()}`,
    `${ROLE_LABEL[still.role]}  ${caption.ruleLabel}${caption.signal ? `  ${caption.signal}` : ''}`,
  ]);
  return sharp(data, { raw: { width, height, channels: 3 } })
    .composite([{ input: Buffer.from(svg), top: 0, left: 0 }])
    .jpeg({ quality: 88, mozjpeg: false })
    .toBuffer();
}

/** Crops the vehicle (with a margin) from a frame, as JPEG. */
export async function cropVehicle(still: StillRef, margin = 0.15): Promise<Buffer | undefined> {
  if (!still.box) return undefined;
  const { width, height, data } = still.frame;
  const b = still.box;
  const left = Math.max(0, Math.floor((b.x - b.w * margin) * width));
  const top = Math.max(0, Math.floor((b.y - b.h * margin) * height));
  const right = Math.min(width, Math.ceil((b.x + b.w * (1 + margin)) * width));
  const bottom = Math.min(height, Math.ceil((b.y + b.h * (1 + margin)) * height));
  if (right - left < 8 || bottom - top < 8) return undefined;
  return sharp(data, { raw: { width, height, channels: 3 } })
    .extract({ left, top, width: right - left, height: bottom - top })
    .jpeg({ quality: 92 })
    .toBuffer();
}

function overlaySvg(
  width: number,
  height: number,
  scene: SceneConfig,
  box: Box | undefined,
  highlight: StillHighlight,
  lines: string[],
): string {
  const px = (v: number, total: number) => (v * total).toFixed(1);
  const zones = (highlight.polygons ?? [])
    .map(
      (poly) =>
        `<polygon points="${poly.map((p) => `${px(p.x, width)},${px(p.y, height)}`).join(' ')}" fill="#00b4ff" fill-opacity="0.15" stroke="#00b4ff" stroke-width="2"/>`,
    )
    .join('');
  const marks = (highlight.lines ?? [])
    .map(
      (l) =>
        `<line x1="${px(l.a.x, width)}" y1="${px(l.a.y, height)}" x2="${px(l.b.x, width)}" y2="${px(l.b.y, height)}" stroke="#00e0a0" stroke-width="3" stroke-dasharray="8 4"/>`,
    )
    .join('');
  const stopLines = scene.stopLines
    .map(
      (l) =>
        `<line x1="${px(l.a.x, width)}" y1="${px(l.a.y, height)}" x2="${px(l.b.x, width)}" y2="${px(l.b.y, height)}" stroke="#ff3030" stroke-width="3"/>`,
    )
    .join('');
  const vehicle = box
    ? `<rect x="${px(box.x, width)}" y="${px(box.y, height)}" width="${px(box.w, width)}" height="${px(box.h, height)}" fill="none" stroke="#ffd400" stroke-width="3"/>`
    : '';
  const fontSize = Math.max(11, Math.round(height / 28));
  const text = lines
    .map(
      (line, i) =>
        `<text x="8" y="${(i + 1) * (fontSize + 4)}" font-family="DejaVu Sans, sans-serif" font-size="${fontSize}" fill="#fff" stroke="#000" stroke-width="0.6">${escapeXml(line)}</text>`,
    )
    .join('');
  const bandHeight = lines.length * (fontSize + 4) + 8;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><rect x="0" y="0" width="${width}" height="${bandHeight}" fill="#000" fill-opacity="0.45"/>${zones}${stopLines}${marks}${vehicle}${text}</svg>`;
}

function escapeXml(s: string): string {
  return s.replace(
    /[<>&"']/g,
    (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!,
  );
}
