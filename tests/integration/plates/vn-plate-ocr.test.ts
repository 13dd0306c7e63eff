/**
 * The project's own plate reader, vn-plate-ocr/1, as committed: loaded through the registry (card,
 * sha256, charset, session signature), reading plates rendered here with sharp + SVG text, and as the
 * first reader of createPlateReader with PP-OCRv4 as second opinion.
 */
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadOcrModel } from '../../../detector/model-registry.js';
import { comparablePlate } from '../../../detector/plates/plate-grammar.js';
import type { PlateReader } from '../../../detector/plates/plate-reader.js';
import { createPlateReader } from '../../../detector/plates/plate-reader.js';
import { PlateRecogniser } from '../../../detector/plates/plate-recogniser.js';
import { COPIES, MODELS_DIR, copyModel } from '../../../models/build.js';
import { renderPlate } from '../../unit/plates/render-plate.js';

const SHARED_DIR = path.resolve(process.env['SHARED_DIR'] ?? '../shared');
const VN = path.join(SHARED_DIR, 'data/plates-vn');
const OWN = path.join(MODELS_DIR, 'vn-plate-ocr', '1');
/**
 * The targets of the model (two-row plates, real crops) are not met by vn-plate-ocr/1 as committed
 * (docs/ACCURACY.md, Plates): those checks run with PN_PLATE_OCR_TARGETS=1, to judge a new version.
 */
const TARGETS = process.env['PN_PLATE_OCR_TARGETS'] === '1';

let recogniser: PlateRecogniser;
let reader: PlateReader;
let tmp: string | undefined;

beforeAll(async () => {
  for (const c of COPIES) await copyModel(c);
  recogniser = new PlateRecogniser(await loadOcrModel({ modelsDir: MODELS_DIR, name: 'vn-plate-ocr' }));
  reader = await createPlateReader({ modelsDir: MODELS_DIR, plateModel: 'vn-plate-ocr' });
});

afterAll(async () => {
  await recogniser?.close();
  await reader?.close();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

describe('vn-plate-ocr/1 through the registry', () => {
  it('is a small committed model whose card names its training', async () => {
    expect(recogniser.model).toEqual({ name: 'vn-plate-ocr', version: '1' });
    expect(recogniser.card.task).toBe('plate-recognition');
    expect(recogniser.card.licence.spdx).toBe('Apache-2.0');
    expect(recogniser.card.training.command).toMatch(/models:train:plate-ocr/);
    expect((await stat(path.join(OWN, 'model.onnx'))).size).toBeLessThan(5 * 2 ** 20);
  });

  it('reads a one-row car plate in one pass', async () => {
    const [r] = await recogniser.read([await renderPlate({ rows: ['30A-123.45'] })]);
    expect(r).toMatchObject({ text: '30A12345', rows: 1 });
  });

  it('reads a batch of crops exactly as it reads each alone', async () => {
    const crops = await Promise.all([
      renderPlate({ rows: ['51F-065.32'] }),
      renderPlate({ rows: ['30G', '820.74'], width: 330, height: 165 }),
      renderPlate({ rows: ['80B-123.45'], background: '#1f4fbf', ink: '#ffffff' }),
    ]);
    const batch = await recogniser.read(crops);
    const alone = await Promise.all(crops.map(async (c) => (await recogniser.read([c]))[0]!));
    expect(batch.map((r) => r.text)).toEqual(alone.map((r) => r.text));
    expect(batch.map((r) => r.rows)).toEqual(alone.map((r) => r.rows));
    expect(batch[0]!.text).toBe('51F06532');
    batch.forEach((r, i) => expect(r.confidence).toBeCloseTo(alone[i]!.confidence, 5));
  });

  it('refuses a model file that differs from its card', async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'vn-plate-ocr-'));
    const dir = path.join(tmp, 'vn-plate-ocr', '1');
    await mkdir(dir, { recursive: true });
    for (const f of ['card.json', 'charset.txt']) await copyFile(path.join(OWN, f), path.join(dir, f));
    const bytes = await readFile(path.join(OWN, 'model.onnx'));
    bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 0xff;
    await writeFile(path.join(dir, 'model.onnx'), bytes);
    await expect(loadOcrModel({ modelsDir: tmp, name: 'vn-plate-ocr' })).rejects.toMatchObject({
      code: 'model_invalid',
      message: expect.stringMatching(/sha256/),
    });
  });
});

describe('the plate reader with vn-plate-ocr first, PP-OCRv4 second opinion', () => {
  it('names the whole-plate recogniser, and each reading the recogniser it came from', async () => {
    expect(reader.model).toEqual({ name: 'vn-plate-ocr', version: '1' });
    const one = await reader.readPlate(await renderPlate({ rows: ['30A-123.45'] }));
    expect(one).toMatchObject({ compact: '30A12345', rows: 1, valid: true });
    expect(['vn-plate-ocr', 'ppocr-rec']).toContain(one.model.name);
    const two = await reader.readPlate(
      await renderPlate({ rows: ['29-MĐ1', '013.53'], background: '#e8c021' }),
    );
    expect(two).toMatchObject({ compact: '29MĐ101353', formatted: '29-MĐ1 013.53', rows: 2, valid: true });
  });

  it('reads a foreign plate as it is in region auto', async () => {
    const r = await reader.readPlate(await renderPlate({ rows: ['B-MX 4021'] }), { region: 'auto' });
    expect(r.compact).toBe('BMX4021');
    expect(r.corrections).toEqual([]);
  });
});

describe.skipIf(!TARGETS)('vn-plate-ocr targets (PN_PLATE_OCR_TARGETS=1)', () => {
  it('reads both rows of a motorbike plate and says where they split', async () => {
    const [r] = await recogniser.read([await renderPlate({ rows: ['29-B1', '123.45'], surround: 12 })]);
    expect(r).toMatchObject({ text: '29B112345', rows: 2, rowBreak: 4 });
  });
});

describe.skipIf(!existsSync(VN) || !TARGETS)('vn-plate-ocr targets on real Vietnamese crops', () => {
  it('reads at least 45 of the first 50 crops whose label two OCR engines agree on, by itself', async () => {
    const lines = (await readFile(path.join(VN, 'labels.tsv'), 'utf8')).trim().split('\n').slice(1);
    const agreed = lines
      .map((l) => l.split('\t'))
      .filter((f) => f[4] === 'machine-agreed')
      .slice(0, 50);
    let right = 0;
    for (const [file, plate] of agreed) {
      const { data, info } = await sharp(path.join(VN, 'images', file!))
        .removeAlpha()
        .raw()
        .toBuffer({ resolveWithObject: true });
      const [r] = await recogniser.read([{ data, width: info.width, height: info.height }]);
      if (comparablePlate(r!.text) === comparablePlate(plate!)) right++;
    }
    expect(right).toBeGreaterThanOrEqual(45);
  });
});

if (!TARGETS) console.warn('skipping vn-plate-ocr target checks: set PN_PLATE_OCR_TARGETS=1 to run them');
else if (!existsSync(VN))
  console.warn(`skipping real-crop vn-plate-ocr tests: ${VN} is absent (set SHARED_DIR)`);
