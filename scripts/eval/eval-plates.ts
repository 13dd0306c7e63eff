/**
 * Plate reading evaluation: `npm run eval:plates -- --dataset <dir> --layout crops|names|openalpr --out <file.json>`
 *
 *   --layout crops     labels.tsv + images/: read each crop; exact match on the compact form (Đ compared
 *                      as D), character accuracy (edit distance), results by rows, by label_source and
 *                      by sub-folder, accuracy against coverage above each confidence threshold
 *   --layout names     the same for folders of crops named by their plate text (PLATE.jpg, PLATE_2.png)
 *   --layout openalpr  photos with NAME.txt (file x y w h PLATE): vehicles (nanodet-coco; the whole
 *                      photo when none) → plate localisation → text; plate recall at IoU ≥ 0.5 and
 *                      exact text accuracy, per sub-folder and overall
 *
 *   --ocr ppocr|ours|vn-plate-ocr|cct_xs (default ppocr)
 *                                recogniser: ours = vn-plate-ocr first, PP-OCRv4 as second opinion
 *                                (createPlateReader with plateModel 'vn-plate-ocr'); vn-plate-ocr = the
 *                                project's whole-plate model alone (with the grammar, no second
 *                                opinion); ppocr = PP-OCRv4 alone (the default reader); cct_xs = the
 *                                peer cct_xs (SHARED_DIR/models)
 *   --detector ours|yolov8-plate localiser (openalpr): PP-OCRv4 det on vehicle crops, or the peer YOLOv8n
 *                                plate detector on the whole photo
 *   --region detect|vn|auto|none Vietnamese grammar: 'detect' (default) uses 'vn' when most of the
 *                                dataset's labels are Vietnamese plates, else 'auto' (corrections only
 *                                for readings that are almost Vietnamese plates)
 *   --limit N  --vehicle-score S (0.3)  --models-dir DIR  --shared-dir DIR (SHARED_DIR, ../shared)
 *   DETECTOR_MODEL_VERSION=V    nanodet-coco version for the vehicles (default: the registry's, as in production)
 *   --errors N                   mistakes listed in the JSON (default: all)  --quiet (no progress)
 *
 * Progress goes to stderr, a summary table to stdout, the full report to --out.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { createDetector, DEFAULT_MODELS_DIR } from '../../detector/detector.js';
import { loadOcrModel } from '../../detector/model-registry.js';
import type { Detector } from '../../detector/detector.js';
import type { PixelBox, RgbImage } from '../../detector/plates/image.js';
import { cropImage, iou } from '../../detector/plates/image.js';
import type { PlateRegion } from '../../detector/plates/plate-grammar.js';
import { chooseReading, compactPlate, parseVnPlate } from '../../detector/plates/plate-grammar.js';
import { PlateRecogniser } from '../../detector/plates/plate-recogniser.js';
import { createPlateReader } from '../../detector/plates/plate-reader.js';
import type { PlateReader } from '../../detector/plates/plate-reader.js';
import type { CropSample, Layout, PhotoSample } from './plates/datasets.js';
import { DatasetError, readCrops, readNames, readOpenalpr } from './plates/datasets.js';
import type { ImageOutcome, Prediction, Scored } from './plates/metrics.js';
import {
  coverageCurve,
  groupBy,
  matchPlates,
  score,
  summarise,
  summariseDetection,
} from './plates/metrics.js';
import {
  CCT_XS_FILE,
  CctXsReader,
  peerPath,
  YOLOV8_PLATE_FILE,
  Yolov8PlateDetector,
} from './plates/peers.js';
import { Progress, fmt } from './plates/progress.js';

export interface EvalOptions {
  dataset: string;
  layout: Layout;
  out: string | undefined;
  ocr: Ocr;
  detector: 'ours' | 'yolov8-plate';
  region: PlateRegion | 'detect';
  limit: number;
  vehicleScore: number;
  /** nanodet-coco version (DETECTOR_MODEL_VERSION); undefined: the registry's default. */
  vehicleVersion: string | undefined;
  modelsDir: string;
  sharedDir: string;
  errors: number;
  quiet: boolean;
}

export class UsageError extends Error {}

const OCRS = ['ours', 'vn-plate-ocr', 'ppocr', 'cct_xs'] as const;
export type Ocr = (typeof OCRS)[number];

const LAYOUTS: readonly Layout[] = ['crops', 'names', 'openalpr'];
const VEHICLES = ['car', 'truck', 'bus', 'motorcycle'];

export function parseArgs(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): EvalOptions {
  const values = new Map<string, string>();
  const flags = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--')) throw new UsageError(`unexpected argument '${a}'`);
    const [key, inline] = a.slice(2).split('=', 2) as [string, string | undefined];
    if (key === 'quiet') {
      flags.add(key);
      continue;
    }
    const v = inline ?? argv[++i];
    if (v === undefined || v.startsWith('--')) throw new UsageError(`--${key} needs a value`);
    values.set(key, v);
  }
  const known = [
    'dataset',
    'layout',
    'out',
    'ocr',
    'detector',
    'region',
    'limit',
    'vehicle-score',
    'models-dir',
    'shared-dir',
    'errors',
  ];
  const unknown = [...values.keys()].filter((k) => !known.includes(k));
  if (unknown.length > 0) throw new UsageError(`unknown option ${unknown.map((u) => `--${u}`).join(', ')}`);
  const dataset = values.get('dataset');
  const layout = values.get('layout') as Layout | undefined;
  if (!dataset) throw new UsageError('--dataset <dir> is required');
  if (!layout || !LAYOUTS.includes(layout))
    throw new UsageError(`--layout must be one of ${LAYOUTS.join(', ')}`);
  const ocr = (values.get('ocr') ?? 'ppocr') as Ocr;
  if (!OCRS.includes(ocr)) throw new UsageError(`--ocr must be one of ${OCRS.join(', ')}`);
  const detector = values.get('detector') ?? 'ours';
  if (detector !== 'ours' && detector !== 'yolov8-plate')
    throw new UsageError('--detector must be ours or yolov8-plate');
  if (detector !== 'ours' && layout !== 'openalpr')
    throw new UsageError('--detector applies to --layout openalpr only');
  const region = values.get('region') ?? 'detect';
  if (!['detect', 'vn', 'auto', 'none'].includes(region))
    throw new UsageError('--region must be detect, vn, auto or none');
  const num = (key: string, dflt: number) => {
    const v = values.get(key);
    if (v === undefined) return dflt;
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) throw new UsageError(`--${key} must be a non-negative number`);
    return n;
  };
  return {
    dataset: path.resolve(dataset),
    layout,
    out: values.get('out'),
    ocr,
    detector,
    region: region as EvalOptions['region'],
    limit: num('limit', Infinity) || Infinity,
    vehicleScore: num('vehicle-score', 0.3),
    vehicleVersion: env['DETECTOR_MODEL_VERSION'] || undefined,
    modelsDir: path.resolve(values.get('models-dir') ?? DEFAULT_MODELS_DIR),
    sharedDir: path.resolve(values.get('shared-dir') ?? env['SHARED_DIR'] ?? '../shared'),
    errors: num('errors', Infinity),
    quiet: flags.has('quiet'),
  };
}

async function decode(file: string): Promise<RgbImage> {
  const { data, info } = await sharp(file)
    .toColourspace('srgb')
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  return {
    data: new Uint8Array(data.buffer, data.byteOffset, data.length),
    width: info.width,
    height: info.height,
  };
}

/** 'vn' when at least 60 % of the labels parse as Vietnamese plates, else 'auto'. */
export function detectRegion(labels: readonly string[]): { region: PlateRegion; vnShare: number } {
  const vn = labels.filter((l) => parseVnPlate(l) !== undefined).length;
  const vnShare = labels.length ? vn / labels.length : 0;
  return { region: vnShare >= 0.6 ? 'vn' : 'auto', vnShare: Math.round(vnShare * 1000) / 1000 };
}

function machine() {
  const cpus = os.cpus();
  return {
    cpus: cpus.length,
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    platform: `${os.platform()} ${os.arch()}`,
  };
}

function timing(ms: readonly number[]) {
  const s = [...ms].sort((a, b) => a - b);
  const at = (q: number) => (s.length ? s[Math.min(s.length - 1, Math.floor(q * s.length))]! : 0);
  const mean = s.length ? s.reduce((a, b) => a + b, 0) / s.length : 0;
  return { mean: Math.round(mean), p50: Math.round(at(0.5)), p95: Math.round(at(0.95)) };
}

/** The whole-plate recogniser alone, in this thread, with the grammar: what it reads by itself. */
class OwnReader {
  private constructor(readonly rec: PlateRecogniser) {}

  static async create(modelsDir: string): Promise<OwnReader> {
    return new OwnReader(new PlateRecogniser(await loadOcrModel({ modelsDir, name: 'vn-plate-ocr' })));
  }

  get model() {
    return this.rec.model;
  }

  async read(img: RgbImage, region: PlateRegion) {
    const [r] = await this.rec.read([img]);
    const chosen = chooseReading(
      [{ chars: r!.chars, rows: r!.rows, ...(r!.rowBreak === undefined ? {} : { rowBreak: r!.rowBreak }) }],
      { region, minConfidence: this.rec.card.thresholds.confidence },
    );
    return { compact: chosen.compact, confidence: chosen.confidence, rows: chosen.rows, valid: chosen.valid };
  }

  close(): Promise<void> {
    return this.rec.close();
  }
}

interface Engines {
  reader: PlateReader | undefined;
  own: OwnReader | undefined;
  cct: CctXsReader | undefined;
  yolo: Yolov8PlateDetector | undefined;
  vehicles: Detector | undefined;
  close(): Promise<void>;
}

async function openEngines(o: EvalOptions): Promise<Engines> {
  const e: Engines = {
    reader: undefined,
    own: undefined,
    cct: undefined,
    yolo: undefined,
    vehicles: undefined,
    async close() {
      await this.reader?.close();
      await this.own?.close();
      await this.cct?.close();
      await this.yolo?.close();
      await this.vehicles?.close();
    },
  };
  try {
    const needReader =
      o.ocr === 'ours' || o.ocr === 'ppocr' || (o.layout === 'openalpr' && o.detector === 'ours');
    if (needReader) {
      e.reader = await createPlateReader({
        modelsDir: o.modelsDir,
        plateModel: o.ocr === 'ours' ? 'vn-plate-ocr' : null,
      });
    }
    if (o.ocr === 'vn-plate-ocr') e.own = await OwnReader.create(o.modelsDir);
    if (o.ocr === 'cct_xs') e.cct = await CctXsReader.create(peerPath(o.sharedDir, CCT_XS_FILE));
    if (o.layout === 'openalpr') {
      if (o.detector === 'yolov8-plate')
        e.yolo = await Yolov8PlateDetector.create(peerPath(o.sharedDir, YOLOV8_PLATE_FILE));
      else {
        e.vehicles = await createDetector({
          modelName: 'nanodet-coco',
          ...(o.vehicleVersion ? { modelVersion: o.vehicleVersion } : {}),
          modelsDir: o.modelsDir,
          scoreThreshold: o.vehicleScore,
          classes: VEHICLES,
        });
      }
    }
  } catch (err) {
    await e.close();
    throw err;
  }
  return e;
}

interface CropOutcome extends Scored {
  id: string;
  rows: 1 | 2 | undefined;
  readRows: 1 | 2;
  labelSource: string | undefined;
  group: string;
  colour: string | undefined;
  readColour: string | undefined;
  valid: boolean;
  ms: number;
}

async function evalCrops(o: EvalOptions, samples: CropSample[], e: Engines, region: PlateRegion) {
  const progress = new Progress(o.layout, samples.length, process.stderr, !o.quiet);
  const outcomes: CropOutcome[] = [];
  let right = 0;
  for (const s of samples) {
    const img = await decode(s.file);
    const t0 = performance.now();
    let read: string;
    let confidence: number;
    let readRows: 1 | 2;
    let readColour: string | undefined;
    let valid: boolean;
    if (e.cct || e.own) {
      const r = e.cct ? await e.cct.read(img, region) : await e.own!.read(img, region);
      [read, confidence, readRows, valid, readColour] = [r.compact, r.confidence, r.rows, r.valid, undefined];
    } else {
      const r = await e.reader!.readPlate(img, { region });
      [read, confidence, readRows, valid, readColour] = [r.compact, r.confidence, r.rows, r.valid, r.colour];
    }
    const ms = performance.now() - t0;
    const sc = score(s.plate, read, confidence);
    if (sc.exact) right++;
    outcomes.push({
      ...sc,
      id: s.id,
      rows: s.rows,
      readRows,
      labelSource: s.labelSource,
      group: s.group,
      colour: s.colour,
      readColour,
      valid,
      ms,
    });
    progress.tick(`exact ${(right / outcomes.length).toFixed(3)}`);
  }
  const by = (key: (c: CropOutcome) => string | undefined) =>
    Object.fromEntries(
      Object.entries(groupBy(outcomes, (c) => key(c) ?? 'unlabelled')).map(([k, v]) => [k, summarise(v)]),
    );
  const overall = summarise(outcomes);
  const withRows = outcomes.filter((c) => c.rows !== undefined);
  const withColour = outcomes.filter((c) => c.colour !== undefined && c.readColour !== undefined);
  return {
    exact: overall.exact,
    n: overall.n,
    charAccuracy: overall.charAccuracy,
    byRows: by((c) => (c.rows === undefined ? undefined : String(c.rows))),
    byLabelSource: by((c) => c.labelSource),
    byGroup: by((c) => c.group),
    coverage: coverageCurve(outcomes),
    coverageByLabelSource: Object.fromEntries(
      Object.entries(groupBy(outcomes, (c) => c.labelSource ?? 'unlabelled')).map(([k, v]) => [
        k,
        coverageCurve(v),
      ]),
    ),
    rowsAgreement: withRows.length
      ? Math.round((withRows.filter((c) => c.rows === c.readRows).length / withRows.length) * 1e4) / 1e4
      : null,
    colourAccuracy: withColour.length
      ? Math.round((withColour.filter((c) => c.colour === c.readColour).length / withColour.length) * 1e4) /
        1e4
      : null,
    validShare:
      Math.round((outcomes.filter((c) => c.valid).length / Math.max(1, outcomes.length)) * 1e4) / 1e4,
    msPerImage: timing(outcomes.map((c) => c.ms)),
    errors: outcomes
      .filter((c) => !c.exact)
      .slice(0, o.errors)
      .map((c) => ({
        id: c.id,
        label: c.label,
        read: c.read,
        confidence: Math.round(c.confidence * 1e4) / 1e4,
        rows: c.rows,
        labelSource: c.labelSource,
      })),
  };
}

/** Vehicle regions (5 % margin; near-duplicates of one vehicle merged), or the whole image. */
function vehicleRegions(boxes: readonly PixelBox[], width: number, height: number): PixelBox[] {
  const grown = boxes
    .map((b) => {
      const x = Math.max(0, b.x - 0.05 * b.w);
      const y = Math.max(0, b.y - 0.05 * b.h);
      return { x, y, w: Math.min(width, b.x + 1.05 * b.w) - x, h: Math.min(height, b.y + 1.05 * b.h) - y };
    })
    .sort((a, b) => b.w * b.h - a.w * a.h);
  const kept: PixelBox[] = [];
  for (const b of grown) if (!kept.some((k) => iou(k, b) > 0.8)) kept.push(b);
  return kept.length ? kept : [{ x: 0, y: 0, w: width, h: height }];
}

async function readBoxes(
  e: Engines,
  img: RgbImage,
  boxes: readonly { box: PixelBox; score: number }[],
  region: PlateRegion,
): Promise<Prediction[]> {
  const out: Prediction[] = [];
  for (const b of boxes) {
    const crop = cropImage(img, b.box);
    const r = e.cct
      ? await e.cct.read(crop, region)
      : e.own
        ? await e.own.read(crop, region)
        : await e.reader!.readPlate(crop, { region });
    const n = Math.max(1, r.compact.length);
    const quality = r.confidence > 0 ? Math.exp(Math.log(r.confidence) / n) : 0;
    out.push({ box: b.box, score: b.score * quality, text: r.compact, confidence: r.confidence });
  }
  return out;
}

async function evalPhotos(o: EvalOptions, samples: PhotoSample[], e: Engines, region: PlateRegion) {
  const progress = new Progress(o.layout, samples.length, process.stderr, !o.quiet);
  const outcomes: (ImageOutcome & { id: string; group: string; ms: number; vehicles: number })[] = [];
  let found = 0;
  let right = 0;
  let plates = 0;
  for (const s of samples) {
    const img = await decode(s.file);
    const t0 = performance.now();
    let predictions: Prediction[] = [];
    let vehicles = 0;
    if (e.yolo) {
      predictions = await readBoxes(e, img, await e.yolo.detect(img), region);
    } else {
      const detections = await e.vehicles!.detect(img);
      vehicles = detections.length;
      for (const r of vehicleRegions(
        detections.map((d) => d.box),
        img.width,
        img.height,
      )) {
        const crop = cropImage(img, r);
        const ox = Math.floor(Math.max(0, r.x));
        const oy = Math.floor(Math.max(0, r.y));
        const shift = (b: PixelBox) => ({ ...b, x: b.x + ox, y: b.y + oy });
        if (e.cct || e.own) {
          const boxes = await e.reader!.findPlates(crop, { minLongSide: 640 });
          const read = await readBoxes(e, crop, boxes, region);
          predictions.push(...read.map((p) => ({ ...p, box: shift(p.box) })));
        } else {
          const found = await e.reader!.readPlates(crop, { minLongSide: 640, region });
          predictions.push(
            ...found.map((p) => ({
              box: shift(p.box),
              score: p.score,
              text: p.reading.compact,
              confidence: p.reading.confidence,
            })),
          );
        }
      }
    }
    // One prediction per plate across overlapping vehicle crops: the best-scored.
    predictions.sort((a, b) => b.score - a.score);
    const kept: Prediction[] = [];
    for (const p of predictions) if (!kept.some((k) => iou(k.box, p.box) > 0.5)) kept.push(p);
    const ms = performance.now() - t0;
    const matches = matchPlates(s.plates, kept);
    plates += matches.length;
    found += matches.filter((m) => m.prediction).length;
    right += matches.filter(
      (m) =>
        m.prediction &&
        compactPlate(m.prediction.text).replace(/Đ/g, 'D') === compactPlate(m.truth.plate).replace(/Đ/g, 'D'),
    ).length;
    outcomes.push({ id: s.id, group: s.group, matches, predictions: kept, ms, vehicles });
    progress.tick(`recall ${(found / plates).toFixed(3)} exact ${(right / plates).toFixed(3)}`);
  }
  const overall = summariseDetection(outcomes);
  const byGroup = Object.fromEntries(
    Object.entries(groupBy(outcomes, (x) => x.group)).map(([k, v]) => [k, summariseDetection(v)]),
  );
  const errors = outcomes
    .flatMap((x) =>
      x.matches
        .filter(
          (m) =>
            !m.prediction ||
            compactPlate(m.prediction.text).replace(/Đ/g, 'D') !==
              compactPlate(m.truth.plate).replace(/Đ/g, 'D'),
        )
        .map((m) => ({
          id: x.id,
          label: compactPlate(m.truth.plate),
          read: m.prediction ? compactPlate(m.prediction.text) : null,
          iou: Math.round(m.iou * 100) / 100,
          bestIou: Math.round(Math.max(0, ...x.predictions.map((p) => iou(p.box, m.truth.box))) * 100) / 100,
          top: x.predictions.slice(0, 3).map((p) => p.text),
        })),
    )
    .slice(0, o.errors);
  return {
    ...overall,
    byGroup,
    msPerImage: timing(outcomes.map((x) => x.ms)),
    imagesWithoutVehicle: e.vehicles ? outcomes.filter((x) => x.vehicles === 0).length : null,
    errors,
  };
}

export async function runEval(o: EvalOptions) {
  const started = new Date();
  const t0 = performance.now();
  const crops =
    o.layout === 'openalpr'
      ? undefined
      : o.layout === 'crops'
        ? await readCrops(o.dataset)
        : await readNames(o.dataset);
  const photos = o.layout === 'openalpr' ? await readOpenalpr(o.dataset) : undefined;
  const labels = crops ? crops.map((c) => c.plate) : photos!.flatMap((p) => p.plates.map((x) => x.plate));
  if (labels.length === 0)
    throw new DatasetError(`no labelled samples under ${o.dataset} (layout ${o.layout})`);
  const detected = detectRegion(labels);
  const region = o.region === 'detect' ? detected.region : o.region;
  const engines = await openEngines(o);
  try {
    const models = {
      ocr: engines.cct
        ? `${engines.cct.model.name} (peer)`
        : engines.own
          ? `${engines.own.model.name}/${engines.own.model.version} alone`
          : o.ocr === 'ours'
            ? `${engines.reader!.model.name}/${engines.reader!.model.version}, ppocr-rec/4 second opinion`
            : `${engines.reader!.model.name}/${engines.reader!.model.version}`,
      localiser:
        o.layout !== 'openalpr'
          ? null
          : engines.yolo
            ? `${engines.yolo.model.name} (peer), whole photo`
            : `${engines.reader!.detModel.name}/${engines.reader!.detModel.version} on ${engines.vehicles!.modelName} vehicle crops (score ≥ ${o.vehicleScore})`,
    };
    const result = crops
      ? await evalCrops(o, crops.slice(0, o.limit), engines, region)
      : await evalPhotos(o, photos!.slice(0, o.limit), engines, region);
    return {
      ...result,
      layout: o.layout,
      dataset: o.dataset,
      region,
      regionDetected: detected,
      models,
      machine: machine(),
      command: `npm run eval:plates -- ${process.argv.slice(2).join(' ')}`.trim(),
      startedAt: started.toISOString(),
      seconds: Math.round((performance.now() - t0) / 100) / 10,
    };
  } finally {
    await engines.close();
  }
}

type Report = Awaited<ReturnType<typeof runEval>>;

export function summaryTable(r: Report): string {
  const rows: string[][] = [];
  const pct = (v: number | undefined | null) =>
    v === undefined || v === null ? '' : `${(100 * v).toFixed(1)} %`;
  if ('recall' in r) {
    rows.push(['group', 'plates', 'recall', 'exact', 'exact top-1', 'char acc.']);
    for (const [g, s] of Object.entries(r.byGroup))
      rows.push([g, String(s.n), pct(s.recall), pct(s.exact), pct(s.exactTop1), pct(s.charAccuracy)]);
    rows.push(['all', String(r.n), pct(r.recall), pct(r.exact), pct(r.exactTop1), pct(r.charAccuracy)]);
  } else {
    rows.push(['subset', 'n', 'exact', 'char acc.']);
    // Subsets only where the labels name them (labels.tsv columns rows, label_source).
    const labelled = (o: object) => Object.keys(o).some((k) => k !== 'unlabelled');
    if (labelled(r.byRows))
      for (const [k, s] of Object.entries(r.byRows))
        rows.push([`rows ${k}`, String(s.n), pct(s.exact), pct(s.charAccuracy)]);
    if (labelled(r.byLabelSource))
      for (const [k, s] of Object.entries(r.byLabelSource))
        rows.push([k, String(s.n), pct(s.exact), pct(s.charAccuracy)]);
    if (Object.keys(r.byGroup).length > 1)
      for (const [k, s] of Object.entries(r.byGroup))
        rows.push([k, String(s.n), pct(s.exact), pct(s.charAccuracy)]);
    rows.push(['all', String(r.n), pct(r.exact), pct(r.charAccuracy)]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => (row[i] ?? '').length)));
  const line = (row: string[]) =>
    row.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  const out = [line(rows[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)];
  if (!('recall' in r)) {
    out.push('', 'confidence ≥  coverage  exact');
    for (const c of r.coverage)
      out.push(
        `${c.threshold.toFixed(2).padStart(12)}  ${pct(c.coverage).padStart(8)}  ${pct(c.exact).padStart(7)}`,
      );
  }
  out.push(
    '',
    `ocr ${r.models.ocr}${r.models.localiser ? `; localiser ${r.models.localiser}` : ''}; region ${r.region}; ` +
      `${r.msPerImage.mean} ms/image (p95 ${r.msPerImage.p95}); ${fmt(r.seconds)} on ${r.machine.cpus} CPUs, Node ${r.machine.node}`,
  );
  return out.join('\n');
}

async function main(argv: string[]): Promise<number> {
  // Model-loading logs (main thread and workers) stay off stdout, which carries the summary.
  process.env['LOG_LEVEL'] ??= 'warn';
  let options: EvalOptions;
  try {
    options = parseArgs(argv);
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(
        `${err.message}\nusage: npm run eval:plates -- --dataset <dir> --layout crops|names|openalpr --out <file.json> [--ocr ${OCRS.join('|')}] [--detector ours|yolov8-plate] [--region detect|vn|auto|none] [--limit N]`,
      );
      return 2;
    }
    throw err;
  }
  let report: Report;
  try {
    report = await runEval(options);
  } catch (err) {
    if (err instanceof DatasetError) {
      console.error(`dataset: ${err.message}`);
      return 2;
    }
    throw err;
  }
  console.log(summaryTable(report));
  if (options.out) {
    await mkdir(path.dirname(path.resolve(options.out)), { recursive: true });
    await writeFile(options.out, `${JSON.stringify(report, null, 2)}\n`);
    console.error(`wrote ${options.out}`);
  }
  return 0;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      console.error(err instanceof Error ? (err.stack ?? err.message) : err);
      process.exitCode = 1;
    },
  );
}
