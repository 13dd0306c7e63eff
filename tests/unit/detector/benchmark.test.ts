import { describe, expect, it } from 'vitest';
import committed from '../../../models/nanodet-coco/1/card.json' with { type: 'json' };
import {
  formatTable,
  parseBenchArgs,
  percentile,
  resizeRefusal,
  summarize,
  vehicleSummary,
  type BenchReport,
  type ModelResult,
} from '../../../detector/benchmark.js';
import { parseModelCard } from '../../../detector/model-card.js';
import { sha256 } from '../../../detector/model-registry.js';
import { cardAtInputSize } from '../../../models/build.js';

describe('benchmark statistics', () => {
  it('takes nearest-rank percentiles', () => {
    const s = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    expect(percentile(s, 0.5)).toBe(5);
    expect(percentile(s, 0.95)).toBe(10);
    expect(percentile(s, 0.9)).toBe(9);
    expect(percentile([7], 0.95)).toBe(7);
    expect(percentile([], 0.5)).toBeNaN();
  });

  it('summarises unsorted samples', () => {
    expect(summarize([30, 10, 20, 40])).toEqual({ n: 4, p50: 20, p95: 40, mean: 25, min: 10, max: 40 });
  });
});

describe('benchmark arguments', () => {
  it('needs --out and takes the documented flags', () => {
    expect(() => parseBenchArgs([], {})).toThrow(/--out <file.json> is required/);
    const o = parseBenchArgs(
      [
        '--out',
        'b.json',
        '--iterations',
        '7',
        '--models',
        'nanodet-coco, yolo-x',
        '--peer',
        '--sizes',
        'none',
      ],
      { SHARED_DIR: '/data/shared' },
    );
    expect(o).toMatchObject({
      out: 'b.json',
      iterations: 7,
      models: ['nanodet-coco', 'yolo-x'],
      peer: true,
      sizes: [],
      worker: true,
      recall: false,
      sharedDir: '/data/shared',
    });
    expect(parseBenchArgs(['--out', 'x', '--sizes', '320,384x224'], {}).sizes).toEqual([
      { width: 320, height: 320 },
      { width: 384, height: 224 },
    ]);
    expect(() => parseBenchArgs(['--out', 'x', '--sizes', '384xabc'], {})).toThrow(
      /--sizes needs an integer/,
    );
    // Default: every nanodet-coco version, no derived sizes; the summary follows the configuration.
    expect(parseBenchArgs(['--out', 'x'], {})).toMatchObject({
      models: ['nanodet-coco@all'],
      sizes: [],
      vehicle: { name: 'nanodet-coco' },
    });
    expect(parseBenchArgs(['--out', 'x'], { DETECTOR_MODEL_VERSION: '1' }).vehicle).toEqual({
      name: 'nanodet-coco',
      version: '1',
    });
    expect(parseBenchArgs(['--out', 'x', '--models', 'nanodet-coco@1,nanodet-coco@2'], {}).models).toEqual([
      'nanodet-coco@1',
      'nanodet-coco@2',
    ]);
    expect(() => parseBenchArgs(['--out', 'x', '--models', 'nanodet-coco@'], {})).toThrow(
      /'nanodet-coco@' is not name, name@version or name@all/,
    );
    expect(parseBenchArgs(['--out', 'x', '--session-options', '--recall', '--no-worker'], {})).toMatchObject({
      sessionOptions: true,
      recall: true,
      worker: false,
    });
  });

  it('names a bad count or an unknown flag', () => {
    expect(() => parseBenchArgs(['--out', 'x', '--iterations', '0'], {})).toThrow(
      /--iterations needs an integer ≥ 1/,
    );
    expect(() => parseBenchArgs(['--out', 'x', '--fast'], {})).toThrow(/unknown argument '--fast'/);
    expect(() => parseBenchArgs(['--out'], {})).toThrow(/--out needs a value/);
  });
});

describe('input sizes of a converted model', () => {
  const card = parseModelCard(committed, 'nanodet-coco/1 card');

  it('re-sizes models that models/build.ts converts, on the stride grid', () => {
    const sq = (v: number) => ({ width: v, height: v });
    expect(resizeRefusal(card, sq(320))).toBeNull();
    expect(resizeRefusal(card, { width: 384, height: 224 })).toBeNull();
    expect(resizeRefusal(card, sq(80))).toBe('80 is not a multiple of the largest stride 32');
    expect(resizeRefusal(card, { width: 384, height: 200 })).toBe(
      '200 is not a multiple of the largest stride 32',
    );
    const dropIn = parseModelCard({ ...committed, name: 'my-nanodet', version: '3' }, 'drop-in');
    expect(resizeRefusal(dropIn, sq(320))).toBe('my-nanodet/3 is not converted by models/build.ts');
    const yolox = {
      ...card,
      output: {
        format: 'yolox',
        description: 'x',
        strides: [32],
        scoresActivated: true,
        tensor: { name: 'o', shape: [1, 4, 7] },
      },
    };
    expect(resizeRefusal(yolox as typeof card, sq(96))).toMatch(
      /yolox graphs are measured at their card size only/,
    );
  });

  it('describes the derived graph with a card of its own', () => {
    const bytes = new Uint8Array([1, 2, 3]);
    const out = cardAtInputSize(card, { width: 320, height: 320 }, bytes);
    expect(out.version).toBe('1-in320');
    expect(out.input.shape).toEqual([1, 3, 320, 320]);
    expect(out.sha256).toBe(sha256(bytes));
    expect(out.accuracy).toBeNull();
    if (out.output.format !== 'nanodet-gfl') throw new Error('format changed');
    expect(out.output.tensors.map((t) => t.shape)).toEqual([
      [1, 1600, 80],
      [1, 400, 80],
      [1, 100, 80],
      [1, 1600, 44],
      [1, 400, 44],
      [1, 100, 44],
    ]);
    // The source card is left as it was.
    expect(card.input.shape).toEqual([1, 3, 416, 416]);
    // Width × height: cells of a 12 × 7 grid at stride 32.
    const wide = cardAtInputSize(card, { width: 384, height: 224 }, bytes);
    expect(wide.version).toBe('1-in384x224');
    expect(wide.input.shape).toEqual([1, 3, 224, 384]);
    if (wide.output.format !== 'nanodet-gfl') throw new Error('format changed');
    expect(wide.output.tensors[2]!.shape).toEqual([1, 84, 80]);
  });
});

describe('benchmark report', () => {
  const stats = (p50: number) => ({ n: 3, p50, p95: p50 + 2, mean: p50, min: p50 - 1, max: p50 + 3 });
  const model: ModelResult = {
    model: 'nanodet-coco/1',
    name: 'nanodet-coco',
    version: '1',
    origin: 'card',
    format: 'nanodet-gfl',
    input: '416x416',
    loadMs: 80,
    frames: [
      {
        frame: '1920x1080',
        pipeline: stats(46),
        preprocess: stats(2),
        inference: stats(43),
        postprocess: stats(1),
        raw: stats(40),
        cpu: stats(46),
        share: { preprocess: 0.04, postprocess: 0.02 },
        overheadRatio: 1.15,
        fpsPerCore: 21.739,
        detections: 1,
      },
    ],
  };

  it('puts the default vehicle model at its card size on the 1080p frame at the top', () => {
    const derived = {
      ...model,
      model: 'nanodet-coco/1-in320',
      version: '1-in320',
      origin: 'derived' as const,
    };
    expect(vehicleSummary([derived, model])).toMatchObject({
      model: 'nanodet-coco/1',
      p50_ms: 46,
      raw_p50_ms: 40,
      overhead_ratio: 1.15,
      meets: { p50_ms: false, overhead_ratio: true },
    });
    expect(vehicleSummary([derived])).toBeNull();
    // The configured version (DETECTOR_MODEL_VERSION, or the newest) when several are measured.
    const v2 = { ...model, model: 'nanodet-coco/2', version: '2', input: '320x320' };
    expect(vehicleSummary([model, v2], { name: 'nanodet-coco', version: '2' })).toMatchObject({
      model: 'nanodet-coco/2',
      input: '320x320',
    });
    expect(vehicleSummary([model, v2], { name: 'nanodet-coco', version: '1' })!.model).toBe('nanodet-coco/1');
  });

  it('prints one table row per model and frame, and the verdict', () => {
    const report = {
      machine: {
        cpuModel: 'AMD EPYC',
        cpuDetail: 'family 25 model 17; avx2',
        cores: 2,
        node: 'v20',
        onnxruntime: '1.29.0',
        loadBefore: [1, 1, 1],
      },
      vehicle: vehicleSummary([model]),
      models: [model],
      notes: ['a note'],
    } as unknown as BenchReport;
    const table = formatTable(report);
    expect(table).toMatch(
      /nanodet-coco\/1 +416x416 +1920x1080 +46\.00 +48\.00 +40\.00 +1\.150 +4\.0 +2\.0 +21\.7/,
    );
    expect(table).toContain('p50 46.00 ms (target ≤ 25: NOT met), overhead 1.150× raw (target ≤ 1.15: met)');
    expect(table).toContain('AMD EPYC (family 25 model 17; avx2), 2 cores');
    expect(table).toContain('note: a note');
  });
});
