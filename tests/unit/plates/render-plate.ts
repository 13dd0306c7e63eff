/**
 * Test fixtures made by the project: plate images rendered with sharp from SVG text (DejaVu Sans, as
 * installed with fontconfig), as packed RGB24 like the detector's frames.
 */
import sharp from 'sharp';
import type { RgbImage } from '../../../detector/plates/image.js';

export interface PlateDrawing {
  /** One string per row, as printed: ['30A-123.45'] or ['29-B1', '123.45']. */
  rows: readonly string[];
  width?: number;
  height?: number;
  background?: string;
  ink?: string;
  /** Margin of another colour around the plate, in pixels (a crop that is not tight). */
  surround?: number;
  surroundColour?: string;
  /** Share of the height where the rows meet (2 rows; default 0.5). */
  splitAt?: number;
}

const escape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function plateSvg(d: PlateDrawing): string {
  const rows = d.rows;
  const W = d.width ?? (rows.length === 2 ? 190 : 470);
  const H = d.height ?? (rows.length === 2 ? 140 : 110);
  const m = d.surround ?? 0;
  const bg = d.background ?? '#f4f4f0';
  const ink = d.ink ?? '#151515';
  const split = (d.splitAt ?? 0.5) * H;
  // DejaVu Sans Bold advances about 0.65 em per character: fit the row into 88 % of the width.
  const text = (s: string, baseline: number, size: number) =>
    `<text x="${m + W / 2}" y="${m + baseline}" font-family="DejaVu Sans" font-weight="bold" ` +
    `font-size="${Math.min(size, (0.88 * W) / (0.65 * [...s].length)).toFixed(1)}" ` +
    `text-anchor="middle" fill="${ink}">${escape(s)}</text>`;
  const body =
    rows.length === 2
      ? text(rows[0]!, split - 0.1 * H, 0.36 * H) + text(rows[1]!, H - 0.1 * H, 0.36 * H)
      : text(rows[0]!, 0.79 * H, 0.8 * H);
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W + 2 * m}" height="${H + 2 * m}">` +
    `<rect width="${W + 2 * m}" height="${H + 2 * m}" fill="${d.surroundColour ?? '#303030'}"/>` +
    `<rect x="${m}" y="${m}" width="${W}" height="${H}" rx="${0.05 * H}" fill="${bg}" stroke="${ink}" stroke-width="${0.03 * H}"/>` +
    body +
    '</svg>'
  );
}

export async function toRgb(input: Buffer): Promise<RgbImage> {
  const { data, info } = await sharp(input)
    .toColourspace('srgb')
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  return {
    data: new Uint8Array(data.buffer, data.byteOffset, data.length),
    width: info.width,
    height: info.height,
  };
}

export async function renderPlate(d: PlateDrawing): Promise<RgbImage> {
  return toRgb(Buffer.from(plateSvg(d)));
}

/** The rendered plate as an encoded image file (for datasets the CLI reads). */
export async function renderPlateFile(d: PlateDrawing, format: 'png' | 'jpeg' = 'png'): Promise<Buffer> {
  const s = sharp(Buffer.from(plateSvg(d)));
  return format === 'png' ? s.png().toBuffer() : s.jpeg({ quality: 92 }).toBuffer();
}

/**
 * A street-like photo with a car-coloured block carrying a plate at (x, y): for the localiser and the
 * openalpr layout. Returns the image file and the plate's box.
 */
export async function renderScene(
  plate: PlateDrawing,
  at: { x: number; y: number },
  size = { width: 800, height: 500 },
): Promise<{ file: Buffer; box: { x: number; y: number; w: number; h: number } }> {
  const W = plate.width ?? (plate.rows.length === 2 ? 190 : 470);
  const H = plate.height ?? (plate.rows.length === 2 ? 140 : 110);
  const plateSvgText = plateSvg(plate)
    .replace(/^<svg[^>]*>/, '')
    .replace(/<\/svg>$/, '');
  const svg =
    `<svg xmlns="http://www.w3.org/2000/svg" width="${size.width}" height="${size.height}">` +
    `<rect width="${size.width}" height="${size.height}" fill="#8a9aa8"/>` +
    `<rect x="0" y="${size.height * 0.7}" width="${size.width}" height="${size.height * 0.3}" fill="#4a4a4a"/>` +
    `<rect x="${at.x - W * 0.6}" y="${at.y - H * 1.5}" width="${W * 2.2}" height="${H * 3}" rx="20" fill="#7a1f1f"/>` +
    `<g transform="translate(${at.x},${at.y})">${plateSvgText}</g>` +
    '</svg>';
  return {
    file: await sharp(Buffer.from(svg)).jpeg({ quality: 92 }).toBuffer(),
    box: { x: at.x, y: at.y, w: W, h: H },
  };
}
