/**
 * Plate reading end to end through the real PP-OCRv4 models (registry, worker thread, onnxruntime):
 * rendered plates (made here with sharp + SVG text), and real Vietnamese crops from
 * ${SHARED_DIR:-../shared}/data/plates-vn when present (skipped with a message otherwise).
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../../../core/errors.js';
import { loadOcrModel } from '../../../detector/model-registry.js';
import { iou } from '../../../detector/plates/image.js';
import { comparablePlate } from '../../../detector/plates/plate-grammar.js';
import type { PlateReader } from '../../../detector/plates/plate-reader.js';
import { createPlateReader } from '../../../detector/plates/plate-reader.js';
import { COPIES, MODELS_DIR, copyModel } from '../../../models/build.js';
import { renderPlate, renderScene, toRgb } from '../../unit/plates/render-plate.js';

const SHARED_DIR = path.resolve(process.env['SHARED_DIR'] ?? '../shared');
const VN = path.join(SHARED_DIR, 'data/plates-vn');

let reader: PlateReader;

beforeAll(async () => {
  for (const c of COPIES) await copyModel(c);
  // PP-OCR alone (no whole-plate recogniser first): these tests pin what PP-OCRv4 reads by itself.
  reader = await createPlateReader({ modelsDir: MODELS_DIR, plateModel: null });
});

afterAll(async () => {
  await reader?.close();
});

describe('plate reader with PP-OCRv4 alone (through the registry, in a worker thread)', () => {
  it('names its models', () => {
    expect(reader.model).toEqual({ name: 'ppocr-rec', version: '4' });
    expect(reader.detModel).toEqual({ name: 'ppocr-det', version: '4' });
  });

  it('reads a one-row car plate', async () => {
    const r = await reader.readPlate(await renderPlate({ rows: ['30A-123.45'] }));
    expect(r).toMatchObject({
      compact: '30A12345',
      formatted: '30A-123.45',
      rows: 1,
      valid: true,
      colour: 'white',
    });
    expect(r.chars.map((c) => c.char).join('')).toBe('30A12345');
    expect(r.confidence).toBeGreaterThan(0.8);
    expect(r.model).toEqual({ name: 'ppocr-rec', version: '4' });
  });

  it('reads a two-row motorbike plate row by row', async () => {
    const r = await reader.readPlate(await renderPlate({ rows: ['29-B1', '123.45'], surround: 20 }));
    expect(r).toMatchObject({ compact: '29B112345', formatted: '29-B1 123.45', rows: 2, valid: true });
  });

  it('reads an electric motorbike plate (MĐ) on yellow', async () => {
    const r = await reader.readPlate(
      await renderPlate({ rows: ['29-MĐ1', '013.53'], background: '#e8c021' }),
    );
    expect(r).toMatchObject({ compact: '29MĐ101353', formatted: '29-MĐ1 013.53', rows: 2, colour: 'yellow' });
  });

  it('reads a square car plate and a blue state plate', async () => {
    const square = await reader.readPlate(
      await renderPlate({ rows: ['30G', '820.74'], width: 330, height: 165 }),
    );
    expect(square).toMatchObject({ compact: '30G82074', formatted: '30G-820.74', rows: 2 });
    const blue = await reader.readPlate(
      await renderPlate({ rows: ['80B-123.45'], background: '#1f4fbf', ink: '#ffffff' }),
    );
    expect(blue).toMatchObject({ compact: '80B12345', colour: 'blue' });
  });

  it('flags an old province code for review', async () => {
    const r = await reader.readPlate(await renderPlate({ rows: ['42C-456.78'] }));
    expect(r.compact).toBe('42C45678');
    expect(r.valid).toBe(true);
    expect(r.reviewReasons.join(' ')).toMatch(/province code 42/);
  });

  it('leaves a foreign plate as read in region auto', async () => {
    const r = await reader.readPlate(await renderPlate({ rows: ['B-MX 4021'] }), { region: 'auto' });
    expect(r.compact).toBe('BMX4021');
    expect(r.corrections).toEqual([]);
    expect(r.valid).toBe(false);
  });

  it('finds and reads the plate on a photo', async () => {
    const scene = await renderScene({ rows: ['51F-065.32'], width: 320, height: 56 }, { x: 250, y: 300 });
    const image = await toRgb(scene.file);
    const found = await reader.findPlates(image);
    expect(found.length).toBeGreaterThan(0);
    expect(found[0]!.model).toEqual({ name: 'ppocr-det', version: '4' });
    expect(Math.max(...found.map((p) => iou(p.box, scene.box)))).toBeGreaterThan(0.5);
    const read = await reader.readPlates(image);
    expect(read[0]!.reading.compact).toBe('51F06532');
    expect(iou(read[0]!.box, scene.box)).toBeGreaterThan(0.5);
  });

  it('rejects a buffer that is not RGB24 of the given size, at once', async () => {
    const err = await reader
      .readPlate({ data: new Uint8Array(10), width: 4, height: 4 })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe('bad_request');
  });

  it('loads only what its card describes', async () => {
    const loaded = await loadOcrModel({ modelsDir: MODELS_DIR, name: 'ppocr-rec', warmUp: false });
    expect(loaded.charset).toHaveLength(6624);
    expect(loaded.charset?.[0]).toBe("'");
    await loaded.session.release();
    await expect(
      loadOcrModel({ modelsDir: MODELS_DIR, name: 'ppocr-rec', version: '9' }),
    ).rejects.toMatchObject({
      code: 'model_invalid',
    });
  });
});

describe.skipIf(!existsSync(VN))('plate reader on real Vietnamese crops', () => {
  it('reads at least 18 of the first 20 crops whose label two OCR engines agree on', async () => {
    const lines = (await readFile(path.join(VN, 'labels.tsv'), 'utf8')).trim().split('\n').slice(1);
    const agreed = lines
      .map((l) => l.split('\t'))
      .filter((f) => f[4] === 'machine-agreed')
      .slice(0, 20);
    let right = 0;
    for (const [file, plate] of agreed) {
      const { data, info } = await sharp(path.join(VN, 'images', file!))
        .removeAlpha()
        .raw()
        .toBuffer({ resolveWithObject: true });
      const r = await reader.readPlate({ data, width: info.width, height: info.height });
      if (comparablePlate(r.compact) === comparablePlate(plate!)) right++;
    }
    expect(right).toBeGreaterThanOrEqual(18);
  });
});

if (!existsSync(VN)) console.warn(`skipping real-crop plate tests: ${VN} is absent (set SHARED_DIR)`);
