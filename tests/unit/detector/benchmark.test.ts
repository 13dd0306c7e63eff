import onnxProto from 'onnx-proto';
import { describe, expect, it } from 'vitest';
import committed from '../../../models/nanodet-coco/1/card.json' with { type: 'json' };
import {
  formatTable,
  parseBenchArgs,
  percentile,
  resizeInput,
  resizeRefusal,
  summarize,
  vehicleSummary,
  type BenchReport,
  type ModelResult,
} from '../../../detector/benchmark.js';
import { parseModelCard } from '../../../detector/model-card.js';
import { sha256 } from '../../../detector/model-registry.js';

const { onnx } = onnxProto;

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
    expect(parseBenchArgs(['--out', 'x', '--sizes', '320,384'], {}).sizes).toEqual([320, 384]);
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

/**
 * A NanoDet-shaped card and graph at 64×64 with one stride (32): input x → Resize (sizes constant
 * [1, 3, 4, 4]) → … → outputs cls [1, 4, 2] and dist [1, 4, 8].
 */
function tinyNanodet() {
  const card = structuredClone(committed) as Record<string, unknown>;
  card['labels'] = ['car', 'bus'];
  (card['input'] as Record<string, unknown>)['name'] = 'x';
  (card['input'] as Record<string, unknown>)['shape'] = [1, 3, 64, 64];
  const output = card['output'] as Record<string, unknown>;
  output['strides'] = [32];
  output['regMax'] = 1;
  output['tensors'] = [
    { name: 'cls', role: 'scores', stride: 32, shape: [1, 4, 2] },
    { name: 'dist', role: 'distances', stride: 32, shape: [1, 4, 8] },
  ];
  const dims = (d: number[]) => ({
    tensorType: { elemType: 1, shape: { dim: d.map((v) => ({ dimValue: v })) } },
  });
  const bytes = onnx.ModelProto.encode({
    irVersion: 7,
    opsetImport: [{ domain: '', version: 13 }],
    graph: {
      name: 'tiny',
      node: [{ opType: 'Resize', input: ['x', '', '', 'sizes'], output: ['y'], name: 'resize' }],
      initializer: [{ name: 'sizes', dims: [4], dataType: 7, int64Data: [1, 3, 4, 4] }],
      input: [{ name: 'x', type: dims([1, 3, 64, 64]) }],
      output: [
        { name: 'cls', type: dims([1, 4, 2]) },
        { name: 'dist', type: dims([1, 4, 8]) },
      ],
    },
  }).finish();
  return { card: parseModelCard(card, 'tiny'), bytes };
}

describe('input re-sizing of a fixed-shape graph', () => {
  it('rewrites the input dims, the Resize sizes, the output cells and the card', () => {
    const { card, bytes } = tinyNanodet();
    const out = resizeInput(bytes, card, 96);
    expect(out.card.version).toBe('1-in96');
    expect(out.card.input.shape).toEqual([1, 3, 96, 96]);
    expect(out.card.sha256).toBe(sha256(out.bytes));
    expect(out.card.accuracy).toBeNull();
    if (out.card.output.format !== 'nanodet-gfl') throw new Error('format changed');
    expect(out.card.output.tensors.map((t) => t.shape)).toEqual([
      [1, 9, 2],
      [1, 9, 8],
    ]);
    const g = onnx.ModelProto.decode(out.bytes).graph!;
    const dimsOf = (v: onnxProto.onnx.IValueInfoProto) =>
      v.type!.tensorType!.shape!.dim!.map((d) => Number(d.dimValue));
    expect(dimsOf(g.input![0]!)).toEqual([1, 3, 96, 96]);
    expect(g.output!.map(dimsOf)).toEqual([
      [1, 9, 2],
      [1, 9, 8],
    ]);
    const raw = g.initializer![0]!.rawData!;
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    expect([0, 1, 2, 3].map((i) => Number(view.getBigInt64(i * 8, true)))).toEqual([1, 3, 6, 6]);
    // The source card is left as it was.
    expect(card.input.shape).toEqual([1, 3, 64, 64]);
  });

  it('refuses sizes off the stride grid and decoders whose graphs it does not know', () => {
    const { card, bytes } = tinyNanodet();
    expect(resizeRefusal(card, 80)).toBe('80 is not a multiple of the largest stride 32');
    expect(() => resizeInput(bytes, card, 80)).toThrow(/cannot re-size .*: 80 is not a multiple/);
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
    expect(resizeRefusal(yolox as typeof card, 96)).toMatch(
      /yolox graphs are measured at their card size only/,
    );
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
