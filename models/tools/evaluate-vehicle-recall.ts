/**
 * Vehicle recall on photos with annotated plates: the share of plates that lie (≥ 90 % of their area)
 * inside a detected car, truck, bus or motorcycle box. A plate is only readable on a vehicle the
 * detector found, so this is the detector figure that matters for fines.
 *
 * Data layout (openalpr end-to-end benchmark, e.g. ../shared/data/plates-endtoend): any depth of
 * folders holding NAME.jpg + NAME.txt, the .txt being `file<TAB>x<TAB>y<TAB>w<TAB>h<TAB>PLATE`.
 *
 *   tsx models/tools/evaluate-vehicle-recall.ts [--data DIR] [--model nanodet-coco] [--version 1]
 *        [--score 0.35] [--limit N] [--peer-yolox PATH/yolox_nano.onnx]
 *
 * --peer-yolox runs a YOLOX-nano ONNX file (416 input, raw head output) under the same rules, for
 * comparison only: peer models are never part of the product.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import { DetectionEngine } from '../../detector/detection-engine.js';
import { nmsPerClass, type Candidate } from '../../detector/postprocess/nms.js';
import { Preprocessor, boxToFrame, type Box, type Frame } from '../../detector/preprocess.js';

const VEHICLES = ['car', 'truck', 'bus', 'motorcycle'];
/** COCO ids of VEHICLES, in the 80-class order. */
const VEHICLE_IDS = new Set([2, 7, 5, 3]);

export interface Sample {
  image: string;
  plate: Box;
}

export async function readSamples(dir: string): Promise<Sample[]> {
  const out: Sample[] = [];
  const walk = async (d: string): Promise<void> => {
    const entries = (await readdir(d, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1));
    for (const e of entries) {
      const full = path.join(d, e.name);
      if (e.isDirectory()) await walk(full);
      else if (e.name.endsWith('.txt') && e.name !== 'LICENSE.txt') {
        for (const line of (await readFile(full, 'utf8')).split('\n')) {
          const [file, x, y, w, h] = line.trim().split('\t');
          if (!file || !/\.(jpe?g|png)$/i.test(file)) continue;
          const [px, py, pw, ph] = [x, y, w, h].map(Number) as [number, number, number, number];
          out.push({ image: path.join(d, file), plate: { x1: px, y1: py, x2: px + pw, y2: py + ph } });
        }
      }
    }
  };
  await walk(dir);
  return out;
}

export function plateInside(vehicle: Box, plate: Box): boolean {
  const w = Math.min(vehicle.x2, plate.x2) - Math.max(vehicle.x1, plate.x1);
  const h = Math.min(vehicle.y2, plate.y2) - Math.max(vehicle.y1, plate.y1);
  const area = (plate.x2 - plate.x1) * (plate.y2 - plate.y1);
  return w > 0 && h > 0 && area > 0 && (w * h) / area >= 0.9;
}

async function decode(file: string): Promise<Frame> {
  const { data, info } = await sharp(file)
    .toColourspace('srgb')
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

type Detect = (frame: Frame) => Promise<Box[]>;

/** YOLOX-nano, 416: BGR 0–255, top-left letterbox padded with 114; [1, 3549, 85] raw head output. */
async function yoloxPeer(file: string, score: number): Promise<Detect> {
  const session = await ort.InferenceSession.create(file, { intraOpNumThreads: 1 });
  const size = 416;
  const pre = new Preprocessor({
    width: size,
    height: size,
    pixelFormat: 'BGR',
    mean: [0, 0, 0],
    std: [1, 1, 1],
    letterbox: true,
    align: 'top-left',
    padValue: 114,
  });
  const input = new ort.Tensor('float32', pre.output, [1, 3, size, size]);
  return async (frame) => {
    const t = pre.run(frame);
    const out = (await session.run({ [session.inputNames[0]!]: input }))[session.outputNames[0]!]!;
    const data = out.data as Float32Array;
    const candidates: Candidate[] = [];
    let row = 0;
    for (const stride of [8, 16, 32]) {
      const cells = size / stride;
      for (let gy = 0; gy < cells; gy++) {
        for (let gx = 0; gx < cells; gx++, row++) {
          const o = row * 85;
          for (const c of VEHICLE_IDS) {
            const s = data[o + 4]! * data[o + 5 + c]!;
            if (s < score) continue;
            const cx = (data[o]! + gx) * stride;
            const cy = (data[o + 1]! + gy) * stride;
            const w = Math.exp(data[o + 2]!) * stride;
            const h = Math.exp(data[o + 3]!) * stride;
            candidates.push({
              classId: c,
              score: s,
              x1: cx - w / 2,
              y1: cy - h / 2,
              x2: cx + w / 2,
              y2: cy + h / 2,
            });
          }
        }
      }
    }
    return nmsPerClass(candidates, 0.45).map((c) => boxToFrame(t, c));
  };
}

export interface RecallReport {
  detector: string;
  samples: number;
  found: number;
  recall: number;
  meanMsPerImage: number;
}

export async function evaluate(
  samples: readonly Sample[],
  name: string,
  detect: Detect,
): Promise<RecallReport> {
  let found = 0;
  let ms = 0;
  for (const s of samples) {
    const frame = await decode(s.image);
    const t0 = performance.now();
    const boxes = await detect(frame);
    ms += performance.now() - t0;
    if (boxes.some((b) => plateInside(b, s.plate))) found++;
  }
  return {
    detector: name,
    samples: samples.length,
    found,
    recall: found / samples.length,
    meanMsPerImage: ms / samples.length,
  };
}

async function main(argv: string[]): Promise<void> {
  const arg = (flag: string) => {
    const i = argv.indexOf(flag);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const data = arg('--data') ?? path.join(process.env['SHARED_DIR'] ?? '../shared', 'data/plates-endtoend');
  const model = arg('--model') ?? 'nanodet-coco';
  const version = arg('--version');
  const score = Number(arg('--score') ?? 0.35);
  const limit = Number(arg('--limit') ?? Infinity);
  const peer = arg('--peer-yolox');
  const samples = (await readSamples(data)).slice(0, limit);
  if (samples.length === 0) throw new Error(`no annotated photos under ${data}`);

  const modelsDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
  const { engine } = await DetectionEngine.create({
    modelName: model,
    modelsDir,
    ...(version ? { version } : {}),
    scoreThreshold: score,
    classes: VEHICLES,
  });
  const reports = [
    await evaluate(samples, `${engine.model.name}/${engine.model.version}`, async (frame) =>
      (await engine.detect(frame)).detections.map((d) => ({
        x1: d.box.x,
        y1: d.box.y,
        x2: d.box.x + d.box.w,
        y2: d.box.y + d.box.h,
      })),
    ),
  ];
  await engine.close();
  if (peer)
    reports.push(await evaluate(samples, `peer ${path.basename(peer)}`, await yoloxPeer(peer, score)));
  console.log(
    JSON.stringify(
      {
        data,
        metric: `plates ≥ 90 % inside a ${VEHICLES.join('/')} box`,
        settings: `score ≥ ${score}; each model's own NMS and input size`,
        reports,
      },
      null,
      2,
    ),
  );
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exitCode = 1;
  });
}
