/**
 * The evaluation data layouts the plate CLI reads (any directory laid out the same way):
 *
 *  crops     labels.tsv (a header line naming at least `file` and `plate`; optional `rows`, `colour`,
 *            `label_source`) and the images in images/ (or beside labels.tsv)
 *  names     a folder (subfolders allowed) of plate crops whose file name is the plate text;
 *            a trailing `_N` (a second crop of the same plate) is not part of it
 *  openalpr  a folder (subfolders allowed) of photos, each with NAME.txt holding one line per plate:
 *            file<TAB>x<TAB>y<TAB>w<TAB>h<TAB>PLATE
 */
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { PixelBox } from '../../../detector/plates/image.js';

export type Layout = 'crops' | 'names' | 'openalpr';

export interface CropSample {
  /** Path relative to the dataset root (for reports). */
  id: string;
  file: string;
  plate: string;
  rows: 1 | 2 | undefined;
  colour: string | undefined;
  labelSource: string | undefined;
  /** Sub-folder (names layout) or '.' */
  group: string;
}

export interface PhotoSample {
  id: string;
  file: string;
  /** Sub-folder relative to the dataset root ('.' at the top). */
  group: string;
  plates: { box: PixelBox; plate: string }[];
}

const IMAGE = /\.(jpe?g|png|bmp|webp|tiff?)$/i;

export class DatasetError extends Error {}

async function walk(dir: string, visit: (file: string) => Promise<void> | void): Promise<void> {
  const entries = (await readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1));
  for (const e of entries) {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) await walk(full, visit);
    else if (e.isFile()) await visit(full);
  }
}

function parseRows(v: string | undefined): 1 | 2 | undefined {
  return v === '1' ? 1 : v === '2' ? 2 : undefined;
}

/** crops: labels.tsv + images/. */
export async function readCrops(root: string): Promise<CropSample[]> {
  const labels = path.join(root, 'labels.tsv');
  if (!existsSync(labels))
    throw new DatasetError(`${labels} not found (layout crops needs labels.tsv + images/)`);
  const lines = (await readFile(labels, 'utf8')).split(/\r?\n/).filter((l) => l.trim() !== '');
  const header = (lines.shift() ?? '').split('\t').map((h) => h.trim().toLowerCase());
  const col = (name: string) => header.indexOf(name);
  const [cFile, cPlate] = [col('file'), col('plate')];
  if (cFile < 0 || cPlate < 0) {
    throw new DatasetError(
      `${labels}: the header must name 'file' and 'plate' columns (has: ${header.join(', ')})`,
    );
  }
  const [cRows, cColour, cSource] = [col('rows'), col('colour'), col('label_source')];
  const imagesDir = existsSync(path.join(root, 'images')) ? path.join(root, 'images') : root;
  return lines.map((line, i) => {
    const f = line.split('\t');
    const file = f[cFile]?.trim();
    const plate = f[cPlate]?.trim();
    if (!file || plate === undefined) throw new DatasetError(`${labels}:${i + 2}: missing file or plate`);
    const colour = cColour >= 0 ? f[cColour]?.trim() : undefined;
    return {
      id: file,
      file: path.join(imagesDir, file),
      plate,
      rows: cRows >= 0 ? parseRows(f[cRows]?.trim()) : undefined,
      colour: colour && colour !== 'unknown' ? colour : undefined,
      labelSource: cSource >= 0 ? f[cSource]?.trim() || undefined : undefined,
      group: '.',
    };
  });
}

/** The plate text of a `names` file: the base name, less a trailing `_N` duplicate marker. */
export function plateFromFileName(file: string): string {
  return path
    .basename(file)
    .replace(/\.[^.]+$/, '')
    .replace(/_\d+$/, '');
}

/** names: plate text = file name. */
export async function readNames(root: string): Promise<CropSample[]> {
  if (!existsSync(root)) throw new DatasetError(`${root} not found`);
  const out: CropSample[] = [];
  await walk(root, (file) => {
    if (!IMAGE.test(file)) return;
    const rel = path.relative(root, file);
    out.push({
      id: rel,
      file,
      plate: plateFromFileName(file),
      rows: undefined,
      colour: undefined,
      labelSource: undefined,
      group: path.dirname(rel),
    });
  });
  return out;
}

/** openalpr: NAME.txt beside each photo. */
export async function readOpenalpr(root: string): Promise<PhotoSample[]> {
  if (!existsSync(root)) throw new DatasetError(`${root} not found`);
  const byImage = new Map<string, PhotoSample>();
  await walk(root, async (file) => {
    if (!file.endsWith('.txt')) return;
    const dir = path.dirname(file);
    for (const line of (await readFile(file, 'utf8')).split(/\r?\n/)) {
      const f = line.trim().split('\t');
      if (f.length < 6 || !IMAGE.test(f[0]!)) continue;
      const [name, x, y, w, h] = f as [string, string, string, string, string];
      const plate = f.slice(5).join(' ').trim();
      const box = { x: Number(x), y: Number(y), w: Number(w), h: Number(h) };
      if (![box.x, box.y, box.w, box.h].every(Number.isFinite)) continue;
      const image = path.join(dir, name);
      if (!existsSync(image)) continue;
      const rel = path.relative(root, image);
      const sample = byImage.get(image) ?? { id: rel, file: image, group: path.dirname(rel), plates: [] };
      sample.plates.push({ box, plate });
      byImage.set(image, sample);
    }
  });
  return [...byImage.values()].sort((a, b) => (a.id < b.id ? -1 : 1));
}
