/**
 * The plate evaluation CLI as a contract: tiny datasets written here in each layout (crops, names,
 * openalpr), the CLI run as a process, the JSON read back. The peer models are exercised when
 * ${SHARED_DIR:-../shared}/models holds them (skipped with a message otherwise).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COPIES, copyModel } from '../../../models/build.js';
import { renderPlateFile, renderScene } from '../../unit/plates/render-plate.js';

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '../../..');
const TSX = path.join(ROOT, 'node_modules/.bin/tsx');
const CLI = path.join(ROOT, 'scripts/eval/eval-plates.ts');
const SHARED_DIR = path.resolve(process.env['SHARED_DIR'] ?? '../shared');
const PEERS = ['cct_xs_v1_global.onnx', 'plate_detector_yolov8n_int8.onnx'].every((f) =>
  existsSync(path.join(SHARED_DIR, 'models', f)),
);

let tmp: string;

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(TSX, [CLI, ...args], {
      cwd: ROOT,
      env: { ...process.env, SHARED_DIR },
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

async function report(file: string): Promise<Record<string, unknown>> {
  return JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
}

beforeAll(async () => {
  for (const c of COPIES) await copyModel(c);
  tmp = await mkdtemp(path.join(os.tmpdir(), 'eval-plates-'));
  // crops: labels.tsv + images/
  const crops = path.join(tmp, 'crops');
  await mkdir(path.join(crops, 'images'), { recursive: true });
  await writeFile(path.join(crops, 'images/a.png'), await renderPlateFile({ rows: ['30A-123.45'] }));
  await writeFile(
    path.join(crops, 'images/b.jpg'),
    await renderPlateFile({ rows: ['29-B1', '123.45'], surround: 15 }, 'jpeg'),
  );
  await writeFile(path.join(crops, 'images/c.png'), await renderPlateFile({ rows: ['29-MĐ1', '013.53'] }));
  await writeFile(
    path.join(crops, 'labels.tsv'),
    'file\tplate\trows\tcolour\tlabel_source\n' +
      'a.png\t30A12345\t1\twhite\tmachine-agreed\n' +
      'b.jpg\t29B112345\t2\twhite\tmachine-agreed\n' +
      'c.png\t29MĐ101353\t2\tunknown\tmachine\n',
  );
  // names: plate text = file name (a _N suffix is a second crop of the same plate), sub-folders allowed
  const names = path.join(tmp, 'names');
  await mkdir(path.join(names, 'de'), { recursive: true });
  await writeFile(path.join(names, 'de/BMX4021.png'), await renderPlateFile({ rows: ['B-MX 4021'] }));
  await writeFile(path.join(names, 'KA7731_1.png'), await renderPlateFile({ rows: ['KA 7731'] }));
  // openalpr: photos with NAME.txt
  const alpr = path.join(tmp, 'alpr/eu');
  await mkdir(alpr, { recursive: true });
  const scene = await renderScene({ rows: ['51F-065.32'], width: 320, height: 56 }, { x: 250, y: 300 });
  await writeFile(path.join(alpr, 'car1.jpg'), scene.file);
  const b = scene.box;
  await writeFile(path.join(alpr, 'car1.txt'), `car1.jpg\t${b.x}\t${b.y}\t${b.w}\t${b.h}\t51F06532\n`);
}, 120_000);

afterAll(async () => {
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

describe('eval:plates CLI', () => {
  it('evaluates a crops dataset: exact, character accuracy, by rows and label source, coverage', async () => {
    const out = path.join(tmp, 'crops.json');
    const r = await cli(['--dataset', path.join(tmp, 'crops'), '--layout', 'crops', '--out', out]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/\[crops\] 3\/3 \(100\.0 %\)/);
    expect(r.stdout).toMatch(/confidence ≥ {2}coverage {2}exact/);
    const j = await report(out);
    expect(j).toMatchObject({ layout: 'crops', n: 3, exact: 1, charAccuracy: 1, region: 'vn' });
    expect(j['byRows']).toMatchObject({ '1': { n: 1, exact: 1 }, '2': { n: 2, exact: 1 } });
    expect(j['byLabelSource']).toMatchObject({ 'machine-agreed': { n: 2 }, machine: { n: 1 } });
    expect(j['coverage']).toEqual(
      expect.arrayContaining([expect.objectContaining({ threshold: 0, coverage: 1, exact: 1 })]),
    );
    expect(j['colourAccuracy']).toBe(1);
    expect(j['models']).toMatchObject({ ocr: 'ppocr-rec/4' });
    expect(j['machine']).toMatchObject({ node: process.version });
  });

  it('evaluates a names dataset without Vietnamese corrections', async () => {
    const out = path.join(tmp, 'names.json');
    const r = await cli(['--dataset', path.join(tmp, 'names'), '--layout', 'names', '--out', out, '--quiet']);
    expect(r.code).toBe(0);
    const j = await report(out);
    expect(j).toMatchObject({ layout: 'names', n: 2, exact: 1, region: 'auto' });
    expect(Object.keys(j['byGroup'] as object).sort()).toEqual(['.', 'de']);
  });

  it('evaluates an openalpr dataset: recall at IoU ≥ 0.5 and exact text, per sub-folder', async () => {
    const out = path.join(tmp, 'alpr.json');
    const r = await cli([
      '--dataset',
      path.join(tmp, 'alpr'),
      '--layout',
      'openalpr',
      '--out',
      out,
      '--quiet',
    ]);
    expect(r.code).toBe(0);
    const j = await report(out);
    expect(j).toMatchObject({ layout: 'openalpr', n: 1, recall: 1, exact: 1 });
    expect(j['byGroup']).toMatchObject({ eu: { n: 1, recall: 1, exact: 1 } });
    expect(j['models']).toMatchObject({ localiser: expect.stringContaining('ppocr-det/4') });
  });

  it('fails with a clear message when the dataset is absent', async () => {
    const r = await cli([
      '--dataset',
      path.join(tmp, 'nothing'),
      '--layout',
      'crops',
      '--out',
      path.join(tmp, 'x.json'),
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/labels\.tsv not found/);
  });

  it('explains its usage on a bad argument', async () => {
    const r = await cli(['--dataset', tmp, '--layout', 'pascal-voc']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--layout must be one of crops, names, openalpr/);
  });

  it.skipIf(!PEERS)('runs the same evaluation with the peer OCR and plate detector', async () => {
    const crops = path.join(tmp, 'crops-peer.json');
    expect(
      (
        await cli([
          '--dataset',
          path.join(tmp, 'crops'),
          '--layout',
          'crops',
          '--ocr',
          'cct_xs',
          '--out',
          crops,
          '--quiet',
        ])
      ).code,
    ).toBe(0);
    expect(await report(crops)).toMatchObject({ n: 3, models: { ocr: 'cct_xs_v1_global (peer)' } });
    const alpr = path.join(tmp, 'alpr-peer.json');
    const r = await cli([
      '--dataset',
      path.join(tmp, 'alpr'),
      '--layout',
      'openalpr',
      '--detector',
      'yolov8-plate',
      '--ocr',
      'cct_xs',
      '--out',
      alpr,
      '--quiet',
    ]);
    expect(r.code).toBe(0);
    expect(await report(alpr)).toMatchObject({
      n: 1,
      models: { localiser: expect.stringContaining('yolov8') },
    });
  });
});

if (!PEERS)
  console.warn(`skipping peer-model CLI test: no peer models under ${SHARED_DIR}/models (set SHARED_DIR)`);
