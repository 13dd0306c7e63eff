/**
 * The whole-plate recogniser (a `plate-recognition` card such as vn-plate-ocr/1): one pass over the
 * plate crop, whatever its layout. The crop is stretched to the card's input size (resizeRgb, as in
 * training), turned to grey (BT.601 luma) and normalised; the CTC output is decoded greedily and split
 * at the row-break class into the rows of a two-row plate.
 */
import * as ort from 'onnxruntime-node';
import type { PlateRecognitionCard } from '../model-card.js';
import type { LoadedOcrModel } from '../model-registry.js';
import type { CtcChar } from './ctc.js';
import { SymbolMap, ctcGreedyDecode } from './ctc.js';
import type { RgbImage } from './image.js';
import { checkImage, resizeRgb, toGray } from './image.js';
import type { CharReading } from './plate-grammar.js';

export interface PlateOcrReading {
  /** The characters read, both rows, without the row break. */
  text: string;
  chars: CharReading[];
  rows: 1 | 2;
  /** Index of the first character of the second row (two-row readings). */
  rowBreak?: number;
  /**
   * Product of the character probabilities (the row break's included): the chance that the greedy
   * path's characters are all right, as the model sees it.
   */
  confidence: number;
}

/**
 * The model's classes as output symbols: digits, A–Z, Đ and the row break are kept as they are;
 * any other class of the charset cannot occur on a plate (pooled and dropped).
 */
export function plateSymbolMap(charset: readonly string[], rowBreak: string, blank = 0): SymbolMap {
  return SymbolMap.fromCharset(
    charset,
    (ch) => (/^[0-9A-ZĐ]$/.test(ch) || ch === rowBreak ? ch : undefined),
    blank,
  );
}

/**
 * The model input for one crop, written into `out` at `offset` (H × W values): the crop stretched to
 * W × H with resizeRgb, BT.601 luma, then (luma − mean) / std, as the training script prepares it.
 */
export function preprocessPlate(
  crop: RgbImage,
  input: PlateRecognitionCard['input'],
  out?: Float32Array,
  offset = 0,
): Float32Array {
  checkImage(crop, 'plate crop');
  const [, , H, W] = input.shape;
  const gray = toGray(resizeRgb(crop, W, H));
  const target = out ?? new Float32Array(H * W);
  const mean = input.normalisation.mean[0];
  const k = 1 / input.normalisation.std[0];
  for (let i = 0; i < gray.length; i++) target[offset + i] = (gray[i]! - mean) * k;
  return target;
}

/**
 * Decoded CTC characters → a plate reading: the first row-break symbol splits the rows (further ones
 * are dropped, their probability still counted), and the row break never appears as an alternative.
 */
export function splitRows(chars: readonly CtcChar[], rowBreak: string): PlateOcrReading {
  const out: CharReading[] = [];
  let breakAt: number | undefined;
  let confidence = 1;
  for (const c of chars) {
    confidence *= c.confidence;
    if (c.char === rowBreak) {
      breakAt ??= out.length;
      continue;
    }
    out.push({
      char: c.char,
      confidence: c.confidence,
      alternatives: c.alternatives.filter((a) => a.char !== rowBreak),
    });
  }
  const two = breakAt !== undefined && breakAt > 0 && breakAt < out.length;
  return {
    text: out.map((c) => c.char).join(''),
    chars: out,
    rows: two ? 2 : 1,
    ...(two ? { rowBreak: breakAt } : {}),
    confidence: out.length === 0 ? 0 : confidence,
  };
}

export class PlateRecogniser {
  readonly map: SymbolMap;
  readonly model: { name: string; version: string };
  readonly card: PlateRecognitionCard;

  constructor(private readonly loaded: LoadedOcrModel) {
    if (loaded.card.task !== 'plate-recognition' || !loaded.charset) {
      throw new Error(`model ${loaded.card.name}/${loaded.card.version} is not a plate recogniser`);
    }
    this.card = loaded.card;
    this.model = Object.freeze({ name: loaded.card.name, version: loaded.card.version });
    this.map = plateSymbolMap(loaded.charset, loaded.card.output.rowBreak, loaded.card.output.blankIndex);
  }

  /** Reads plate crops in one batch. */
  async read(crops: readonly RgbImage[]): Promise<PlateOcrReading[]> {
    if (crops.length === 0) return [];
    const [, , H, W] = this.card.input.shape;
    const data = new Float32Array(crops.length * H * W);
    crops.forEach((c, i) => preprocessPlate(c, this.card.input, data, i * H * W));
    const { probs, steps, classes } = await this.infer(data, crops.length);
    return crops.map((_, i) =>
      splitRows(
        ctcGreedyDecode(probs, steps, this.map, { offset: i * steps * classes, alternatives: 8 }).chars,
        this.card.output.rowBreak,
      ),
    );
  }

  /** One session run over `n` pre-processed crops: the output probabilities, copied out. */
  async infer(
    data: Float32Array,
    n: number,
  ): Promise<{ probs: Float32Array; steps: number; classes: number }> {
    const [, , H, W] = this.card.input.shape;
    const input = new ort.Tensor('float32', data, [n, 1, H, W]);
    const results = await this.loaded.session.run({ [this.card.input.name]: input });
    try {
      const out = results[this.card.output.tensor.name]!;
      const [batch, steps, classes] = out.dims as [number, number, number];
      if (batch !== n || classes !== this.map.classes) {
        throw new Error(
          `plate recogniser output [${out.dims.join(',')}] does not fit ${n} crops × ${this.map.classes} classes`,
        );
      }
      return { probs: Float32Array.from(out.data as Float32Array), steps, classes };
    } finally {
      for (const t of Object.values(results)) t.dispose();
    }
  }

  async close(): Promise<void> {
    await this.loaded.session.release();
  }
}
