/**
 * Detector benchmark: the real pipeline (pre-processing of real RGB frames, session.run, decoding and
 * NMS) on ONE intra-op thread, against the raw session.run of the same session on the same
 * pre-processed tensor, interleaved in one loop so that both see the same machine noise; then the worker
 * thread's round trip (createDetector, the production path) against the same pipeline in-thread.
 *
 * The CLI is tools/bench-detector.ts (`npm run bench:detector -- --out bench.json`); this module holds
 * the measurement so that it is type-checked and unit-tested with the detector.
 *
 * Input sizes: a card fixes the input shape. Other sizes of a model that models/build.ts converts are
 * measured on a graph converted from the same source by the same code at that size (converter option
 * `inputSize`, as nanodet-coco/2 is built at 320): a measurement aid, not a registry model; its
 * accuracy is not on any card.
 */
import { existsSync, readFileSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { pino } from 'pino';
import sharp from 'sharp';
import { AppError } from '../core/errors.js';
import type { TfjsBuild } from '../models/build.js';
import { BUILDS, cardAtInputSize, convertForCard, sizeLabel } from '../models/build.js';
import { plateInside, readSamples } from '../models/tools/evaluate-vehicle-recall.js';
import { COCO_LABELS } from './coco-labels.js';
import { DetectionEngine } from './detection-engine.js';
import type { Detector } from './detector.js';
import { DEFAULT_MODELS_DIR, createDetector } from './detector.js';
import type { ModelCard } from './model-card.js';
import { parseModelCard } from './model-card.js';
import { listModelVersions, readModelCard, resolveModelDir, sha256 } from './model-registry.js';
import type { Box, Frame } from './preprocess.js';
import { Preprocessor, specFromCard } from './preprocess.js';

// ------------------------------------------------------------------------------------------------
// Statistics
// ------------------------------------------------------------------------------------------------

export interface Stats {
  n: number;
  p50: number;
  p95: number;
  mean: number;
  min: number;
  max: number;
}

/** Nearest-rank percentile of ascending `sorted` (q in [0, 1]). */
export function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil(q * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

export function summarize(samples: readonly number[]): Stats {
  const s = [...samples].sort((a, b) => a - b);
  const r3 = (v: number) => Math.round(v * 1000) / 1000;
  return {
    n: s.length,
    p50: r3(percentile(s, 0.5)),
    p95: r3(percentile(s, 0.95)),
    mean: r3(s.reduce((a, b) => a + b, 0) / Math.max(1, s.length)),
    min: r3(s[0] ?? NaN),
    max: r3(s.at(-1) ?? NaN),
  };
}

// ------------------------------------------------------------------------------------------------
// Arguments
// ------------------------------------------------------------------------------------------------

export interface BenchOptions {
  out: string;
  iterations: number;
  warmup: number;
  /** `name` (its default version), `name@version` or `name@all` (every version in the registry). */
  models: string[];
  /** The model the `vehicle` summary reports (vehicleModelFromEnv). */
  vehicle: { name: string; version?: string };
  /** Extra input sizes, measured on derived graphs where the card's graph allows it. */
  sizes: InputSize[];
  peer: boolean;
  worker: boolean;
  /** Also measure vehicle recall on the annotated photos (slow: every photo, every model). */
  recall: boolean;
  /** Also compare onnxruntime session options on the first model's bare session.run. */
  sessionOptions: boolean;
  modelsDir: string;
  sharedDir: string;
}

/** The vehicle detector of a default configuration (core/config.ts DETECTOR_MODEL). */
export const DEFAULT_VEHICLE_MODEL = 'nanodet-coco';

/**
 * The vehicle model the `vehicle` summary reports: DETECTOR_MODEL (default nanodet-coco) at
 * DETECTOR_MODEL_VERSION, or at the registry's default version when that is unset, as production loads it.
 */
export function vehicleModelFromEnv(env: NodeJS.ProcessEnv): { name: string; version?: string } {
  const name = env['DETECTOR_MODEL'] || DEFAULT_VEHICLE_MODEL;
  const version = env['DETECTOR_MODEL_VERSION'] || undefined;
  return version === undefined ? { name } : { name, version };
}

export const USAGE = `usage: npm run bench:detector -- --out <file.json> [--iterations N] [--warmup N]
         [--models nanodet-coco@all,...] [--sizes 320,384x224,...|none] [--peer] [--no-worker] [--session-options] [--recall]
         [--models-dir DIR] [--shared-dir DIR]

  --iterations N  measured rounds per model and size (default 100); each round runs every frame
                  through the pipeline and then the bare session.run on the same tensor
  --models        registry models: name (its default version), name@version or name@all (default
                  nanodet-coco@all: every version: 1 at 416, 2 at 320, 3 at 384x224 side by side); the
                  \`vehicle\` summary is DETECTOR_MODEL at DETECTOR_MODEL_VERSION (default: the
                  registry's default, the newest version whose card is not marked preview)
  --sizes         extra input sizes (320: square; 384x224: width x height, multiples of the largest
                  stride), converted from the source by models/build.ts's code, for models it builds
                  (default none)
  --peer          adds the peer yolox_nano.onnx from SHARED_DIR (never shipped)
  --no-worker     skips the worker-thread round trip
  --session-options  also compares onnxruntime session options (optimisation level, memory arena and
                  pattern, denormals, 2 intra-op threads) on the first model's bare session.run, interleaved
  --recall        also measures vehicle recall (models/tools/evaluate-vehicle-recall.ts's metric) of every
                  model and size on SHARED_DIR/data/plates-endtoend (photos as they are, and shrunk to
                  1/2 and 1/4 of a 1920×1080 frame), at score 0.35 (the card's), 0.30 and 0.20
                  (DETECTOR_SCORE_THRESHOLD's default); slow: about a minute per model on one core`;

export interface InputSize {
  width: number;
  height: number;
}

export function parseBenchArgs(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): BenchOptions {
  const bad = (message: string) => new AppError('bad_request', `${message}\n${USAGE}`, { permanent: true });
  const options: BenchOptions = {
    out: '',
    iterations: 100,
    warmup: 5,
    models: [`${DEFAULT_VEHICLE_MODEL}@all`],
    vehicle: vehicleModelFromEnv(env),
    sizes: [],
    peer: false,
    worker: true,
    recall: false,
    sessionOptions: false,
    modelsDir: DEFAULT_MODELS_DIR,
    sharedDir: path.resolve(env['SHARED_DIR'] ?? '../shared'),
  };
  const count = (flag: string, v: string | undefined, min: number) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw bad(`${flag} needs an integer ≥ ${min}, got '${v ?? ''}'`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const value = () => {
      const v = argv[++i];
      if (v === undefined || v.startsWith('--')) throw bad(`${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case '--out':
        options.out = value();
        break;
      case '--iterations':
        options.iterations = count(flag, value(), 1);
        break;
      case '--warmup':
        options.warmup = count(flag, value(), 0);
        break;
      case '--models':
        options.models = value()
          .split(',')
          .map((m) => m.trim())
          .filter(Boolean);
        if (options.models.length === 0) throw bad('--models needs at least one name');
        for (const m of options.models) {
          if (!/^[a-z0-9][a-z0-9-]*(@[A-Za-z0-9._-]+)?$/.test(m))
            throw bad(`--models: '${m}' is not name, name@version or name@all`);
        }
        break;
      case '--sizes': {
        const v = value();
        options.sizes =
          v === 'none'
            ? []
            : v.split(',').map((s) => {
                const [w, h = w] = s.trim().split('x');
                return { width: count('--sizes', w, 32), height: count('--sizes', h, 32) };
              });
        break;
      }
      case '--peer':
        options.peer = true;
        break;
      case '--no-worker':
        options.worker = false;
        break;
      case '--session-options':
        options.sessionOptions = true;
        break;
      case '--recall':
        options.recall = true;
        break;
      case '--models-dir':
        options.modelsDir = path.resolve(value());
        break;
      case '--shared-dir':
        options.sharedDir = path.resolve(value());
        break;
      default:
        throw bad(`unknown argument '${flag}'`);
    }
  }
  if (!options.out) throw bad('--out <file.json> is required');
  return options;
}

// ------------------------------------------------------------------------------------------------
// Derived input sizes
// ------------------------------------------------------------------------------------------------

/** The models/build.ts conversion of a registry model, if it is one. */
export function buildOf(card: Pick<ModelCard, 'name' | 'version'>): TfjsBuild | undefined {
  return BUILDS.find((b) => b.name === card.name && b.version === card.version);
}

/** Why the card's model cannot be measured at `size`, or null when deriveAtSize() can do it. */
export function resizeRefusal(card: ModelCard, size: InputSize, build = buildOf(card)): string | null {
  if (card.output.format !== 'nanodet-gfl') {
    return `${card.output.format} graphs are measured at their card size only`;
  }
  if (!build) return `${card.name}/${card.version} is not converted by models/build.ts`;
  const largest = Math.max(...card.output.strides);
  for (const v of [size.width, size.height]) {
    if (v % largest !== 0) return `${v} is not a multiple of the largest stride ${largest}`;
  }
  return null;
}

/**
 * The card's model converted from its source at size × size by the build's own code
 * (models/build.ts convertForCard with the converter option `inputSize`), and its card (version
 * `<v>-in<size>`, shapes for that size, sha256 of the new bytes, accuracy null).
 */
export async function deriveAtSize(
  card: ModelCard,
  size: InputSize,
): Promise<{ bytes: Uint8Array; card: ModelCard }> {
  const build = buildOf(card);
  const refusal = resizeRefusal(card, size, build);
  if (refusal || !build) {
    throw new AppError('model_invalid', `cannot re-size ${card.name}/${card.version}: ${refusal}`, {
      permanent: true,
    });
  }
  const { bytes } = await convertForCard(
    { ...build, inputSize: { height: size.height, width: size.width, layout: 'NCHW' } },
    card,
  );
  return { bytes, card: cardAtInputSize(card, size, bytes) };
}

// ------------------------------------------------------------------------------------------------
// Models and frames
// ------------------------------------------------------------------------------------------------

export interface ModelTarget {
  /** Registry name and version loaded. */
  name: string;
  version: string;
  modelsDir: string;
  /** 'card': as in the registry; 'derived': converted at another size by deriveAtSize; 'peer': from SHARED_DIR. */
  origin: 'card' | 'derived' | 'peer';
  inputSize: [number, number];
  format: string;
}

/** The card an operator would write for the peer YOLOX-nano (shared/models/README.md). */
export function peerYoloxCard(sha: string): ModelCard {
  return parseModelCard(
    {
      name: 'yolox-nano',
      version: '1',
      task: 'object-detection',
      description: 'YOLOX-nano, COCO-80, 416 input: peer model from SHARED_DIR, for comparison only.',
      file: 'yolox_nano.onnx',
      source: {
        package: 'none (shared/models/yolox_nano.onnx)',
        version: '0',
        files: ['yolox_nano.onnx'],
        upstream: 'https://github.com/Megvii-BaseDetection/YOLOX',
        conversion: 'none: the published ONNX export',
      },
      licence: { spdx: 'Apache-2.0', notes: 'peer model, not shipped' },
      sha256: sha,
      input: {
        name: 'images',
        shape: [1, 3, 416, 416],
        layout: 'NCHW',
        dtype: 'float32',
        pixelFormat: 'BGR',
        normalisation: { mean: [0, 0, 0], std: [1, 1, 1] },
        resize: 'bilinear',
        letterbox: { enabled: true, align: 'top-left', padValue: 114 },
      },
      output: {
        format: 'yolox',
        description: 'raw YOLOX head [1, 3549, 85]',
        strides: [8, 16, 32],
        scoresActivated: true,
        tensor: { name: 'output', shape: [1, 3549, 85] },
      },
      labels: [...COCO_LABELS],
      thresholds: { score: 0.35, nmsIou: 0.45, maxDetections: 100 },
      accuracy: null,
    },
    'peer yolox-nano card',
  );
}

async function installDerived(
  tmp: string,
  card: ModelCard,
  bytes: Uint8Array,
): Promise<{ modelsDir: string; version: string }> {
  const dir = path.join(tmp, card.name, card.version);
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, card.file), bytes);
  await writeFile(path.join(dir, 'card.json'), JSON.stringify(card, null, 2));
  return { modelsDir: tmp, version: card.version };
}

/** Registry models, their derived sizes and the peer, in the order they will be measured. */
export async function resolveTargets(
  options: BenchOptions,
  tmp: string,
  progress: (line: string) => void,
): Promise<{ targets: ModelTarget[]; notes: string[] }> {
  const targets: ModelTarget[] = [];
  const notes: string[] = [];
  for (const spec of options.models) {
    const [name, wanted] = spec.split('@') as [string, string | undefined];
    const versions =
      wanted === 'all'
        ? await listModelVersions(options.modelsDir, name)
        : [(await resolveModelDir(options.modelsDir, name, wanted)).version];
    for (const version of versions) {
      const { dir } = await resolveModelDir(options.modelsDir, name, version);
      const card = await readModelCard(dir);
      const [, , h, w] = card.input.shape;
      targets.push({
        name,
        version,
        modelsDir: options.modelsDir,
        origin: 'card',
        inputSize: [w, h],
        format: card.output.format,
      });
      for (const size of options.sizes) {
        if (size.width === w && size.height === h) continue;
        const refusal = resizeRefusal(card, size);
        if (refusal) {
          notes.push(`${name}/${version} at ${sizeLabel(size)}: not measured (${refusal})`);
          continue;
        }
        const derived = await deriveAtSize(card, size);
        const installed = await installDerived(tmp, derived.card, derived.bytes);
        const at = `${size.width}×${size.height}`;
        progress(`derived ${name}/${derived.card.version}: converted at ${at}`);
        targets.push({
          name,
          version: installed.version,
          modelsDir: installed.modelsDir,
          origin: 'derived',
          inputSize: [size.width, size.height],
          format: card.output.format,
        });
        notes.push(
          `${name}/${installed.version}: ${name}/${version} (${w}×${h}) converted from its source at ${at} ` +
            'by the build code (converter option inputSize). Its accuracy is not on any card.',
        );
      }
    }
  }
  if (options.peer) {
    const file = path.join(options.sharedDir, 'models/yolox_nano.onnx');
    if (!existsSync(file)) {
      notes.push(`--peer: ${file} is absent; peer not measured`);
      progress(`peer skipped: ${file} is absent`);
    } else {
      const bytes = await readFile(file);
      const card = peerYoloxCard(sha256(bytes));
      const dir = path.join(tmp, card.name, card.version);
      await mkdir(dir, { recursive: true });
      await copyFile(file, path.join(dir, card.file));
      await writeFile(path.join(dir, 'card.json'), JSON.stringify(card, null, 2));
      targets.push({
        name: card.name,
        version: card.version,
        modelsDir: tmp,
        origin: 'peer',
        inputSize: [416, 416],
        format: 'yolox',
      });
    }
  }
  return { targets, notes };
}

export interface BenchFrame {
  label: string;
  frame: Frame;
  source: string;
}

async function decodeRgb(input: string | Buffer, resize?: [number, number]): Promise<Frame> {
  let img = sharp(input).toColourspace('srgb').removeAlpha();
  if (resize) img = img.resize(resize[0], resize[1], { fit: 'fill', kernel: 'lanczos3' });
  const { data, info } = await img.raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

/** A gradient-and-blocks RGB frame, used only when no real photo is available. */
function syntheticFrame(width: number, height: number): Frame {
  const data = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 3;
      data[o] = (x * 255) / width;
      data[o + 1] = (y * 255) / height;
      data[o + 2] = ((x >> 5) + (y >> 5)) % 2 ? 200 : 60;
    }
  }
  return { data, width, height };
}

/**
 * A real 1920×1080 camera frame and a real 640×360 one: the first photos of those sizes (1920×1080,
 * and 1280×720 scaled down) in the openalpr end-to-end set under SHARED_DIR; synthetic frames, said so,
 * when it is absent.
 */
export async function benchFrames(sharedDir: string): Promise<BenchFrame[]> {
  const root = path.join(sharedDir, 'data/plates-endtoend');
  const found = new Map<string, string>();
  if (existsSync(root)) {
    for (const sub of (await readdir(root, { withFileTypes: true }))
      .filter((d) => d.isDirectory())
      .map((d) => d.name)
      .sort()) {
      for (const f of (await readdir(path.join(root, sub))).filter((x) => x.endsWith('.jpg')).sort()) {
        const file = path.join(root, sub, f);
        const { width, height } = await sharp(file).metadata();
        const key = `${width}x${height}`;
        if ((key === '1920x1080' || key === '1280x720') && !found.has(key)) found.set(key, file);
        if (found.size === 2) break;
      }
      if (found.size === 2) break;
    }
  }
  const full = found.get('1920x1080');
  const small = found.get('1280x720') ?? full;
  return [
    full
      ? { label: '1920x1080', frame: await decodeRgb(full), source: path.relative(sharedDir, full) }
      : { label: '1920x1080', frame: syntheticFrame(1920, 1080), source: 'synthetic (no photo found)' },
    small
      ? {
          label: '640x360',
          frame: await decodeRgb(small, [640, 360]),
          source: `${path.relative(sharedDir, small)} scaled to 640x360`,
        }
      : { label: '640x360', frame: syntheticFrame(640, 360), source: 'synthetic (no photo found)' },
  ];
}

// ------------------------------------------------------------------------------------------------
// Measurement
// ------------------------------------------------------------------------------------------------

export interface FrameResult {
  frame: string;
  /** Wall time of DetectionEngine.detect: pre-processing + session.run + decoding and NMS. */
  pipeline: Stats;
  preprocess: Stats;
  inference: Stats;
  postprocess: Stats;
  /** Bare session.run of the same session on the same tensor, right after each pipeline run. */
  raw: Stats;
  /** Process CPU time per pipeline run: above the wall time only if other threads worked. */
  cpu: Stats;
  /** Medians of the per-run shares of pre- and post-processing in the pipeline time. */
  share: { preprocess: number; postprocess: number };
  /** pipeline p50 ÷ raw p50. */
  overheadRatio: number;
  /** 1000 ÷ pipeline p50: frames one core handles per second at one intra-op thread. */
  fpsPerCore: number;
  detections: number;
}

export interface WorkerResult {
  frame: string;
  /** createDetector().detect(): copy, transfer, worker pipeline, reply. */
  roundTrip: Stats;
  /** DetectionEngine.detect() in this thread, interleaved with the round trips. */
  inThread: Stats;
  /** round trip − the worker's own pre + inference + post, per run. */
  messaging: Stats;
  /** round-trip p50 ÷ in-thread p50. */
  ratio: number;
}

export interface ModelResult {
  model: string;
  name: string;
  version: string;
  origin: ModelTarget['origin'];
  format: string;
  input: string;
  loadMs: number;
  frames: FrameResult[];
  worker?: WorkerResult[];
  recall?: RecallResult;
}

export interface RecallResult {
  photos: number;
  /**
   * Share of annotated plates ≥ 90 % inside a car/truck/bus/motorcycle box, per presentation and score
   * threshold. `photo`: the photo as it is (vehicles mostly large); `half`, `quarter`: the photo shrunk
   * to 960 or 480 pixels wide in the middle of a grey 1920×1080 frame, so that the same vehicles are
   * as small as distant ones in a wide traffic camera.
   */
  byPresentation: {
    presentation: Presentation;
    byScore: { score: number; found: number; recall: number }[];
  }[];
}

type Presentation = 'photo' | 'half' | 'quarter';
const PRESENTATIONS: readonly { name: Presentation; width: number | null }[] = [
  { name: 'photo', width: null },
  { name: 'half', width: 960 },
  { name: 'quarter', width: 480 },
];
const RECALL_VEHICLES = ['car', 'truck', 'bus', 'motorcycle'];
const RECALL_SCORES = [0.35, 0.3, 0.2];

/** The photo `width` pixels wide, centred in a grey 1920×1080 frame; the plate box moved with it. */
export async function shrunkInFrame(
  file: string,
  plate: Box,
  width: number,
): Promise<{ frame: Frame; plate: Box }> {
  const meta = await sharp(file).metadata();
  // At most `width` wide and the frame's height tall.
  const scale = Math.min(width / meta.width!, 1080 / meta.height!);
  const w = Math.round(meta.width! * scale);
  const h = Math.round(meta.height! * scale);
  const small = await sharp(file)
    .toColourspace('srgb')
    .removeAlpha()
    .resize(w, h, { fit: 'fill' })
    .png()
    .toBuffer();
  const left = Math.round((1920 - w) / 2);
  const top = Math.round((1080 - h) / 2);
  const frame = await decodeRgb(
    await sharp({
      create: { width: 1920, height: 1080, channels: 3, background: { r: 128, g: 128, b: 128 } },
    })
      .composite([{ input: small, left, top }])
      .png({ compressionLevel: 0 })
      .toBuffer(),
  );
  const sx = w / meta.width!;
  const sy = h / meta.height!;
  return {
    frame,
    plate: {
      x1: plate.x1 * sx + left,
      y1: plate.y1 * sy + top,
      x2: plate.x2 * sx + left,
      y2: plate.y2 * sy + top,
    },
  };
}

/**
 * Vehicle recall as models/tools/evaluate-vehicle-recall.ts measures it (its sample reader and
 * plate-inside rule), for any registry target, on each presentation of the photos: one pass at the
 * lowest threshold, the higher one read from the same detections (greedy NMS keeps the same boxes
 * above a threshold either way).
 */
export async function measureRecall(
  target: ModelTarget,
  dataDir: string,
  progress: (line: string) => void,
): Promise<RecallResult> {
  const samples = await readSamples(dataDir);
  const { engine } = await DetectionEngine.create({
    modelName: target.name,
    version: target.version,
    modelsDir: target.modelsDir,
    threads: 1,
    scoreThreshold: Math.min(...RECALL_SCORES),
    classes: RECALL_VEHICLES,
  });
  const found = PRESENTATIONS.map(() => RECALL_SCORES.map(() => 0));
  try {
    for (const [i, sample] of samples.entries()) {
      for (const [p, presentation] of PRESENTATIONS.entries()) {
        const { frame, plate } =
          presentation.width === null
            ? { frame: await decodeRgb(sample.image), plate: sample.plate }
            : await shrunkInFrame(sample.image, sample.plate, presentation.width);
        const { detections } = await engine.detect(frame);
        RECALL_SCORES.forEach((score, k) => {
          const hit = detections.some(
            (d) =>
              d.score >= score &&
              plateInside({ x1: d.box.x, y1: d.box.y, x2: d.box.x + d.box.w, y2: d.box.y + d.box.h }, plate),
          );
          if (hit) found[p]![k]!++;
        });
      }
      if ((i + 1) % 100 === 0)
        progress(`  ${target.name}/${target.version}: recall ${i + 1}/${samples.length} photos`);
    }
  } finally {
    await engine.close();
  }
  return {
    photos: samples.length,
    byPresentation: PRESENTATIONS.map((presentation, p) => ({
      presentation: presentation.name,
      byScore: RECALL_SCORES.map((score, k) => ({
        score,
        found: found[p]![k]!,
        recall: r3(found[p]![k]! / samples.length),
      })),
    })),
  };
}

const r3 = (v: number) => Math.round(v * 1000) / 1000;
const median = (v: number[]) =>
  percentile(
    [...v].sort((a, b) => a - b),
    0.5,
  );

function cpuMs(since: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(since);
  return (d.user + d.system) / 1000;
}

interface PipelineSamples {
  pipeline: number[];
  pre: number[];
  inf: number[];
  post: number[];
  raw: number[];
  cpu: number[];
  preShare: number[];
  postShare: number[];
  detections: number;
}

interface WorkerSamples {
  round: number[];
  inThread: number[];
  messaging: number[];
}

const newPipelineSamples = (): PipelineSamples => ({
  pipeline: [],
  pre: [],
  inf: [],
  post: [],
  raw: [],
  cpu: [],
  preShare: [],
  postShare: [],
  detections: 0,
});

/** One pipeline run and the bare session.run right after it, on the same tensor. */
async function pipelineRound(engine: DetectionEngine, frame: Frame, s: PipelineSamples): Promise<void> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const r = await engine.detect(frame);
  const t1 = performance.now();
  s.cpu.push(cpuMs(c0));
  await engine.runSession();
  const t2 = performance.now();
  s.pipeline.push(t1 - t0);
  s.raw.push(t2 - t1);
  s.pre.push(r.timings.preprocessMs);
  s.inf.push(r.timings.inferenceMs);
  s.post.push(r.timings.postprocessMs);
  s.preShare.push(r.timings.preprocessMs / (t1 - t0));
  s.postShare.push(r.timings.postprocessMs / (t1 - t0));
  s.detections = r.detections.length;
}

/** The worker round trip and the in-thread pipeline of the same model, in the order given. */
async function workerRound(
  detector: Detector,
  engine: DetectionEngine,
  frame: Frame,
  workerFirst: boolean,
  s: WorkerSamples,
): Promise<void> {
  const viaWorker = async () => {
    const t0 = performance.now();
    await detector.detect(frame);
    const ms = performance.now() - t0;
    const t = detector.lastTimings!;
    s.round.push(ms);
    s.messaging.push(ms - t.preprocessMs - t.inferenceMs - t.postprocessMs);
  };
  const inThread = async () => {
    const t0 = performance.now();
    await engine.detect(frame);
    s.inThread.push(performance.now() - t0);
  };
  if (workerFirst) {
    await viaWorker();
    await inThread();
  } else {
    await inThread();
    await viaWorker();
  }
}

function frameResult(label: string, s: PipelineSamples): FrameResult {
  const pipeline = summarize(s.pipeline);
  const raw = summarize(s.raw);
  return {
    frame: label,
    pipeline,
    preprocess: summarize(s.pre),
    inference: summarize(s.inf),
    postprocess: summarize(s.post),
    raw,
    cpu: summarize(s.cpu),
    share: { preprocess: r3(median(s.preShare)), postprocess: r3(median(s.postShare)) },
    overheadRatio: r3(pipeline.p50 / raw.p50),
    fpsPerCore: r3(1000 / pipeline.p50),
    detections: s.detections,
  };
}

function workerResult(label: string, s: WorkerSamples): WorkerResult {
  const roundTrip = summarize(s.round);
  const inThread = summarize(s.inThread);
  return {
    frame: label,
    roundTrip,
    inThread,
    messaging: summarize(s.messaging),
    ratio: r3(roundTrip.p50 / inThread.p50),
  };
}

/**
 * Every target measured in every round, so that models and sizes compare under the same machine load:
 * phase 1, per round, per model, per frame: the pipeline then the bare session.run on its tensor;
 * phase 2 (unless `worker` is false), per round, per model, per frame: the worker round trip and the
 * in-thread pipeline, taking turns at going first. One intra-op thread everywhere.
 */
export async function measureModels(
  targets: readonly ModelTarget[],
  frames: readonly BenchFrame[],
  options: Pick<BenchOptions, 'iterations' | 'warmup' | 'worker'>,
  progress: (line: string) => void,
): Promise<ModelResult[]> {
  const label = (t: ModelTarget) => `${t.name}/${t.version}`;
  const engines: { engine: DetectionEngine; loadMs: number }[] = [];
  const detectors: Detector[] = [];
  try {
    for (const t of targets) {
      const created = await DetectionEngine.create({
        modelName: t.name,
        version: t.version,
        modelsDir: t.modelsDir,
        threads: 1,
      });
      engines.push({ engine: created.engine, loadMs: created.loadMs });
      progress(
        `loaded ${label(t)} (${t.origin}, ${t.inputSize.join('×')}) in ${created.loadMs.toFixed(0)} ms`,
      );
    }
    for (let i = 0; i < options.warmup; i++) {
      for (const { engine } of engines)
        for (const f of frames) await pipelineRound(engine, f.frame, newPipelineSamples());
    }
    const pipelineSamples = targets.map(() => frames.map(newPipelineSamples));
    const every = Math.max(1, Math.floor(options.iterations / 5));
    for (let i = 0; i < options.iterations; i++) {
      for (const [m, { engine }] of engines.entries()) {
        for (const [k, f] of frames.entries()) await pipelineRound(engine, f.frame, pipelineSamples[m]![k]!);
      }
      if ((i + 1) % every === 0 || i + 1 === options.iterations) {
        const sofar = targets.map((t, m) => {
          const s = pipelineSamples[m]![0]!;
          return `${label(t)} ${median(s.pipeline).toFixed(1)}/${median(s.raw).toFixed(1)}`;
        });
        progress(
          `  pipeline vs raw ${i + 1}/${options.iterations} rounds (p50 ms so far, ${frames[0]!.label}: ${sofar.join(', ')})`,
        );
      }
    }
    const results: ModelResult[] = targets.map((t, m) => ({
      model: label(t),
      name: t.name,
      version: t.version,
      origin: t.origin,
      format: t.format,
      input: `${t.inputSize[0]}x${t.inputSize[1]}`,
      loadMs: r3(engines[m]!.loadMs),
      frames: frames.map((f, k) => frameResult(f.label, pipelineSamples[m]![k]!)),
    }));
    if (!options.worker) return results;

    for (const t of targets) {
      detectors.push(
        await createDetector({
          modelName: t.name,
          modelVersion: t.version,
          modelsDir: t.modelsDir,
          threads: 1,
          log: pino({ level: 'silent' }),
        }),
      );
    }
    for (let i = 0; i < options.warmup; i++) {
      for (const d of detectors) for (const f of frames) await d.detect(f.frame);
    }
    const workerSamples = targets.map(() =>
      frames.map((): WorkerSamples => ({ round: [], inThread: [], messaging: [] })),
    );
    for (let i = 0; i < options.iterations; i++) {
      for (const [m, d] of detectors.entries()) {
        for (const [k, f] of frames.entries()) {
          await workerRound(d, engines[m]!.engine, f.frame, (i + k) % 2 === 0, workerSamples[m]![k]!);
        }
      }
      if ((i + 1) % every === 0 || i + 1 === options.iterations) {
        progress(`  worker vs in-thread ${i + 1}/${options.iterations} rounds`);
      }
    }
    results.forEach((r, m) => {
      r.worker = frames.map((f, k) => workerResult(f.label, workerSamples[m]![k]!));
    });
    return results;
  } finally {
    for (const d of detectors) await d.close();
    for (const { engine } of engines) await engine.close();
  }
}

/**
 * The registry's session options (model-registry.ts: graph optimisation 'all', sequential, one intra-
 * and one inter-op thread, default memory arena) against single changes, each its own session on the
 * same bytes and the same pre-processed tensor, taking turns round by round.
 */
export async function compareSessionOptions(
  target: ModelTarget,
  frame: Frame,
  rounds: number,
  progress: (line: string) => void,
): Promise<NonNullable<BenchReport['sessionOptions']>> {
  const { dir } = await resolveModelDir(target.modelsDir, target.name, target.version);
  const card = await readModelCard(dir);
  const bytes = await readFile(path.join(dir, card.file));
  const base: ort.InferenceSession.SessionOptions = {
    executionProviders: ['cpu'],
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  };
  const variants: { name: string; change: ort.InferenceSession.SessionOptions }[] = [
    { name: 'registry options', change: {} },
    {
      name: 'graph optimisation extended (no layout passes)',
      change: { graphOptimizationLevel: 'extended' },
    },
    { name: 'graph optimisation basic', change: { graphOptimizationLevel: 'basic' } },
    { name: 'CPU memory arena off', change: { enableCpuMemArena: false } },
    { name: 'memory pattern off', change: { enableMemPattern: false } },
    { name: 'denormals as zero', change: { extra: { session: { set_denormal_as_zero: '1' } } } },
    { name: '2 intra-op threads (two cores busy)', change: { intraOpNumThreads: 2 } },
  ];
  // The tensor the pipeline would feed: the card's pre-processing of the frame.
  const pre = new Preprocessor(specFromCard(card));
  pre.run(frame);
  const input = new ort.Tensor('float32', pre.output, [...card.input.shape]);
  const sessions = await Promise.all(
    variants.map((v) => ort.InferenceSession.create(bytes, { ...base, ...v.change })),
  );
  try {
    const run = async (sIdx: number) => {
      const t0 = performance.now();
      const out = await sessions[sIdx]!.run({ [card.input.name]: input });
      const ms = performance.now() - t0;
      for (const v of Object.values(out)) v.dispose();
      return ms;
    };
    for (let i = 0; i < 3; i++) for (let k = 0; k < sessions.length; k++) await run(k);
    const times = sessions.map(() => [] as number[]);
    for (let i = 0; i < rounds; i++) {
      // Forwards, then backwards: no variant always runs right after the same other one.
      for (let j = 0; j < sessions.length; j++) {
        const k = i % 2 === 0 ? j : sessions.length - 1 - j;
        times[k]!.push(await run(k));
      }
    }
    progress(`  session options: ${rounds} rounds of ${sessions.length} variants done`);
    return {
      model: `${target.name}/${target.version}`,
      variants: variants.map((v, k) => ({
        name: v.name,
        options: JSON.stringify({ ...base, ...v.change }),
        run: summarize(times[k]!),
      })),
    };
  } finally {
    for (const sess of sessions) await sess.release();
  }
}

// ------------------------------------------------------------------------------------------------
// Report
// ------------------------------------------------------------------------------------------------

export interface MachineInfo {
  cpuModel: string;
  /** From /proc/cpuinfo where there is one: family, model and the SIMD flags onnxruntime's kernels use. */
  cpuDetail: string;
  cores: number;
  node: string;
  onnxruntime: string;
  sharp: string;
  platform: string;
  totalMemoryGiB: number;
  /** 1-, 5- and 15-minute load averages before and after the run: a busy machine inflates the times. */
  loadBefore: number[];
  loadAfter?: number[];
}

export interface BenchReport {
  schema: 'bench-detector/1';
  date: string;
  machine: MachineInfo;
  settings: {
    iterations: number;
    warmup: number;
    intraOpThreads: 1;
    frames: { label: string; source: string }[];
    percentiles: string;
  };
  /**
   * The default vehicle detector (DETECTOR_MODEL at DETECTOR_MODEL_VERSION, else the default version)
   * at its card input on the 1920×1080 frame.
   */
  vehicle: {
    model: string;
    input: string;
    frame: string;
    p50_ms: number;
    p95_ms: number;
    raw_p50_ms: number;
    overhead_ratio: number;
    fps_per_core: number;
    targets: { p50_ms: number; overhead_ratio: number };
    meets: { p50_ms: boolean; overhead_ratio: boolean };
  } | null;
  models: ModelResult[];
  /** --session-options: bare session.run of the first model under each option set, interleaved. */
  sessionOptions?: { model: string; variants: { name: string; options: string; run: Stats }[] };
  notes: string[];
  durationS: number;
}

export const TARGETS = { p50_ms: 25, overhead_ratio: 1.15 } as const;

function cpuDetail(): string {
  try {
    const info = readFileSync('/proc/cpuinfo', 'utf8');
    const field = (name: string) => new RegExp(`^${name}\\s*:\\s*(.*)$`, 'm').exec(info)?.[1]?.trim() ?? '?';
    const flags = new Set(field('flags').split(/\s+/));
    const simd = ['avx2', 'fma', 'avx512f', 'avx512_vnni', 'avx512_bf16', 'amx_tile'].filter((f) =>
      flags.has(f),
    );
    return `family ${field('cpu family')} model ${field('model')}; ${simd.join(' ') || 'no AVX2'}`;
  } catch {
    return 'unknown (no /proc/cpuinfo)';
  }
}

export function machineInfo(): MachineInfo {
  const cpus = os.cpus();
  return {
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    cpuDetail: cpuDetail(),
    cores: os.availableParallelism(),
    node: process.version,
    onnxruntime: ort.env.versions.common ?? 'unknown',
    sharp: sharp.versions.sharp ?? 'unknown',
    platform: `${os.type()} ${os.release()} ${os.arch()}`,
    totalMemoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    loadBefore: os.loadavg().map(r3),
  };
}

export function vehicleSummary(
  models: readonly ModelResult[],
  vehicleModel: { name: string; version?: string } = { name: DEFAULT_VEHICLE_MODEL },
): BenchReport['vehicle'] {
  const m = models.find(
    (x) =>
      x.name === vehicleModel.name &&
      x.origin === 'card' &&
      (vehicleModel.version === undefined || x.version === vehicleModel.version),
  );
  const f = m?.frames.find((x) => x.frame === '1920x1080') ?? m?.frames[0];
  if (!m || !f) return null;
  return {
    model: m.model,
    input: m.input,
    frame: f.frame,
    p50_ms: f.pipeline.p50,
    p95_ms: f.pipeline.p95,
    raw_p50_ms: f.raw.p50,
    overhead_ratio: f.overheadRatio,
    fps_per_core: f.fpsPerCore,
    targets: { ...TARGETS },
    meets: {
      p50_ms: f.pipeline.p50 <= TARGETS.p50_ms,
      overhead_ratio: f.overheadRatio <= TARGETS.overhead_ratio,
    },
  };
}

export function formatTable(report: BenchReport): string {
  const rows: string[][] = [
    [
      'model',
      'input',
      'frame',
      'p50 ms',
      'p95 ms',
      'raw p50',
      'ratio',
      'pre %',
      'post %',
      'fps/core',
      'worker p50',
      'msg ms',
    ],
  ];
  for (const m of report.models) {
    for (const f of m.frames) {
      const w = m.worker?.find((x) => x.frame === f.frame);
      rows.push([
        m.model,
        m.input,
        f.frame,
        f.pipeline.p50.toFixed(2),
        f.pipeline.p95.toFixed(2),
        f.raw.p50.toFixed(2),
        f.overheadRatio.toFixed(3),
        (f.share.preprocess * 100).toFixed(1),
        (f.share.postprocess * 100).toFixed(1),
        f.fpsPerCore.toFixed(1),
        w ? w.roundTrip.p50.toFixed(2) : '-',
        w ? w.messaging.p50.toFixed(2) : '-',
      ]);
    }
  }
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  const lines = rows.map((r) =>
    r.map((cell, c) => (c < 3 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  '),
  );
  lines.splice(1, 0, widths.map((w) => '-'.repeat(w)).join('  '));
  const v = report.vehicle;
  if (v) {
    lines.push(
      '',
      `vehicle ${v.model} @${v.input}, ${v.frame}: p50 ${v.p50_ms.toFixed(2)} ms (target ≤ ${v.targets.p50_ms}: ${v.meets.p50_ms ? 'met' : 'NOT met'}), ` +
        `overhead ${v.overhead_ratio.toFixed(3)}× raw (target ≤ ${v.targets.overhead_ratio}: ${v.meets.overhead_ratio ? 'met' : 'NOT met'})`,
    );
  }
  const mc = report.machine;
  lines.push(
    `${mc.cpuModel} (${mc.cpuDetail}), ${mc.cores} cores, node ${mc.node}, onnxruntime ${mc.onnxruntime}; load ${mc.loadBefore.join(' ')} → ${mc.loadAfter?.join(' ') ?? '?'}`,
  );
  if (report.sessionOptions) {
    lines.push('', `session options, bare session.run of ${report.sessionOptions.model}:`);
    for (const v of report.sessionOptions.variants) {
      lines.push(`  ${v.name.padEnd(48)} p50 ${v.run.p50.toFixed(2)} ms  p95 ${v.run.p95.toFixed(2)} ms`);
    }
  }
  for (const m of report.models) {
    if (!m.recall) continue;
    const parts = m.recall.byPresentation.map(
      (p) => `${p.presentation} ${p.byScore.map((b) => `${(b.recall * 100).toFixed(1)} %`).join(' / ')}`,
    );
    lines.push(
      `recall ${m.model} @${m.input} (${m.recall.photos} photos; score ≥ ${RECALL_SCORES.join(' / ')}): ${parts.join(', ')}`,
    );
  }
  for (const n of report.notes) lines.push(`note: ${n}`);
  return lines.join('\n');
}

export async function runBenchmark(
  options: BenchOptions,
  progress: (line: string) => void,
): Promise<BenchReport> {
  const started = performance.now();
  const machine = machineInfo();
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'bench-detector-'));
  try {
    const frames = await benchFrames(options.sharedDir);
    progress(`frames: ${frames.map((f) => `${f.label} (${f.source})`).join(', ')}`);
    const { targets, notes } = await resolveTargets(options, tmp, progress);
    const models = await measureModels(targets, frames, options, progress);
    let sessionOptions: BenchReport['sessionOptions'];
    if (options.sessionOptions && targets[0]) {
      progress(`session options on ${targets[0].name}/${targets[0].version}`);
      sessionOptions = await compareSessionOptions(
        targets[0],
        frames[0]!.frame,
        Math.min(options.iterations, 50),
        progress,
      );
    }
    if (options.recall) {
      const data = path.join(options.sharedDir, 'data/plates-endtoend');
      if (!existsSync(data)) notes.push(`--recall: ${data} is absent; recall not measured`);
      else {
        // After all timings, so that the photo decoding does not share the machine with them.
        for (const [i, t] of targets.entries()) {
          progress(`recall [${i + 1}/${targets.length}] ${t.name}/${t.version}`);
          models[i]!.recall = await measureRecall(t, data, progress);
        }
      }
    }
    machine.loadAfter = os.loadavg().map(r3);
    // The version production loads: DETECTOR_MODEL_VERSION, else the registry's default.
    const vehicle = await resolveModelDir(
      options.modelsDir,
      options.vehicle.name,
      options.vehicle.version,
    ).then(
      (r) => ({ name: options.vehicle.name, version: r.version }),
      () => options.vehicle,
    );
    if (Math.max(...machine.loadBefore.slice(0, 1), ...machine.loadAfter.slice(0, 1)) > machine.cores * 0.5) {
      notes.push(
        `the machine was busy (1-minute load ${machine.loadBefore[0]} before, ${machine.loadAfter[0]} after, on ${machine.cores} cores): ` +
          'absolute times are inflated; ratios measured side by side hold better',
      );
    }
    return {
      schema: 'bench-detector/1',
      date: new Date().toISOString(),
      machine,
      settings: {
        iterations: options.iterations,
        warmup: options.warmup,
        intraOpThreads: 1,
        frames: frames.map((f) => ({ label: f.label, source: f.source })),
        percentiles: 'nearest rank over the measured rounds; times in ms from performance.now()',
      },
      vehicle: vehicleSummary(models, vehicle),
      ...(sessionOptions ? { sessionOptions } : {}),
      models,
      notes,
      durationS: r3((performance.now() - started) / 1000),
    };
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

export async function main(argv: readonly string[]): Promise<void> {
  const options = parseBenchArgs(argv);
  // The worker's "model loaded" lines would interleave with the table.
  process.env['LOG_LEVEL'] ??= 'warn';
  const progress = (line: string) => process.stderr.write(`${line}\n`);
  const report = await runBenchmark(options, progress);
  await mkdir(path.dirname(path.resolve(options.out)), { recursive: true });
  await writeFile(options.out, `${JSON.stringify(report, null, 2)}\n`);
  process.stdout.write(`${formatTable(report)}\n`);
  progress(`wrote ${options.out} (${report.durationS.toFixed(0)} s)`);
}
