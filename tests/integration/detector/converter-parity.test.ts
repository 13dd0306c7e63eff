/**
 * The converted NanoDet against the original: the TF.js graph model on TF.js's wasm backend and the
 * ONNX conversion on onnxruntime-node, same deterministic input, every raw output compared. Version 1
 * at the source's 416×416; versions 2 (converter option `inputSize`, 320×320) and 3 (384×224, width ×
 * height) against the same TF.js model run at that size, its input placeholder and its four frozen
 * resize targets set for it here, per axis, on the TF.js side, independently of the converter.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ModelCard } from '../../../detector/model-card.js';
import { readModelCard, sha256 } from '../../../detector/model-registry.js';
import { BUILDS, MODELS_DIR, convertForCard, sourceModelJson } from '../../../models/build.js';

const require = createRequire(import.meta.url);
const nanodet = (version: string) => BUILDS.find((b) => b.name === 'nanodet-coco' && b.version === version)!;

interface TfNodeJson {
  name: string;
  op: string;
  input?: string[];
  attr?: Record<string, { shape?: { dim?: { size?: string }[] } }>;
}

/**
 * A custom IOHandler: model.json and its weight shards straight from the file system. With `size`,
 * the NCHW input placeholder becomes size.height × size.width and the int32 constant target
 * [height, width] of every ResizeBilinear is scaled per axis, by size.height ÷ the placeholder's
 * height and size.width ÷ its width (in the weight bytes TF.js will read).
 */
async function loadTfjs(file: string, size?: { width: number; height: number }): Promise<tf.GraphModel> {
  const json = JSON.parse(await readFile(file, 'utf8')) as tf.io.ModelJSON;
  const nodes = (json.modelTopology as { node: TfNodeJson[] }).node;
  const targets = new Set<string>();
  let ratio: [number, number] = [1, 1];
  if (size !== undefined) {
    const placeholder = nodes.filter((n) => n.op === 'Placeholder');
    expect(placeholder).toHaveLength(1);
    const dims = placeholder[0]!.attr!['shape']!.shape!.dim!;
    ratio = [size.height / Number(dims[2]!.size), size.width / Number(dims[3]!.size)];
    dims[2]!.size = String(size.height);
    dims[3]!.size = String(size.width);
    for (const n of nodes) if (n.op === 'ResizeBilinear') targets.add(n.input![1]!.replace(/:0$/, ''));
    expect(targets.size).toBe(4);
  }
  const artifacts = await tf.io.getModelArtifactsForJSON(json, async (manifest) => {
    const shards = await Promise.all(
      manifest.flatMap((g) => g.paths.map((p) => readFile(path.join(path.dirname(file), p)))),
    );
    const all = Buffer.concat(shards);
    const specs = manifest.flatMap((g) => g.weights);
    let offset = 0;
    let patched = 0;
    for (const w of specs) {
      const n = w.shape.reduce((a, b) => a * b, 1);
      const bytesPer = w.quantization ? (w.quantization.dtype === 'float16' ? 2 : 1) : 4;
      if (targets.has(w.name)) {
        expect(w.dtype).toBe('int32');
        expect(n).toBe(2); // ResizeBilinear's size: [new_height, new_width]
        for (let i = 0; i < n; i++) {
          const scaled = all.readInt32LE(offset + i * 4) * ratio[i]!;
          expect(Number.isInteger(scaled)).toBe(true);
          all.writeInt32LE(scaled, offset + i * 4);
        }
        patched++;
      }
      offset += n * bytesPer;
    }
    expect(offset).toBe(all.length);
    expect(patched).toBe(targets.size);
    return [specs, all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength)];
  });
  return tf.loadGraphModel({ load: async () => artifacts });
}

/** Image-like values in the normalised range the model sees (about −2…2.6), from a fixed seed. */
function input(n: number): Float32Array {
  const out = new Float32Array(n);
  let s = 20260101;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    out[i] = ((s >>> 8) / 2 ** 24) * 4.6 - 2;
  }
  return out;
}

describe.each([
  { version: 1, width: 416, height: 416 },
  { version: 2, width: 320, height: 320 },
  { version: 3, width: 384, height: 224 },
])('nanodet-coco/$version conversion at $width×$height', ({ version, width, height }) => {
  const build = nanodet(String(version));
  let card: ModelCard;
  let bytes: Uint8Array;

  beforeAll(async () => {
    setWasmPaths(
      `${path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'))}/`,
    );
    await tf.setBackend('wasm');
    card = await readModelCard(path.join(MODELS_DIR, build.name, build.version));
    bytes = (await convertForCard(build, card)).bytes;
  });

  it('has the input size its card declares', () => {
    expect(card.input.shape).toEqual([1, 3, height, width]);
    expect(build.inputSize ?? { width: 416, height: 416 }).toMatchObject({ width, height });
  });

  it(`gives the same raw outputs as the TF.js model run at ${width}×${height}, within 1e-3`, async () => {
    const tfModel = await loadTfjs(
      await sourceModelJson(card),
      build.inputSize === undefined ? undefined : { width, height },
    );
    const shape = [1, 3, height, width];
    const data = input(3 * height * width);
    const expected = tf.tidy(() =>
      (
        tfModel.execute(
          tf.tensor(data, shape),
          build.outputs.map((o) => o.tf),
        ) as tf.Tensor[]
      ).map((t) => ({
        shape: t.shape,
        data: t.dataSync() as Float32Array,
      })),
    );
    const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1 });
    const actual = await session.run({ [card.input.name]: new ort.Tensor('float32', data, shape) });
    const report: Record<string, number> = {};
    for (const [k, o] of build.outputs.entries()) {
      const got = actual[o.onnx]!;
      expect(got.dims).toEqual(expected[k]!.shape);
      const want = expected[k]!.data;
      const have = got.data as Float32Array;
      let max = 0;
      for (let i = 0; i < want.length; i++) max = Math.max(max, Math.abs(want[i]! - have[i]!));
      report[o.onnx] = max;
    }
    await session.release();
    tfModel.dispose();
    console.info('max |TF.js − ONNX| per output:', report);
    for (const diff of Object.values(report)) expect(diff).toBeLessThanOrEqual(1e-3);
  });

  it('runs any batch size: N images in one run give each image its own outputs', async () => {
    const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1 });
    try {
      expect(session.inputMetadata[0]).toMatchObject({ shape: ['N', 3, height, width] });
      const per = 3 * height * width;
      // Three different images (the same generator, shifted), so a mixed-up batch cannot pass.
      const all = input(per * 3);
      const batch = await session.run({
        [card.input.name]: new ort.Tensor('float32', all, [3, 3, height, width]),
      });
      const report: Record<string, number> = {};
      for (let b = 0; b < 3; b++) {
        const one = all.slice(b * per, (b + 1) * per);
        const single = await session.run({
          [card.input.name]: new ort.Tensor('float32', one, [1, 3, height, width]),
        });
        for (const o of build.outputs) {
          const got = batch[o.onnx]!;
          const want = single[o.onnx]!.data as Float32Array;
          expect(got.dims).toEqual([3, ...single[o.onnx]!.dims.slice(1)]);
          const have = (got.data as Float32Array).subarray(b * want.length, (b + 1) * want.length);
          let max = 0;
          for (let i = 0; i < want.length; i++) max = Math.max(max, Math.abs(want[i]! - have[i]!));
          report[`${o.onnx}[${b}]`] = max;
        }
      }
      console.info('max |batch of 3 − one at a time| per output and image:', report);
      for (const diff of Object.values(report)) expect(diff).toBeLessThanOrEqual(1e-4);
    } finally {
      await session.release();
    }
  });

  it('is byte for byte the file the committed card describes', () => {
    expect(sha256(bytes)).toBe(card.sha256);
  });
});
