/**
 * The text detector (a DB card such as ppocr-det/4): an image → text-line boxes in image pixels.
 * The image is resized so both sides are multiples of the card's `multipleOf` and the longer side is
 * at most `maxSide` (PaddleOCR's DetResizeForTest); smaller images may be enlarged up to `minLongSide`.
 */
import * as ort from 'onnxruntime-node';
import type { TextDetectionCard } from '../model-card.js';
import type { LoadedOcrModel } from '../model-registry.js';
import { dbBoxes } from './db-postprocess.js';
import type { PixelBox, RgbImage } from './image.js';
import { resizeRgb } from './image.js';

export interface TextBox {
  box: PixelBox;
  /** Mean text probability of the region. */
  score: number;
}

export interface TextDetectOptions {
  /** Cap on the longer side of the model input (default: the card's maxSide). */
  maxSide?: number;
  /** Enlarge smaller images until the longer side reaches this (default: no enlargement). */
  minLongSide?: number;
}

export class TextDetector {
  readonly model: { name: string; version: string };
  private readonly card: TextDetectionCard;

  constructor(private readonly loaded: LoadedOcrModel) {
    if (loaded.card.task !== 'text-detection') {
      throw new Error(`model ${loaded.card.name}/${loaded.card.version} is not a text detector`);
    }
    this.card = loaded.card;
    this.model = Object.freeze({ name: loaded.card.name, version: loaded.card.version });
  }

  /** Model input size for an image. */
  inputSize(
    width: number,
    height: number,
    options: TextDetectOptions = {},
  ): { width: number; height: number } {
    const m = this.card.input.multipleOf;
    const maxSide = options.maxSide ?? this.card.input.maxSide;
    const long = Math.max(width, height);
    let ratio = long > maxSide ? maxSide / long : 1;
    if (options.minLongSide !== undefined && long * ratio < options.minLongSide) {
      ratio = Math.min(maxSide, options.minLongSide) / long;
    }
    return {
      width: Math.max(m, Math.round((width * ratio) / m) * m),
      height: Math.max(m, Math.round((height * ratio) / m) * m),
    };
  }

  async detect(img: RgbImage, options: TextDetectOptions = {}): Promise<TextBox[]> {
    const size = this.inputSize(img.width, img.height, options);
    const resized = resizeRgb(img, size.width, size.height);
    const { normalisation, pixelFormat } = this.card.input;
    const plane = size.width * size.height;
    const data = new Float32Array(3 * plane);
    const planeOf = pixelFormat === 'RGB' ? [0, 1, 2] : [2, 1, 0];
    for (let c = 0; c < 3; c++) {
      const p = planeOf[c]!;
      const k = 1 / normalisation.std[p]!;
      const b = -normalisation.mean[p]! / normalisation.std[p]!;
      const o = p * plane;
      for (let i = 0; i < plane; i++) data[o + i] = resized.data[i * 3 + c]! * k + b;
    }
    const input = new ort.Tensor('float32', data, [1, 3, size.height, size.width]);
    const results = await this.loaded.session.run({ [this.card.input.name]: input });
    const out = results[this.card.output.tensor.name]!;
    const [, , mh, mw] = out.dims as [number, number, number, number];
    const boxes = dbBoxes(out.data as Float32Array, mw, mh, this.card.thresholds);
    for (const t of Object.values(results)) t.dispose();
    const sx = img.width / mw;
    const sy = img.height / mh;
    return boxes.map((b) => {
      const x1 = Math.max(0, b.x1 * sx);
      const y1 = Math.max(0, b.y1 * sy);
      const x2 = Math.min(img.width, b.x2 * sx);
      const y2 = Math.min(img.height, b.y2 * sy);
      return { box: { x: x1, y: y1, w: x2 - x1, h: y2 - y1 }, score: b.score };
    });
  }

  async close(): Promise<void> {
    await this.loaded.session.release();
  }
}
