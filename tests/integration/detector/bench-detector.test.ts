/**
 * The benchmark CLI's contract (`npm run bench:detector`): the JSON it writes and the table it prints.
 * Two rounds only: this checks the shape of the report and that every figure is a measurement, never
 * how fast anything is (timings belong in the benchmark itself, docs/PERFORMANCE.md).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BenchReport } from '../../../detector/benchmark.js';
import { BUILDS, buildModel } from '../../../models/build.js';

const SHARED_DIR = path.resolve(process.env['SHARED_DIR'] ?? '../shared');
const PEER = path.join(SHARED_DIR, 'models/yolox_nano.onnx');
const ROOT = path.resolve(import.meta.dirname, '../../..');

describe('bench:detector', () => {
  let dir: string;

  beforeAll(async () => {
    for (const b of BUILDS) await buildModel(b);
    dir = await mkdtemp(path.join(os.tmpdir(), 'bench-detector-'));
  });

  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('writes the vehicle summary, per-model figures, the machine and the date', async () => {
    const out = path.join(dir, 'bench.json');
    const args = ['tsx', 'tools/bench-detector.ts', '--out', out, '--iterations', '2', '--warmup', '1'];
    const peer = existsSync(PEER);
    if (peer) args.push('--peer');
    else console.warn(`--peer not exercised: ${PEER} is absent (set SHARED_DIR)`);
    const env: NodeJS.ProcessEnv = { ...process.env, SHARED_DIR };
    delete env['DETECTOR_MODEL'];
    delete env['DETECTOR_MODEL_VERSION'];
    const { stdout, stderr } = await promisify(execFile)('npx', args, { cwd: ROOT, env, timeout: 120_000 });
    const report = JSON.parse(await readFile(out, 'utf8')) as BenchReport;

    expect(report.schema).toBe('bench-detector/1');
    expect(Date.parse(report.date)).toBeGreaterThan(Date.parse('2024-01-01'));
    expect(report.machine).toMatchObject({ cores: expect.any(Number), onnxruntime: '1.29.0' });
    expect(report.machine.cpuModel).toMatch(/\S/);
    expect(report.machine.node).toBe(process.version);
    // The summary is the version production loads by default: version 3 (2 is a preview, 1 older).
    expect(report.vehicle).toMatchObject({ model: 'nanodet-coco/3', input: '384x224', frame: '1920x1080' });
    expect(report.vehicle!.p50_ms).toBeGreaterThan(0);
    expect(report.vehicle!.overhead_ratio).toBeCloseTo(
      report.vehicle!.p50_ms / report.vehicle!.raw_p50_ms,
      2,
    );

    const names = report.models.map((m) => `${m.model}@${m.input}:${m.origin}`);
    expect(names).toEqual([
      'nanodet-coco/1@416x416:card',
      'nanodet-coco/2@320x320:card',
      'nanodet-coco/3@384x224:card',
      ...(peer ? ['yolox-nano/1@416x416:peer'] : []),
    ]);
    for (const m of report.models) {
      expect(m.frames.map((f) => f.frame)).toEqual(['1920x1080', '640x360']);
      for (const f of m.frames) {
        expect(f.pipeline.n).toBe(2);
        expect(f.raw.p50).toBeGreaterThan(0);
        // The pipeline contains a session.run, pre- and post-processing: its parts add up to it.
        expect(f.preprocess.p50 + f.inference.p50 + f.postprocess.p50).toBeLessThanOrEqual(
          f.pipeline.max + 0.5,
        );
        expect(f.share.preprocess).toBeGreaterThan(0);
        expect(f.share.preprocess + f.share.postprocess).toBeLessThan(1);
        expect(f.fpsPerCore).toBeCloseTo(1000 / f.pipeline.p50, 2);
      }
      expect(m.worker?.map((w) => w.frame)).toEqual(['1920x1080', '640x360']);
      for (const w of m.worker!) expect(w.roundTrip.p50).toBeGreaterThan(0);
    }
    expect(stdout).toMatch(/^model +input +frame +p50 ms/m);
    expect(stdout).toMatch(/vehicle nanodet-coco\/3 @384x224, 1920x1080: p50 [\d.]+ ms/);
    expect(stderr).toMatch(/loaded nanodet-coco\/1 \(card, 416×416\) in \d+ ms/);
    expect(stderr).toMatch(/loaded nanodet-coco\/2 \(card, 320×320\) in \d+ ms/);
    expect(stderr).toMatch(/loaded nanodet-coco\/3 \(card, 384×224\) in \d+ ms/);
  });

  it('measures a pinned version and other sizes converted by the build code', async () => {
    const out = path.join(dir, 'sizes.json');
    const args = ['tsx', 'tools/bench-detector.ts', '--out', out, '--iterations', '1', '--warmup', '0'];
    args.push('--models', 'nanodet-coco@2', '--sizes', '288,300', '--no-worker');
    const env: NodeJS.ProcessEnv = { ...process.env, SHARED_DIR, DETECTOR_MODEL_VERSION: '2' };
    delete env['DETECTOR_MODEL'];
    await promisify(execFile)('npx', args, { cwd: ROOT, env, timeout: 120_000 });
    const report = JSON.parse(await readFile(out, 'utf8')) as BenchReport;
    expect(report.models.map((m) => `${m.model}@${m.input}:${m.origin}`)).toEqual([
      'nanodet-coco/2@320x320:card',
      'nanodet-coco/2-in288@288x288:derived',
    ]);
    expect(report.vehicle).toMatchObject({ model: 'nanodet-coco/2', input: '320x320' });
    const notes = report.notes.join('\n');
    expect(notes).toMatch(
      /nanodet-coco\/2-in288: nanodet-coco\/2 \(320×320\) converted from its source at 288×288/,
    );
    expect(notes).toMatch(
      /nanodet-coco\/2 at 300: not measured \(300 is not a multiple of the largest stride 32\)/,
    );
  });
});
