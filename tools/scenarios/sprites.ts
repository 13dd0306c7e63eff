/**
 * Vehicle sprites for the scenario renderer, cut from real car photos with an annotated plate box
 * (`${sharedDir}/data/plates-endtoend/{us,eu,br}`, openalpr layout: `NAME.txt` holds `file x y w h PLATE`).
 * The plate box gives the photo's scale (the plate's real width is known per region) and where the car's
 * front or rear is: the car is cut around it, its outline feathered into an alpha mask, and a rendered
 * Vietnamese plate is painted over the original plate, so every vehicle carries a known VN plate.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { AppError } from '../../core/errors.js';

export type PhotoRegion = 'us' | 'eu' | 'br';
export const PHOTO_REGIONS: readonly PhotoRegion[] = ['us', 'eu', 'br'];
export const ENDTOEND_DIR = path.join('data', 'plates-endtoend');

/** Real plate widths, metres: US 12 in, EU 520 mm, Brazil (Mercosur) 400 mm. */
const PLATE_WIDTH_M: Record<PhotoRegion, number> = { us: 0.305, eu: 0.52, br: 0.4 };

/** The car cut around its plate, metres relative to the plate's centre (x right, y down). */
export const CUT = { left: -1.0, right: 1.0, top: -1.1, bottom: 0.5 } as const;
/** The cut's size in metres (what the renderer scales by the ground distance). */
export const SPRITE_WIDTH_M = CUT.right - CUT.left;
export const SPRITE_HEIGHT_M = CUT.bottom - CUT.top;
/** Photos below this many pixels per metre make blurry vehicles; they are not used. */
const MIN_PX_PER_M = 90;

export interface PhotoEntry {
  /** Path relative to the dataset root (`us/abc.jpg`): stable across machines. */
  id: string;
  file: string;
  region: PhotoRegion;
  box: { x: number; y: number; w: number; h: number };
}

/** Vietnamese plate formats painted on the vehicles: one row 520×110 mm, two rows 330×165 mm. */
export interface VnPlateText {
  /** Compact form, what the plate reader should read: `30A12345`. */
  compact: string;
  /** Rows as printed: ['30A-123.45'] or ['30A', '123.45']. */
  rows: string[];
}

const PLATE_SIZE_M = { 1: { w: 0.52, h: 0.11 }, 2: { w: 0.33, h: 0.165 } } as const;

/** The annotated photos of the dataset, in a stable order; empty when the dataset is absent. */
export async function listPhotos(sharedDir: string): Promise<PhotoEntry[]> {
  const root = path.resolve(sharedDir, ENDTOEND_DIR);
  const out: PhotoEntry[] = [];
  for (const region of PHOTO_REGIONS) {
    let names: string[];
    try {
      names = (await fs.readdir(path.join(root, region))).filter((n) => n.endsWith('.txt')).sort();
    } catch {
      continue; // this region is absent: the others still serve
    }
    for (const name of names) {
      const line = (await fs.readFile(path.join(root, region, name), 'utf8')).trim().split('\n')[0] ?? '';
      const parts = line.split(/\s+/);
      if (parts.length < 5) continue;
      const [file, x, y, w, h] = parts as [string, string, string, string, string];
      const box = { x: Number(x), y: Number(y), w: Number(w), h: Number(h) };
      if (![box.x, box.y, box.w, box.h].every(Number.isFinite) || box.w <= 0 || box.h <= 0) continue;
      out.push({ id: `${region}/${file}`, file: path.join(root, region, file), region, box });
    }
  }
  return out;
}

interface CutGeometry {
  left: number;
  top: number;
  width: number;
  height: number;
  pxPerM: number;
}

/** Where the car is cut from a photo, or undefined when the cut would leave the photo or be too small. */
export function cutGeometry(
  photo: Pick<PhotoEntry, 'region' | 'box'>,
  size: { width: number; height: number },
): CutGeometry | undefined {
  const pxPerM = photo.box.w / PLATE_WIDTH_M[photo.region];
  if (pxPerM < MIN_PX_PER_M) return undefined;
  const cx = photo.box.x + photo.box.w / 2;
  const cy = photo.box.y + photo.box.h / 2;
  const left = Math.round(cx + CUT.left * pxPerM);
  const top = Math.round(cy + CUT.top * pxPerM);
  const width = Math.round(SPRITE_WIDTH_M * pxPerM);
  const height = Math.round(SPRITE_HEIGHT_M * pxPerM);
  if (left < 0 || top < 0 || left + width > size.width || top + height > size.height) return undefined;
  return { left, top, width, height, pxPerM };
}

/** Photos whose car can be cut whole (the sprite pool), checked against each image's real size. */
export async function usablePhotos(photos: readonly PhotoEntry[]): Promise<PhotoEntry[]> {
  const out: PhotoEntry[] = [];
  for (const p of photos) {
    const meta = await sharp(p.file)
      .metadata()
      .catch(() => undefined);
    if (!meta?.width || !meta.height) continue;
    if (cutGeometry(p, { width: meta.width, height: meta.height })) out.push(p);
  }
  return out;
}

const escapeXml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** A Vietnamese plate as SVG (white, black characters, DejaVu Sans Bold), at w×h pixels. */
export function vnPlateSvg(plate: VnPlateText, w: number, h: number): string {
  const text = (s: string, baseline: number, size: number) =>
    `<text x="${w / 2}" y="${baseline.toFixed(1)}" font-family="DejaVu Sans" font-weight="bold" ` +
    `font-size="${Math.min(size, (0.9 * w) / (0.64 * [...s].length)).toFixed(1)}" ` +
    `text-anchor="middle" fill="#111">${escapeXml(s)}</text>`;
  const body =
    plate.rows.length === 2
      ? text(plate.rows[0]!, 0.42 * h, 0.37 * h) + text(plate.rows[1]!, 0.88 * h, 0.37 * h)
      : text(plate.rows[0]!, 0.8 * h, 0.78 * h);
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}">` +
    `<rect x="0.5" y="0.5" width="${w - 1}" height="${h - 1}" rx="${0.06 * h}" fill="#f2f2ee" ` +
    `stroke="#111" stroke-width="${Math.max(1, 0.035 * h)}"/>${body}</svg>`
  );
}

/** The car's outline in the cut (front or rear view), as a feathered SVG alpha mask. */
function maskSvg(w: number, h: number): string {
  const pts = [
    [0.05, 0.97],
    [0.02, 0.72],
    [0.03, 0.5],
    [0.14, 0.42],
    [0.22, 0.08],
    [0.78, 0.08],
    [0.86, 0.42],
    [0.97, 0.5],
    [0.98, 0.72],
    [0.95, 0.97],
  ]
    .map(([x, y]) => `${(x! * w).toFixed(1)},${(y! * h).toFixed(1)}`)
    .join(' ');
  const blur = Math.max(1, 0.012 * w);
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}">` +
    `<defs><filter id="f"><feGaussianBlur stdDeviation="${blur.toFixed(1)}"/></filter></defs>` +
    `<polygon points="${pts}" fill="#fff" filter="url(#f)"/></svg>`
  );
}

export interface Sprite {
  /** RGBA pixels. */
  data: Buffer;
  width: number;
  height: number;
  /** Pixels per metre of the sprite (its size in metres is SPRITE_WIDTH_M × SPRITE_HEIGHT_M). */
  pxPerM: number;
}

/**
 * The sprite of one vehicle: the car cut from `photo`, masked to its outline, with `plate` painted
 * over the original plate (the VN plate's real size at the photo's scale, grown to cover the original).
 */
export async function makeSprite(photo: PhotoEntry, plate: VnPlateText): Promise<Sprite> {
  const image = sharp(photo.file).rotate();
  const meta = await image.metadata();
  const cut = cutGeometry(photo, { width: meta.width ?? 0, height: meta.height ?? 0 });
  if (!cut) {
    throw new AppError('bad_request', `photo ${photo.id} cannot give a whole car`, { permanent: true });
  }
  const rows = plate.rows.length === 2 ? 2 : 1;
  const size = PLATE_SIZE_M[rows];
  let pw = size.w * cut.pxPerM;
  let ph = size.h * cut.pxPerM;
  const cover = Math.max((photo.box.w * 1.06) / pw, (photo.box.h * 1.12) / ph, 1);
  pw = Math.round(pw * cover);
  ph = Math.round(ph * cover);
  const cx = photo.box.x + photo.box.w / 2 - cut.left;
  const cy = photo.box.y + photo.box.h / 2 - cut.top;
  const plateLeft = Math.max(0, Math.round(cx - pw / 2));
  const plateTop = Math.max(0, Math.round(cy - ph / 2));
  const plated = await image
    .extract({ left: cut.left, top: cut.top, width: cut.width, height: cut.height })
    .composite([{ input: Buffer.from(vnPlateSvg(plate, pw, ph)), left: plateLeft, top: plateTop }])
    .removeAlpha()
    .png()
    .toBuffer();
  const mask = await sharp(Buffer.from(maskSvg(cut.width, cut.height)))
    .extractChannel('alpha')
    .toBuffer();
  const { data, info } = await sharp(plated).joinChannel(mask).raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, pxPerM: cut.pxPerM };
}
