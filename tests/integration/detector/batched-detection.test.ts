/**
 * Batched detection with the real model: N frames in one session call give each frame the detections it
 * gets alone; the batching detector (worker thread + batch collector) hands each camera its own answer;
 * providers that cannot load fall back, logged, to the next one. Frames come from the openalpr photos
 * under ${SHARED_DIR:-../shared} when present (synthetic otherwise, said so).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { benchFrames } from '../../../detector/benchmark.js';
import { cameraFrames } from '../../../detector/batch-benchmark.js';
import { DetectionEngine } from '../../../detector/detection-engine.js';
import { createDetector, type Detection, type Detector, type Frame } from '../../../detector/detector.js';
import { loadModel } from '../../../detector/model-registry.js';
import { BUILDS, MODELS_DIR, buildModel } from '../../../models/build.js';

const SHARED_DIR = path.resolve(process.env['SHARED_DIR'] ?? '../shared');
const ORT_BIN = path.resolve('node_modules/onnxruntime-node/bin/napi-v6/linux/x64');
const gpuProviderInstalled = existsSync(path.join(ORT_BIN, 'libonnxruntime_providers_cuda.so'));

/** Detections equal up to float noise of a batched graph (boxes within 0.5 px, scores within 1e-3). */
function expectSameDetections(batched: Detection[], alone: Detection[]): void {
  expect(batched.map((d) => d.label)).toEqual(alone.map((d) => d.label));
  batched.forEach((d, i) => {
    const a = alone[i]!;
    expect(Math.abs(d.score - a.score)).toBeLessThan(1e-3);
    for (const k of ['x', 'y', 'w', 'h'] as const) expect(Math.abs(d.box[k] - a.box[k])).toBeLessThan(0.5);
  });
}

let frames: Frame[];

beforeAll(async () => {
  for (const b of BUILDS) await buildModel(b);
  const found = await benchFrames(SHARED_DIR);
  if (found.some((f) => f.source.startsWith('synthetic'))) {
    console.warn(`no photos under ${SHARED_DIR}: synthetic frames (set SHARED_DIR for real ones)`);
  }
  // Two sizes in one batch, and shifted copies so that no two frames are equal.
  const small = found.find((f) => f.label === '640x360')!.frame;
  const full = found.find((f) => f.label === '1920x1080')!.frame;
  frames = [...cameraFrames(small, 3), full];
});

describe('DetectionEngine.detectBatch', () => {
  let engine: DetectionEngine;

  beforeAll(async () => {
    engine = (
      await DetectionEngine.create({
        modelName: 'nanodet-coco',
        modelsDir: MODELS_DIR,
        threads: 1,
        maxBatch: 8,
      })
    ).engine;
  });
  afterAll(async () => {
    await engine?.close();
  });

  it('runs the registry model with a dynamic batch', () => {
    expect(engine.dynamicBatch).toBe(true);
    expect(engine.maxBatch).toBe(8);
  });

  it('gives every frame of one session call the detections it gets alone, in order', async () => {
    const alone: Detection[][] = [];
    for (const f of frames) alone.push((await engine.detect(f)).detections);
    const { results, timings } = await engine.detectBatch(frames);
    expect(timings).toMatchObject({ batchSize: frames.length, sessionRuns: 1 });
    expect(alone.some((d) => d.length > 0)).toBe(true);
    results.forEach((r, k) => {
      if (!('detections' in r)) throw new Error(`frame ${k} failed: ${r.error.message}`);
      expectSameDetections(r.detections, alone[k]!);
    });
    // The full-size frame's boxes are in its own pixels, not in those of the 640×360 frames beside it.
    const wide = results[3]!;
    if ('detections' in wide && wide.detections.length > 0) {
      expect(Math.max(...wide.detections.map((d) => d.box.x + d.box.w))).toBeGreaterThan(640);
    }
  });

  it('answers a frame of the wrong size with its own error and runs the rest', async () => {
    const broken: Frame = { data: Buffer.alloc(10), width: 640, height: 360 };
    const { results, timings } = await engine.detectBatch([frames[0]!, broken, frames[1]!]);
    expect(results[1]).toMatchObject({ error: { code: 'bad_request' } });
    expect('detections' in results[0]! && 'detections' in results[2]!).toBe(true);
    expect(timings).toMatchObject({ batchSize: 2, sessionRuns: 1 });
  });

  it('splits a batch larger than maxBatch into session calls of at most maxBatch', async () => {
    const many = cameraFrames(frames[0]!, 10);
    const { results, timings } = await engine.detectBatch(many);
    expect(results).toHaveLength(10);
    expect(timings).toMatchObject({ batchSize: 10, sessionRuns: 2 });
  });
});

describe('batching detector (worker thread + batch collector)', () => {
  let batching: Detector;
  let single: Detector;

  beforeAll(async () => {
    const log = pino({ level: 'silent' });
    [batching, single] = await Promise.all([
      createDetector({
        modelName: 'nanodet-coco',
        modelsDir: MODELS_DIR,
        threads: 1,
        batch: { maxBatch: 4, maxWaitMs: 200 },
        log,
      }),
      createDetector({ modelName: 'nanodet-coco', modelsDir: MODELS_DIR, threads: 1, log }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([batching?.close(), single?.close()]);
  });

  it('hands each camera the detections of its own frame', async () => {
    expect(batching.maxBatch).toBe(4);
    const cams = ['TN-001', 'TN-002', 'TN-003', 'TN-004'];
    const got = await Promise.all(cams.map((c, k) => batching.detect(frames[k]!, c)));
    for (const [k, f] of frames.entries()) expectSameDetections(got[k]!, await single.detect(f));
  });
});

describe('execution providers', () => {
  const capture = () => {
    const lines: Record<string, unknown>[] = [];
    const stream = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
        done();
      },
    });
    return { lines, log: pino({ level: 'warn' }, stream) };
  };

  it('falls back from TensorRT to CUDA to CPU, logging each step with its reason', async () => {
    const { lines, log } = capture();
    const loaded = await loadModel({
      modelsDir: MODELS_DIR,
      name: 'nanodet-coco',
      provider: 'tensorrt',
      warmUp: false,
      log,
    });
    try {
      if (gpuProviderInstalled && loaded.provider !== 'cpu') {
        console.warn(`GPU provider present: ${loaded.provider} loaded, no fallback to check`);
        return;
      }
      expect(loaded.provider).toBe('cpu');
      expect(loaded.fallbackReason).toMatch(/^tensorrt: .+; cuda: .+/);
      const warnings = lines.filter((l) => l['level'] === 40);
      expect(warnings.map((l) => [l['provider'], l['fallback']])).toEqual([
        ['tensorrt', 'cuda'],
        ['cuda', 'cpu'],
      ]);
      expect(warnings[1]!['msg']).toBe('CUDA execution provider unavailable; falling back to CPU');
    } finally {
      await loaded.session.release();
    }
  });

  it('reports the provider in use, and no fallback, when the CPU is asked for', async () => {
    const { lines, log } = capture();
    const loaded = await loadModel({
      modelsDir: MODELS_DIR,
      name: 'nanodet-coco',
      provider: 'cpu',
      warmUp: false,
      log,
    });
    try {
      expect(loaded.provider).toBe('cpu');
      expect(loaded.fallbackReason).toBeUndefined();
      expect(lines).toEqual([]);
    } finally {
      await loaded.session.release();
    }
  });
});
