/**
 * Each TF op mapping is checked by running a small TF.js graph on TF.js (CPU backend) and its
 * conversion on onnxruntime, in memory.
 */
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  float16ToFloat32,
  decodeWeights,
  type TfNode,
  type TfWeightSpec,
} from '../../../models/tools/tfjs-graph.js';
import { convertTfjsGraph, type ConvertOptions } from '../../../models/tools/tfjs-to-onnx.js';

const str = (v: string) => ({ s: Buffer.from(v).toString('base64') });
const ints = (v: number[]) => ({ list: { i: v.map(String) } });
const FLOAT = { type: { type: 'DT_FLOAT' } };

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  };
}

class Graph {
  readonly nodes: TfNode[] = [];
  private readonly specs: TfWeightSpec[] = [];
  private readonly chunks: Buffer[] = [];
  private readonly rand = lcg(7);

  input(name: string, shape: number[]): string {
    this.nodes.push({
      name,
      op: 'Placeholder',
      attr: { dtype: FLOAT.type, shape: { shape: { dim: shape.map((d) => ({ size: String(d) })) } } },
    });
    return name;
  }

  const(name: string, shape: number[], values?: number[], dtype: 'float32' | 'int32' = 'float32'): string {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = values ?? Array.from({ length: n }, () => this.rand());
    const buf = Buffer.alloc(n * 4);
    data.forEach((v, i) => (dtype === 'float32' ? buf.writeFloatLE(v, i * 4) : buf.writeInt32LE(v, i * 4)));
    this.chunks.push(buf);
    this.specs.push({ name, shape, dtype });
    const tfType = dtype === 'float32' ? 'DT_FLOAT' : 'DT_INT32';
    this.nodes.push({ name, op: 'Const', attr: { dtype: { type: tfType }, value: { tensor: {} } as never } });
    return name;
  }

  op(name: string, op: string, input: string[], attr: TfNode['attr'] = {}): string {
    this.nodes.push({ name, op, input, attr: { T: FLOAT.type, ...attr } });
    return name;
  }

  model() {
    const weightData = Buffer.concat(this.chunks);
    const json = {
      format: 'graph-model',
      modelTopology: { node: this.nodes },
      weightsManifest: [{ paths: ['w.bin'], weights: this.specs }],
    };
    return {
      json,
      weights: decodeWeights(this.specs, weightData),
      artifacts: {
        modelTopology: { node: this.nodes, library: {}, versions: {} },
        weightSpecs: this.specs as tf.io.WeightsManifestEntry[],
        weightData: weightData.buffer.slice(
          weightData.byteOffset,
          weightData.byteOffset + weightData.byteLength,
        ),
        format: 'graph-model',
      },
    };
  }
}

/** Runs both; returns the max abs difference per output and the conversion. */
async function compare(
  g: Graph,
  inputs: Record<string, number[]>,
  outputs: string[],
  options: ConvertOptions = {},
) {
  const m = g.model();
  const result = convertTfjsGraph(m, {
    outputs: outputs.map((o) => ({ tf: o, onnx: o.replace(/[/:]/g, '_') })),
    ...options,
  });
  const tfModel = await tf.loadGraphModel(tf.io.fromMemory(m.artifacts));
  const rand = lcg(3);
  const feedsTf: Record<string, tf.Tensor> = {};
  const feedsOrt: Record<string, ort.Tensor> = {};
  for (const [name, shape] of Object.entries(inputs)) {
    const data = Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rand() * 4);
    feedsTf[name] = tf.tensor(data, shape);
    feedsOrt[name] = new ort.Tensor('float32', data, shape);
  }
  const tfOut = tfModel.execute(feedsTf, outputs) as tf.Tensor | tf.Tensor[];
  const tfList = Array.isArray(tfOut) ? tfOut : [tfOut];
  const session = await ort.InferenceSession.create(result.bytes);
  const ortOut = await session.run(feedsOrt);
  const diffs = outputs.map((o, k) => {
    const a = tfList[k]!.dataSync();
    const b = ortOut[o.replace(/[/:]/g, '_')]!;
    expect(b.dims).toEqual(tfList[k]!.shape);
    let max = 0;
    for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - (b.data as Float32Array)[i]!));
    return max;
  });
  await session.release();
  return { diffs, result };
}

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('float16 weights', () => {
  it('decode exactly, subnormals and infinities included', () => {
    expect(float16ToFloat32(0x3c00)).toBe(1);
    expect(float16ToFloat32(0xc000)).toBe(-2);
    expect(float16ToFloat32(0x7bff)).toBe(65504);
    expect(float16ToFloat32(0x3555)).toBeCloseTo(0.333251953125, 12);
    expect(float16ToFloat32(0x0001)).toBe(2 ** -24);
    expect(float16ToFloat32(0xfc00)).toBe(-Infinity);
    expect(Number.isNaN(float16ToFloat32(0x7e00))).toBe(true);
  });
});

describe('TF.js graph → ONNX', () => {
  it('converts an NHWC Conv2D with SAME padding, stride 2, bias and Relu6 into one Conv', async () => {
    const g = new Graph();
    const x = g.input('x', [1, 7, 7, 3]);
    const conv = g.op('conv', 'Conv2D', [x, g.const('w', [3, 3, 3, 4])], {
      data_format: str('NHWC'),
      padding: str('SAME'),
      strides: ints([1, 2, 2, 1]),
      dilations: ints([1, 1, 1, 1]),
    });
    const bias = g.op('bias', 'BiasAdd', [conv, g.const('b', [4])], { data_format: str('NHWC') });
    g.op('out', 'Relu6', [bias]);
    const { diffs, result } = await compare(g, { x: [1, 7, 7, 3] }, ['out']);
    expect(Math.max(...diffs)).toBeLessThan(1e-5);
    expect(result.stats.opCounts).toEqual({ Clip: 1, Conv: 1, Transpose: 2 });
  });

  it('converts a depthwise conv with channel multiplier and dilation', async () => {
    const g = new Graph();
    const x = g.input('x', [1, 9, 9, 3]);
    g.op('out', 'DepthwiseConv2dNative', [x, g.const('w', [3, 3, 3, 2])], {
      data_format: str('NHWC'),
      padding: str('VALID'),
      strides: ints([1, 1, 1, 1]),
      dilations: ints([1, 2, 2, 1]),
    });
    const { diffs } = await compare(g, { x: [1, 9, 9, 3] }, ['out']);
    expect(Math.max(...diffs)).toBeLessThan(1e-5);
  });

  it('converts SAME max and average pooling (average over real pixels only)', async () => {
    const g = new Graph();
    const x = g.input('x', [1, 5, 5, 2]);
    const attrs = {
      data_format: str('NHWC'),
      padding: str('SAME'),
      ksize: ints([1, 3, 3, 1]),
      strides: ints([1, 2, 2, 1]),
    };
    g.op('max', 'MaxPool', [x], attrs);
    g.op('avg', 'AvgPool', [x], attrs);
    const { diffs } = await compare(g, { x: [1, 5, 5, 2] }, ['max', 'avg']);
    expect(Math.max(...diffs)).toBeLessThan(1e-5);
  });

  it('converts bilinear resizes with half-pixel centres, aligned corners and neither', async () => {
    const g = new Graph();
    const x = g.input('x', [1, 4, 4, 2]);
    g.op('half', 'ResizeBilinear', [x, g.const('s1', [2], [7, 9], 'int32')], {
      half_pixel_centers: { b: true },
      align_corners: { b: false },
    });
    g.op('corners', 'ResizeBilinear', [x, g.const('s2', [2], [7, 5], 'int32')], {
      half_pixel_centers: { b: false },
      align_corners: { b: true },
    });
    g.op('plain', 'ResizeBilinear', [x, g.const('s3', [2], [3, 6], 'int32')], {
      half_pixel_centers: { b: false },
      align_corners: { b: false },
    });
    const { diffs } = await compare(g, { x: [1, 4, 4, 2] }, ['half', 'corners', 'plain']);
    expect(Math.max(...diffs)).toBeLessThan(1e-5);
  });

  it('cancels the transposes of an NCHW model, folds pads and biases into Conv and shape math into constants', async () => {
    // The layout onnx-tf produces: NCHW tensors, every conv wrapped in NCHW↔NHWC transposes.
    const g = new Graph();
    const x = g.input('x', [1, 3, 8, 8]);
    const toNhwc = g.const('p_nhwc', [4], [0, 2, 3, 1], 'int32');
    const toNchw = g.const('p_nchw', [4], [0, 3, 1, 2], 'int32');
    const padded = g.op('pad', 'Pad', [x, g.const('pads', [4, 2], [0, 0, 0, 0, 1, 1, 1, 1], 'int32')]);
    const conv = g.op(
      'conv',
      'Conv2D',
      [g.op('t1', 'Transpose', [padded, toNhwc]), g.const('w', [3, 3, 3, 6])],
      {
        data_format: str('NHWC'),
        padding: str('VALID'),
        strides: ints([1, 1, 1, 1]),
        dilations: ints([1, 1, 1, 1]),
      },
    );
    const biased = g.op('add', 'Add', [conv, g.const('b', [6])]);
    const act = g.op('act', 'LeakyRelu', [g.op('t2', 'Transpose', [biased, toNchw])], { alpha: { f: 0.1 } });
    const pooled = g.op('pool_t', 'Transpose', [
      g.op(
        'pool',
        'MaxPool',
        [
          g.op('pool_in', 'Transpose', [
            g.op('padv2', 'PadV2', [
              act,
              g.const('pads2', [4, 2], [0, 0, 0, 0, 1, 1, 1, 1], 'int32'),
              g.const('ninf', [], [-Infinity]),
            ]),
            toNhwc,
          ]),
        ],
        {
          data_format: str('NHWC'),
          padding: str('VALID'),
          ksize: ints([1, 3, 3, 1]),
          strides: ints([1, 2, 2, 1]),
        },
      ),
      toNchw,
    ]);
    const cat = g.op('cat', 'ConcatV2', [pooled, pooled, g.const('axis', [], [1], 'int32')], {
      N: { i: '2' },
    });
    const split = g.op(
      'split',
      'SplitV',
      [cat, g.const('sizes', [2], [8, -1], 'int32'), g.const('dim', [], [1], 'int32')],
      { num_split: { i: '2' } },
    );
    // Reshape target computed by SparseToDense + Add on constants, as in NanoDet.
    const dense = g.op('dense', 'SparseToDense', [
      g.const('where', [0, 1], [], 'int32'),
      g.const('n', [1], [3], 'int32'),
      g.const('gathered', [0], [], 'int32'),
      g.const('zero', [], [0], 'int32'),
    ]);
    const shape = g.op('shape', 'AddV2', [g.const('target', [3], [1, 8, -1], 'int32'), dense]);
    g.op('scores', 'Sigmoid', [g.op('flat', 'Reshape', [split, shape])]);
    g.op('rest', 'Identity', [`${split}:1`]);
    const { diffs, result } = await compare(g, { x: [1, 3, 8, 8] }, ['scores', 'rest']);
    expect(Math.max(...diffs)).toBeLessThan(1e-5);
    expect(result.stats.opCounts).toEqual({
      Concat: 1,
      Conv: 1,
      LeakyRelu: 1,
      MaxPool: 1,
      Reshape: 1,
      Sigmoid: 1,
      Split: 1,
    });
    expect(result.stats.foldedTfNodes).toBe(2);
    expect(result.outputs.map((o) => [o.name, o.shape])).toEqual([
      ['scores', [1, 8, 16]],
      ['rest', [1, 4, 4, 4]],
    ]);
  });

  it('writes the same bytes every time', () => {
    const build = () => {
      const g = new Graph();
      const x = g.input('x', [1, 4, 4, 1]);
      g.op('out', 'Conv2D', [x, g.const('w', [1, 1, 1, 2])], {
        data_format: str('NHWC'),
        padding: str('VALID'),
        strides: ints([1, 1, 1, 1]),
        dilations: ints([1, 1, 1, 1]),
      });
      return convertTfjsGraph(g.model(), {
        outputs: [{ tf: 'out', onnx: 'y' }],
        metadata: { b: '2', a: '1' },
      }).bytes;
    };
    expect(Buffer.from(build()).equals(Buffer.from(build()))).toBe(true);
  });

  it('names every unsupported op before converting anything', () => {
    const g = new Graph();
    const x = g.input('x', [1, 4]);
    g.op('out', 'Erf', [g.op('mid', 'Softplus', [x])]);
    expect(() => convertTfjsGraph(g.model(), { outputs: [{ tf: 'out', onnx: 'y' }] })).toThrow(
      'unsupported TF ops: Erf, Softplus',
    );
  });

  describe('another input size (inputSize)', () => {
    /**
     * At input s × s (NHWC): a SAME conv at stride 1 and one at stride 2, the coarse map resized back
     * to s × s (the constant target a frozen ×2 leaves), joined to the fine one, then `tail`.
     */
    function pyramid(s: number, tail: (g: Graph, joined: string) => void) {
      const g = new Graph();
      const x = g.input('x', [1, s, s, 3]);
      const conv = (name: string, stride: number) =>
        g.op(name, 'Conv2D', [x, g.const(`${name}/w`, [3, 3, 3, 2])], {
          data_format: str('NHWC'),
          padding: str('SAME'),
          strides: ints([1, stride, stride, 1]),
          dilations: ints([1, 1, 1, 1]),
        });
      const fine = conv('fine', 1);
      const coarse = conv('coarse', 2);
      const up = g.op('up', 'ResizeBilinear', [coarse, g.const('size', [2], [s, s], 'int32')], {
        half_pixel_centers: { b: true },
      });
      const axis = g.const('axis', [], [3], 'int32');
      tail(g, g.op('joined', 'ConcatV2', [fine, up, axis], { N: { i: '2' } }));
      return g.model();
    }
    const flat = (g: Graph, joined: string) =>
      void g.op('out', 'Reshape', [joined, g.const('shape', [3], [1, -1, 4], 'int32')]);
    const outputs = [{ tf: 'out', onnx: 'y' }];

    it('converts the graph the source would be at that size, and runs like it on TF.js', async () => {
      const resized = convertTfjsGraph(pyramid(8, flat), {
        outputs,
        inputSize: { height: 16, width: 16, layout: 'NHWC' },
      });
      const native = convertTfjsGraph(pyramid(16, flat), { outputs });
      expect(resized.inputs[0]!.shape).toEqual([1, 16, 16, 3]);
      expect(resized.outputs[0]!.shape).toEqual([1, 256, 4]);
      expect(Buffer.from(resized.bytes).equals(Buffer.from(native.bytes))).toBe(true);

      const reference = pyramid(16, flat);
      const tfModel = await tf.loadGraphModel(tf.io.fromMemory(reference.artifacts));
      const rand = lcg(5);
      const data = Float32Array.from({ length: 16 * 16 * 3 }, () => rand() * 4);
      const want = (tfModel.execute(tf.tensor(data, [1, 16, 16, 3]), 'out') as tf.Tensor).dataSync();
      const session = await ort.InferenceSession.create(resized.bytes);
      try {
        const got = (await session.run({ x: new ort.Tensor('float32', data, [1, 16, 16, 3]) }))['y']!;
        expect(got.dims).toEqual([1, 256, 4]);
        let max = 0;
        for (let i = 0; i < want.length; i++)
          max = Math.max(max, Math.abs(want[i]! - (got.data as Float32Array)[i]!));
        expect(max).toBeLessThan(1e-5);
      } finally {
        await session.release();
      }
    });

    it('keeps the dynamic batch and reads NCHW by default', () => {
      const g = new Graph();
      const x = g.input('x', [1, 2, 4, 4]);
      g.op('out', 'Relu', [x]);
      const r = convertTfjsGraph(g.model(), {
        outputs,
        inputSize: { height: 8, width: 12 },
        dynamicBatch: 'N',
      });
      expect(r.inputs[0]!.shape).toEqual([1, 2, 8, 12]);
      expect(r.outputs[0]!.shape).toEqual([1, 2, 8, 12]);
    });

    it('fails instead of giving a wrong graph when a constant does not follow the input', () => {
      const at12 = { height: 12, width: 12, layout: 'NHWC' } as const;
      // A Reshape to a fixed number of cells.
      const fixed = (g: Graph, joined: string) =>
        void g.op('out', 'Reshape', [joined, g.const('shape', [3], [1, 64, 4], 'int32')]);
      expect(() => convertTfjsGraph(pyramid(8, fixed), { outputs, inputSize: at12 })).toThrow(
        /cannot reshape 576 elements to \[1,64,4\]/,
      );
      // A constant map joined to one that follows the input.
      const withConst = (g: Graph, joined: string) => {
        const bias = g.const('map', [1, 8, 8, 1]);
        g.op('out', 'ConcatV2', [joined, bias, g.const('axis2', [], [3], 'int32')], { N: { i: '2' } });
      };
      expect(() => convertTfjsGraph(pyramid(8, withConst), { outputs, inputSize: at12 })).toThrow(
        /Concat out: input shapes \[1,12,12,4\] \[1,8,8,1\] differ off axis 3/,
      );
      // A resize target that the input ratio makes fractional (8 → 12: 3 × 1.5).
      const g = new Graph();
      const x = g.input('x', [1, 8, 8, 1]);
      g.op('out', 'ResizeBilinear', [x, g.const('size', [2], [3, 3], 'int32')]);
      expect(() => convertTfjsGraph(g.model(), { outputs, inputSize: at12 })).toThrow(
        /resize target 3×3 does not scale to an integer size/,
      );
      expect(() =>
        convertTfjsGraph(pyramid(8, flat), { outputs, inputSize: { height: 0, width: 8 } }),
      ).toThrow(/0 is not a positive integer/);
    });
  });

  describe('dynamic batch', () => {
    /** Conv (NHWC) → 2× bilinear resize → Reshape [1, -1, 2]: the shapes NanoDet's head has. */
    function head(target: number[]) {
      const g = new Graph();
      const x = g.input('x', [1, 4, 4, 3]);
      const conv = g.op('conv', 'Conv2D', [x, g.const('w', [3, 3, 3, 2])], {
        data_format: str('NHWC'),
        padding: str('SAME'),
        strides: ints([1, 1, 1, 1]),
        dilations: ints([1, 1, 1, 1]),
      });
      const up = g.op('up', 'ResizeBilinear', [conv, g.const('s', [2], [8, 8], 'int32')], {
        half_pixel_centers: { b: true },
      });
      g.op('out', 'Reshape', [up, g.const('shape', [target.length], target, 'int32')]);
      return g.model();
    }

    it('runs a batch of 3 with the outputs of 3 single runs', async () => {
      const { bytes } = convertTfjsGraph(head([1, -1, 2]), {
        outputs: [{ tf: 'out', onnx: 'y' }],
        dynamicBatch: 'N',
      });
      const session = await ort.InferenceSession.create(bytes);
      try {
        expect(session.inputMetadata[0]).toMatchObject({ shape: ['N', 4, 4, 3] });
        expect(session.outputMetadata[0]).toMatchObject({ shape: ['N', 64, 2] });
        const rand = lcg(11);
        const data = Float32Array.from({ length: 3 * 48 }, () => rand());
        const batch = await session.run({ x: new ort.Tensor('float32', data, [3, 4, 4, 3]) });
        expect(batch['y']!.dims).toEqual([3, 64, 2]);
        for (let b = 0; b < 3; b++) {
          const one = await session.run({
            x: new ort.Tensor('float32', data.slice(b * 48, (b + 1) * 48), [1, 4, 4, 3]),
          });
          const want = one['y']!.data as Float32Array;
          const have = (batch['y']!.data as Float32Array).subarray(b * 128, (b + 1) * 128);
          for (let i = 0; i < 128; i++) expect(Math.abs(have[i]! - want[i]!)).toBeLessThan(1e-6);
        }
      } finally {
        await session.release();
      }
    });

    it('refuses a Reshape that folds the batch into another axis, naming it', () => {
      expect(() =>
        convertTfjsGraph(head([-1, 2]), { outputs: [{ tf: 'out', onnx: 'y' }], dynamicBatch: 'N' }),
      ).toThrow(
        /cannot make the batch dimension dynamic: Reshape out reshapes the batch axis \(target \[-1,2\]\)/,
      );
    });

    it('leaves the batch fixed at 1 unless asked', async () => {
      const { bytes } = convertTfjsGraph(head([1, -1, 2]), { outputs: [{ tf: 'out', onnx: 'y' }] });
      const session = await ort.InferenceSession.create(bytes);
      try {
        expect(session.inputMetadata[0]).toMatchObject({ shape: [1, 4, 4, 3] });
      } finally {
        await session.release();
      }
    });
  });
});
