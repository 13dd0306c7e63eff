/**
 * The text-line recogniser (a CTC card such as ppocr-rec/4): line images → per-character readings.
 * Each line is resized to the card's height keeping its aspect ratio (PaddleOCR's resize_norm_img),
 * normalised, written in the card's channel order and padded on the right to the batch width; one
 * session run reads a batch (e.g. a plate's whole crop and its two rows together).
 */
import * as ort from 'onnxruntime-node';
import type { TextRecognitionCard } from '../model-card.js';
import type { LoadedOcrModel } from '../model-registry.js';
import type { CtcReading } from './ctc.js';
import { SymbolMap, ctcGreedyDecode, plateFold } from './ctc.js';
import type { RgbImage } from './image.js';
import { resizeRgb } from './image.js';

export class Recogniser {
  readonly map: SymbolMap;
  readonly model: { name: string; version: string };
  private readonly card: TextRecognitionCard;

  constructor(
    private readonly loaded: LoadedOcrModel,
    fold: (ch: string) => string | null | undefined = plateFold,
  ) {
    if (loaded.card.task !== 'text-recognition' || !loaded.charset) {
      throw new Error(`model ${loaded.card.name}/${loaded.card.version} is not a text recogniser`);
    }
    this.card = loaded.card;
    this.model = Object.freeze({ name: loaded.card.name, version: loaded.card.version });
    this.map = SymbolMap.fromCharset(loaded.charset, fold, loaded.card.output.blankIndex);
  }

  /** Width a line of this size is resized to (before padding). */
  lineWidth(width: number, height: number): number {
    const { height: H, maxWidth } = this.card.input;
    return Math.max(1, Math.min(maxWidth, Math.ceil((H * width) / height)));
  }

  /** Writes one line into the batch tensor at `index` (planes of H × batchWidth). */
  private write(out: Float32Array, index: number, batchWidth: number, line: RgbImage): void {
    const { height: H, normalisation, pixelFormat } = this.card.input;
    const w = this.lineWidth(line.width, line.height);
    const resized = resizeRgb(line, w, H);
    const plane = H * batchWidth;
    const base = index * 3 * plane;
    // Source channel c (R, G, B) → model plane.
    const planeOf = pixelFormat === 'RGB' ? [0, 1, 2] : [2, 1, 0];
    for (let c = 0; c < 3; c++) {
      const p = planeOf[c]!;
      const k = 1 / normalisation.std[p]!;
      const b = -normalisation.mean[p]! / normalisation.std[p]!;
      const o = base + p * plane;
      for (let y = 0; y < H; y++) {
        const row = o + y * batchWidth;
        const src = y * w * 3 + c;
        for (let x = 0; x < w; x++) out[row + x] = resized.data[src + x * 3]! * k + b;
      }
    }
  }

  async read(lines: readonly RgbImage[]): Promise<CtcReading[]> {
    if (lines.length === 0) return [];
    const { height: H, minWidth, padValue } = this.card.input;
    const batchWidth = Math.max(minWidth, ...lines.map((l) => this.lineWidth(l.width, l.height)));
    const data = new Float32Array(lines.length * 3 * H * batchWidth).fill(padValue);
    lines.forEach((line, i) => this.write(data, i, batchWidth, line));
    const input = new ort.Tensor('float32', data, [lines.length, 3, H, batchWidth]);
    const results = await this.loaded.session.run({ [this.card.input.name]: input });
    const out = results[this.card.output.tensor.name]!;
    const [n, steps, classes] = out.dims as [number, number, number];
    if (n !== lines.length || classes !== this.map.classes) {
      throw new Error(
        `recogniser output [${out.dims.join(',')}] does not fit ${lines.length} lines × ${this.map.classes} classes`,
      );
    }
    const probs = out.data as Float32Array;
    const readings = lines.map((_, i) =>
      ctcGreedyDecode(probs, steps, this.map, { offset: i * steps * classes, alternatives: 8 }),
    );
    for (const t of Object.values(results)) t.dispose();
    return readings;
  }

  async close(): Promise<void> {
    await this.loaded.session.release();
  }
}
