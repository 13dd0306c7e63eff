/**
 * Peer models from ${SHARED_DIR}/models, run under the same evaluation for comparison only: they are
 * never committed and never a run-time dependency of the product.
 *
 *  cct_xs_v1_global.onnx            plate OCR (fast-plate-ocr): uint8 [N,64,128,3] RGB, plain resize →
 *                                   [N,9,37] per-slot softmax over 0-9A-Z_ (_ = padding); 1- and 2-row
 *                                   plates as one image
 *  plate_detector_yolov8n_int8.onnx plate detector: f32 [1,3,640,640] RGB 0–1, letterbox → [1,5,8400]
 *                                   (cx, cy, w, h, score) in input pixels
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import type { PixelBox, RgbImage } from '../../../detector/plates/image.js';
import { resizeRgb } from '../../../detector/plates/image.js';
import type { CharReading, PlateCandidate, PlateRegion } from '../../../detector/plates/plate-grammar.js';
import { chooseReading } from '../../../detector/plates/plate-grammar.js';
import { nmsPerClass } from '../../../detector/postprocess/nms.js';
import { Preprocessor, boxToFrame } from '../../../detector/preprocess.js';

export const CCT_XS_FILE = 'cct_xs_v1_global.onnx';
export const YOLOV8_PLATE_FILE = 'plate_detector_yolov8n_int8.onnx';

export function peerPath(sharedDir: string, file: string): string {
  const p = path.join(sharedDir, 'models', file);
  if (!existsSync(p)) {
    throw new Error(
      `peer model ${p} not found: peers are read from SHARED_DIR (${sharedDir}), never shipped`,
    );
  }
  return p;
}

const CCT_ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_';
const CCT_PAD = CCT_ALPHABET.length - 1;

export interface PeerReading {
  compact: string;
  confidence: number;
  rows: 1 | 2;
  valid: boolean;
  model: { name: string; version: string };
}

/** fast-plate-ocr's cct_xs: the whole plate (one or two rows) in one 128×64 image. */
export class CctXsReader {
  readonly model = { name: 'cct_xs_v1_global', version: 'peer' };
  private constructor(private readonly session: ort.InferenceSession) {}

  static async create(file: string): Promise<CctXsReader> {
    return new CctXsReader(await ort.InferenceSession.create(file, { intraOpNumThreads: 1 }));
  }

  /** Per slot: the best symbol, its probability and the next ones (padding slots dropped). */
  async readSlots(crop: RgbImage): Promise<CharReading[]> {
    const resized = resizeRgb(crop, 128, 64);
    const input = new ort.Tensor('uint8', Uint8Array.from(resized.data), [1, 64, 128, 3]);
    const out = (await this.session.run({ [this.session.inputNames[0]!]: input }))[
      this.session.outputNames[0]!
    ]!;
    const [, slots, classes] = out.dims as [number, number, number];
    const p = out.data as Float32Array;
    const chars: CharReading[] = [];
    for (let s = 0; s < slots; s++) {
      const row = Array.from(p.subarray(s * classes, (s + 1) * classes));
      const order = row.map((v, i) => [v, i] as const).sort((a, b) => b[0] - a[0]);
      const [best, idx] = order[0]!;
      if (idx === CCT_PAD) continue;
      chars.push({
        char: CCT_ALPHABET[idx]!,
        confidence: best,
        alternatives: order
          .slice(1, 6)
          .filter(([, i]) => i !== CCT_PAD)
          .map(([v, i]) => ({ char: CCT_ALPHABET[i]!, confidence: v })),
      });
    }
    return chars;
  }

  /** Reads a plate crop; the same grammar as ours is applied (both row layouts offered to it). */
  async read(crop: RgbImage, region: PlateRegion): Promise<PeerReading> {
    const chars = await this.readSlots(crop);
    const candidates: PlateCandidate[] = [
      { chars, rows: 1, source: 'cct_xs' },
      { chars, rows: 2, source: 'cct_xs' },
    ];
    const r = chooseReading(candidates, { region });
    return { compact: r.compact, confidence: r.confidence, rows: r.rows, valid: r.valid, model: this.model };
  }

  async close(): Promise<void> {
    await this.session.release();
  }
}

/** The YOLOv8n plate detector (int8), 640 letterbox. */
export class Yolov8PlateDetector {
  readonly model = { name: 'plate_detector_yolov8n_int8', version: 'peer' };
  private readonly pre = new Preprocessor({
    width: 640,
    height: 640,
    pixelFormat: 'RGB',
    mean: [0, 0, 0],
    std: [255, 255, 255],
    letterbox: true,
    align: 'center',
    padValue: 114,
  });
  private readonly input = new ort.Tensor('float32', this.pre.output, [1, 3, 640, 640]);

  private constructor(
    private readonly session: ort.InferenceSession,
    private readonly scoreThreshold: number,
  ) {}

  static async create(file: string, scoreThreshold = 0.25): Promise<Yolov8PlateDetector> {
    return new Yolov8PlateDetector(
      await ort.InferenceSession.create(file, { intraOpNumThreads: 1 }),
      scoreThreshold,
    );
  }

  async detect(image: RgbImage): Promise<{ box: PixelBox; score: number }[]> {
    const t = this.pre.run(image);
    const out = (await this.session.run({ [this.session.inputNames[0]!]: this.input }))[
      this.session.outputNames[0]!
    ]!;
    const [, attrs, anchors] = out.dims as [number, number, number];
    if (attrs !== 5) throw new Error(`plate detector output [${out.dims.join(',')}] is not [1,5,anchors]`);
    const d = out.data as Float32Array;
    const candidates = [];
    for (let a = 0; a < anchors; a++) {
      const score = d[4 * anchors + a]!;
      if (score < this.scoreThreshold) continue;
      const cx = d[a]!;
      const cy = d[anchors + a]!;
      const w = d[2 * anchors + a]!;
      const h = d[3 * anchors + a]!;
      candidates.push({ classId: 0, score, x1: cx - w / 2, y1: cy - h / 2, x2: cx + w / 2, y2: cy + h / 2 });
    }
    return nmsPerClass(candidates, 0.45, 50).map((c) => {
      const b = boxToFrame(t, c);
      return { box: { x: b.x1, y: b.y1, w: b.x2 - b.x1, h: b.y2 - b.y1 }, score: c.score };
    });
  }

  async close(): Promise<void> {
    await this.session.release();
  }
}
