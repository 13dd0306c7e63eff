/**
 * Plate reading in the current thread: PP-OCR (text detector, line recogniser, row split), or a
 * whole-plate recogniser (vn-plate-ocr) first with PP-OCR as its second opinion, the grammar and the
 * colour.
 * `createPlateReader` (plate-reader.ts) runs it in a worker thread; tools and tests may use it
 * directly.
 */
import type { Logger } from '../../core/logger.js';
import type { ExecutionProvider } from '../model-registry.js';
import { loadOcrModel } from '../model-registry.js';
import type { CtcReading } from './ctc.js';
import type { PixelBox, RgbImage } from './image.js';
import { checkImage, cropImage } from './image.js';
import type { GrammarResult, PlateCandidate, PlateRegion } from './plate-grammar.js';
import { chooseReading } from './plate-grammar.js';
import type { PlateColour } from './plate-colour.js';
import { plateColour } from './plate-colour.js';
import type { PlateBox } from './plate-localiser.js';
import { joinLines, localisePlates } from './plate-localiser.js';
import { PlateRecogniser } from './plate-recogniser.js';
import { Recogniser } from './recogniser.js';
import { analyseRows } from './row-split.js';
import type { TextBox } from './text-detector.js';
import { TextDetector } from './text-detector.js';

export interface PlateChar {
  char: string;
  confidence: number;
}

export interface PlateReading {
  /** A–Z, 0–9, Đ; no separators. */
  compact: string;
  /** As printed (`30A-123.45`, `29-B1 123.45`); the compact form when it is no Vietnamese plate. */
  formatted: string;
  rows: 1 | 2;
  chars: PlateChar[];
  /** Product of the character confidences. */
  confidence: number;
  colour: PlateColour;
  /** A Vietnamese plate of a known format and province code. */
  valid: boolean;
  /** Why a person should check this reading (empty when none). */
  reviewReasons: string[];
  /** Characters the grammar changed (position, from, to). */
  corrections: { index: number; from: string; to: string }[];
  /** The recogniser that read it. */
  model: { name: string; version: string };
}

export interface ReadPlateOptions {
  /** 'vn' (default): Vietnamese plates; 'auto': correct only almost-VN readings; 'none': read as is. */
  region?: PlateRegion;
}

export interface FindPlatesOptions {
  /** Cap on the longer side of the text detector's input (default: the card's, 960). */
  maxSide?: number;
  /** Enlarge smaller images until their longer side reaches this (default: no enlargement). */
  minLongSide?: number;
  /** Candidates kept (default 8). */
  maxPlates?: number;
}

/** A plate box on an image, naming the text detector that found it. */
export interface LocatedPlate extends PlateBox {
  model: { name: string; version: string };
}

export interface FoundPlate extends LocatedPlate {
  reading: PlateReading;
}

export interface PlateEngineOptions {
  modelsDir: string;
  detModel?: string;
  detVersion?: string;
  recModel?: string;
  recVersion?: string;
  /**
   * A whole-plate recogniser read first, PP-OCR becoming its second opinion (e.g. 'vn-plate-ocr');
   * default DEFAULT_PLATE_MODEL.
   */
  plateModel?: string | null;
  plateVersion?: string;
  /**
   * PP-OCR also reads the crop, and the grammar chooses among all readings, when the whole-plate
   * reading's confidence is below this or the grammar rejects it (default: the plate card's
   * confidence threshold). 0: never; above 1: always.
   */
  secondOpinionBelow?: number;
  provider?: ExecutionProvider;
  cudaDevice?: number;
  threads?: number;
  /** Readings below this confidence are sent to review (default: the first recogniser card's). */
  minConfidence?: number;
  log?: Logger;
}

/**
 * The whole-plate recogniser the reader uses by default: none, so PP-OCR reads alone. vn-plate-ocr/1
 * as trained so far reads far fewer real Vietnamese crops exactly than PP-OCR does (docs/ACCURACY.md,
 * Plates), so it is opt-in (`plateModel: 'vn-plate-ocr'`) until a version beats PP-OCR there.
 */
export const DEFAULT_PLATE_MODEL: string | null = null;

/** Crops at least this wide for their height are read as one row only. */
const ONE_ROW_ASPECT = 3.2;
/** Overlap of the two row crops around the split, as a share of the crop height. */
const ROW_OVERLAP = 0.04;

export class PlateEngine {
  /** The recogniser read first: the whole-plate one when loaded, else PP-OCR's. */
  readonly recModel: { name: string; version: string };
  readonly detModel: { name: string; version: string };

  private constructor(
    private readonly recogniser: Recogniser,
    private readonly detector: TextDetector,
    private readonly plate: PlateRecogniser | undefined,
    private readonly minConfidence: number,
    private readonly secondOpinionBelow: number,
    readonly provider: ExecutionProvider,
    readonly loadMs: number,
  ) {
    this.recModel = plate?.model ?? recogniser.model;
    this.detModel = detector.model;
  }

  static async create(options: PlateEngineOptions): Promise<PlateEngine> {
    const started = performance.now();
    const common = {
      modelsDir: options.modelsDir,
      ...(options.provider === undefined ? {} : { provider: options.provider }),
      ...(options.cudaDevice === undefined ? {} : { cudaDevice: options.cudaDevice }),
      ...(options.threads === undefined ? {} : { threads: options.threads }),
      ...(options.log === undefined ? {} : { log: options.log }),
    };
    const rec = await loadOcrModel({
      ...common,
      name: options.recModel ?? 'ppocr-rec',
      ...(options.recVersion === undefined ? {} : { version: options.recVersion }),
    });
    let det;
    let plate;
    try {
      det = await loadOcrModel({
        ...common,
        name: options.detModel ?? 'ppocr-det',
        ...(options.detVersion === undefined ? {} : { version: options.detVersion }),
      });
      const plateModel = options.plateModel === undefined ? DEFAULT_PLATE_MODEL : options.plateModel;
      if (plateModel !== null) {
        plate = await loadOcrModel({
          ...common,
          name: plateModel,
          ...(options.plateVersion === undefined ? {} : { version: options.plateVersion }),
        });
      }
    } catch (err) {
      await rec.session.release();
      await det?.session.release();
      throw err;
    }
    try {
      const recogniser = new Recogniser(rec);
      const detector = new TextDetector(det);
      const whole = plate ? new PlateRecogniser(plate) : undefined;
      const first = whole?.card ?? rec.card;
      const cardThreshold = first.task === 'text-detection' ? 0.8 : first.thresholds.confidence;
      const minConfidence = options.minConfidence ?? cardThreshold;
      const secondOpinionBelow = options.secondOpinionBelow ?? cardThreshold;
      const sessions = [rec, det, ...(plate ? [plate] : [])];
      const provider = sessions.every((m) => m.provider === 'cuda') ? 'cuda' : 'cpu';
      return new PlateEngine(
        recogniser,
        detector,
        whole,
        minConfidence,
        secondOpinionBelow,
        provider,
        performance.now() - started,
      );
    } catch (err) {
      await rec.session.release();
      await det.session.release();
      await plate?.session.release();
      throw err;
    }
  }

  /**
   * Reads a plate crop (one or two rows). The whole-plate recogniser reads it first; when its reading
   * is confident and (for Vietnamese plates) parses, that is the answer. Otherwise PP-OCR reads it
   * too (ppocrCandidates) and the grammar picks, among all the readings, the one that parses best,
   * weighted by character confidence; when the two recognisers disagree the reading goes to review.
   */
  async readPlate(crop: RgbImage, options: ReadPlateOptions = {}): Promise<PlateReading> {
    checkImage(crop, 'plate crop');
    const region = options.region ?? 'vn';
    const grammar = { region, minConfidence: this.minConfidence };
    if (!this.plate) {
      const chosen = chooseReading(await this.ppocrCandidates(crop), grammar);
      return this.reading(crop, chosen, this.recogniser.model);
    }
    const [ours] = await this.plate.read([crop]);
    const own: PlateCandidate = {
      chars: ours!.chars,
      rows: ours!.rows,
      ...(ours!.rowBreak === undefined ? {} : { rowBreak: ours!.rowBreak }),
      prior: 1,
      source: `${this.plate.model.name}/${this.plate.model.version}`,
    };
    const first = chooseReading([own], grammar);
    if (first.confidence >= this.secondOpinionBelow && (region !== 'vn' || first.valid)) {
      return this.reading(crop, first, this.plate.model);
    }
    const candidates = [own, ...(await this.ppocrCandidates(crop))];
    const chosen = chooseReading(candidates, grammar);
    const second = chooseReading(candidates.slice(1), grammar);
    if (second.compact !== first.compact) {
      // Two readers disagree: the chosen reading is no surer than the other reader is unsure.
      const other = chosen.candidate === 0 ? second : first;
      const a = `${this.plate.model.name}/${this.plate.model.version}`;
      const b = `${this.recogniser.model.name}/${this.recogniser.model.version}`;
      chosen.confidence = Math.min(chosen.confidence, 1 - other.confidence);
      chosen.reviewReasons.push(`the recognisers disagree (${a}, ${b})`);
    }
    return this.reading(crop, chosen, chosen.candidate === 0 ? this.plate.model : this.recogniser.model);
  }

  private reading(
    crop: RgbImage,
    chosen: GrammarResult,
    model: { name: string; version: string },
  ): PlateReading {
    return {
      compact: chosen.compact,
      formatted: chosen.formatted,
      rows: chosen.rows,
      chars: chosen.chars.map((c) => ({ char: c.char, confidence: round4(c.confidence) })),
      confidence: round4(chosen.confidence),
      colour: plateColour(crop).colour,
      valid: chosen.valid,
      reviewReasons: chosen.reviewReasons,
      corrections: chosen.corrections.map(({ index, from, to }) => ({ index, from, to })),
      model,
    };
  }

  /**
   * PP-OCR's candidate readings of a crop: the whole crop as one row; for crops not clearly one-row,
   * the two halves either side of the projection split; and the text lines the text detector finds
   * on the crop (one, or two stacked). All lines are read in one batch.
   */
  private async ppocrCandidates(crop: RgbImage): Promise<PlateCandidate[]> {
    const aspect = crop.width / crop.height;
    const lines: RgbImage[] = [crop];
    const plans: { lines: number[]; rows: 1 | 2; prior: number; source: string }[] = [];
    const rows = aspect < ONE_ROW_ASPECT && crop.height >= 8 ? analyseRows(crop) : undefined;
    plans.push({ lines: [0], rows: 1, prior: rows ? 1 - 0.5 * rows.twoRowScore : 1, source: 'whole crop' });
    if (rows) {
      const overlap = Math.round(crop.height * ROW_OVERLAP);
      const top: PixelBox = { x: 0, y: 0, w: crop.width, h: Math.min(crop.height, rows.split + overlap) };
      const y = Math.max(0, rows.split - overlap);
      lines.push(cropImage(crop, top), cropImage(crop, { x: 0, y, w: crop.width, h: crop.height - y }));
      plans.push({ lines: [1, 2], rows: 2, prior: 0.5 + 0.5 * rows.twoRowScore, source: 'projection split' });
    }
    const found = textRows(await this.detector.detect(crop, CROP_DETECT), crop);
    if (found) {
      const first = lines.length;
      for (const b of found) {
        const mx = b.h * LINE_MARGIN_X;
        const my = b.h * LINE_MARGIN_Y;
        lines.push(cropImage(crop, { x: b.x - mx, y: b.y - my, w: b.w + 2 * mx, h: b.h + 2 * my }));
      }
      if (found.length === 1) plans.push({ lines: [first], rows: 1, prior: 1, source: 'text line' });
      else {
        plans.push({ lines: [first, first + 1], rows: 2, prior: 1, source: 'text lines' });
        if (rows) {
          // Each row from either source: the projection's top with the detector's bottom and back.
          const prior = 0.5 + 0.5 * rows.twoRowScore;
          plans.push({ lines: [1, first + 1], rows: 2, prior, source: 'projection top, text-line bottom' });
          plans.push({ lines: [first, 2], rows: 2, prior, source: 'text-line top, projection bottom' });
        }
      }
    }
    const readings = await this.recogniser.read(lines);
    return plans.map((p) => {
      const parts = p.lines.map((i) => readings[i]!.chars);
      return {
        chars: parts.flat(),
        rows: p.rows,
        ...(p.rows === 2 ? { rowBreak: parts[0]!.length } : {}),
        prior: p.prior,
        source: p.source,
      };
    });
  }

  /** Raw recogniser output for line images (diagnostics, tools). */
  readLines(lines: readonly RgbImage[]): Promise<CtcReading[]> {
    return this.recogniser.read(lines);
  }

  /** Plate boxes on a vehicle crop or a full image, best first (text geometry only). */
  async findPlates(image: RgbImage, options: FindPlatesOptions = {}): Promise<LocatedPlate[]> {
    checkImage(image);
    const boxes = await this.detector.detect(image, {
      ...(options.maxSide === undefined ? {} : { maxSide: options.maxSide }),
      ...(options.minLongSide === undefined ? {} : { minLongSide: options.minLongSide }),
    });
    const plates = localisePlates(
      boxes,
      image,
      options.maxPlates === undefined ? {} : { maxPlates: options.maxPlates },
    );
    return plates.map((p) => ({ ...p, model: this.detModel }));
  }

  /**
   * Plate boxes with their readings, best first: each candidate's text is read, and the ranking
   * weighs the localiser's score by how plate-like the reading is (length, confidence, format).
   */
  async readPlates(
    image: RgbImage,
    options: FindPlatesOptions & ReadPlateOptions = {},
  ): Promise<FoundPlate[]> {
    const region = options.region ?? 'vn';
    const found = await this.findPlates(image, options);
    const out: FoundPlate[] = [];
    for (const p of found) {
      const t = p.text;
      const mx = t.h * READ_MARGIN_X;
      const my = t.h * READ_MARGIN_Y;
      const crop = cropImage(image, { x: t.x - mx, y: t.y - my, w: t.w + 2 * mx, h: t.h + 2 * my });
      const reading = await this.readPlate(crop, { region });
      out.push({ ...p, score: round4(p.score * readingQuality(reading, region)), reading });
    }
    return out.sort((a, b) => b.score - a.score);
  }

  async close(): Promise<void> {
    await this.recogniser.close();
    await this.detector.close();
    await this.plate?.close();
  }
}

const round4 = (v: number) => Math.round(v * 1e4) / 1e4;

/** Margin around a plate's text when it is cut out to be read, as a share of the text height. */
const READ_MARGIN_X = 0.25;
const READ_MARGIN_Y = 0.12;

/**
 * 0–1: how much a reading looks like a plate: per-character confidence, length (4–10), format (a
 * valid Vietnamese plate), and digits (a dealer's name or a slogan on the frame has none; plates
 * without a digit are rare vanity plates).
 */
export function readingQuality(reading: PlateReading, region: PlateRegion): number {
  const n = reading.chars.length;
  if (n === 0) return 0;
  const geo = reading.confidence > 0 ? Math.exp(Math.log(reading.confidence) / n) : 0;
  const length = n >= 4 && n <= 10 ? 1 : 0.3;
  const format = reading.valid ? 1 : region === 'vn' ? 0.5 : 0.8;
  const digits = /[0-9]/.test(reading.compact) ? 1 : 0.5;
  return geo * length * format * digits;
}

/** Margin added around a text line found on a crop, as a share of its height (the box is tight). */
const LINE_MARGIN_X = 0.15;
const LINE_MARGIN_Y = 0.05;
/** Text detection on a plate crop: small and fast, tiny crops enlarged. */
const CROP_DETECT = { maxSide: 320, minLongSide: 320 };

/**
 * The plate's text rows among the text lines found on its crop (pieces of one line joined first, as
 * `FE` and `5R2D` either side of an emblem): the two largest lines when they are
 * stacked (one above the other, overlapping horizontally), else the largest line alone. Lines smaller
 * than 5 % of the crop are ignored (screws, stickers).
 */
export function textRows(lines: readonly TextBox[], crop: RgbImage): PixelBox[] | undefined {
  const area = crop.width * crop.height;
  const big = joinLines(lines)
    .filter((l) => l.box.w * l.box.h >= 0.05 * area)
    .sort((a, b) => b.box.w * b.box.h - a.box.w * a.box.h);
  if (big.length === 0) return undefined;
  const [a, b] = [big[0]!.box, big[1]?.box];
  if (b) {
    const overlapX = Math.min(a.x + a.w, b.x + b.w) - Math.max(a.x, b.x);
    const dy = Math.abs(a.y + a.h / 2 - (b.y + b.h / 2));
    if (overlapX >= 0.4 * Math.min(a.w, b.w) && dy >= 0.5 * Math.min(a.h, b.h)) {
      // Both rows span the plate: a thin edge character the detector left out of one row's box
      // (a 1 at the end of `29-B1`) is inside the other row's extent.
      const x1 = Math.min(a.x, b.x);
      const x2 = Math.max(a.x + a.w, b.x + b.w);
      const [top, bottom] = a.y <= b.y ? [a, b] : [b, a];
      return [
        { x: x1, y: top.y, w: x2 - x1, h: top.h },
        { x: x1, y: bottom.y, w: x2 - x1, h: bottom.h },
      ];
    }
  }
  return [a];
}
