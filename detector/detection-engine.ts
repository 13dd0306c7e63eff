/**
 * One loaded detector in the current thread: pre-processing, the onnxruntime session and decoding.
 * `createDetector` runs it inside a worker thread; tools and benchmarks may use it directly. The card's
 * `output.format` picks the decoder (NanoDet GFL, YOLOX or YOLOv8), so any detector of those families
 * can be dropped into the registry with a card and selected by name.
 */
import * as ort from 'onnxruntime-node';
import { AppError, isAppError } from '../core/errors.js';
import { DEFAULT_CLASSES } from './coco-labels.js';
import type { ModelCard } from './model-card.js';
import { classMaskFor } from './model-card.js';
import type { ExecutionProvider, LoadModelOptions } from './model-registry.js';
import { loadModel } from './model-registry.js';
import type { NanodetLevel } from './postprocess/nanodet.js';
import { decodeNanodet } from './postprocess/nanodet.js';
import type { Candidate } from './postprocess/nms.js';
import { nmsPerClass } from './postprocess/nms.js';
import { decodeYolov8 } from './postprocess/yolov8.js';
import { decodeYolox } from './postprocess/yolox.js';
import type { Frame, LetterboxTransform } from './preprocess.js';
import { Preprocessor, boxToFrame, specFromCard } from './preprocess.js';

export interface Detection {
  /** Class name from the model card's labels (COCO names for the COCO detectors). */
  label: string;
  classId: number;
  score: number;
  /** Frame pixels, top-left corner and size. */
  box: { x: number; y: number; w: number; h: number };
  /** The model that found it; sha256 names the exact file (evidence manifests record it). */
  model: { name: string; version: string; sha256?: string };
}

export interface DetectionTimings {
  preprocessMs: number;
  inferenceMs: number;
  postprocessMs: number;
}

/** One batch: totals over its frames, and how many frames went through the one session call. */
export interface BatchTimings extends DetectionTimings {
  /** Frames in the session call (frames refused before it, e.g. of a wrong size, are not counted). */
  batchSize: number;
  /** Session calls made: 1 for a dynamic-batch model, one per frame for a model fixed at batch 1. */
  sessionRuns: number;
}

/** Per frame of a batch: its detections, or the error that frame alone met. */
export type BatchItemResult = { detections: Detection[] } | { error: AppError };

export interface EngineOptions extends Omit<LoadModelOptions, 'name'> {
  modelName: string;
  /** Default: the card's score threshold. */
  scoreThreshold?: number;
  /** Default: the card's NMS IoU threshold. */
  nmsIou?: number;
  /**
   * Class names to report. Default: those of DEFAULT_CLASSES the card knows, or every label of a card
   * that knows none of them (e.g. a single-class plate detector).
   */
  classes?: readonly string[];
  /**
   * Most frames one detectBatch() call runs in one session call (default 1). A model whose graph fixes
   * the batch at 1 runs a batch one frame after another (same results, no batching gain).
   */
  maxBatch?: number;
}

/**
 * Raw session outputs → candidates in model-input pixels (before NMS), for image `index` of the batch
 * (default 0).
 */
export type Decoder = (outputs: Readonly<Record<string, ort.Tensor>>, index?: number) => Candidate[];

/** Image `index`'s slice of an output whose dimension 0 is the batch (a view, no copy). */
function tensorData(outputs: Readonly<Record<string, ort.Tensor>>, name: string, index = 0): Float32Array {
  const t = outputs[name];
  if (!t || !(t.data instanceof Float32Array)) {
    throw new AppError('model_invalid', `model output '${name}' is missing or not float32`, {
      permanent: true,
    });
  }
  const batch = t.dims[0] ?? 1;
  if (batch === 1 && index === 0) return t.data;
  if (index >= batch) {
    throw new AppError('internal', `model output '${name}' has a batch of ${batch}, image ${index} asked`);
  }
  const per = t.data.length / batch;
  return t.data.subarray(index * per, (index + 1) * per);
}

/** The decoder the card's `output.format` names, bound to its shapes, threshold and class mask. */
export function createDecoder(card: ModelCard, scoreThreshold: number, classMask: Uint8Array): Decoder {
  const inputWidth = card.input.shape[3];
  const inputHeight = card.input.shape[2];
  const numClasses = card.labels.length;
  const out = card.output;
  switch (out.format) {
    case 'nanodet-gfl': {
      const head = {
        inputWidth,
        inputHeight,
        numClasses,
        regMax: out.regMax,
        centerOffset: out.centerOffset,
      };
      const names = out.strides.map((stride) => {
        const named = (role: 'scores' | 'distances') =>
          out.tensors.find((t) => t.stride === stride && t.role === role)!.name;
        return { stride, scores: named('scores'), distances: named('distances') };
      });
      return (outputs, index = 0) => {
        const levels: NanodetLevel[] = names.map((n) => ({
          stride: n.stride,
          scores: tensorData(outputs, n.scores, index),
          distances: tensorData(outputs, n.distances, index),
        }));
        return decodeNanodet(levels, head, scoreThreshold, classMask);
      };
    }
    case 'yolox': {
      const head = { inputWidth, inputHeight, numClasses, strides: out.strides };
      return (outputs, index = 0) =>
        decodeYolox(tensorData(outputs, out.tensor.name, index), head, scoreThreshold, classMask);
    }
    case 'yolov8': {
      const head = { inputWidth, inputHeight, numClasses, layout: out.layout };
      return (outputs, index = 0) =>
        decodeYolov8(tensorData(outputs, out.tensor.name, index), head, scoreThreshold, classMask);
    }
  }
}

/** The classes reported when none are configured (see EngineOptions.classes). */
export function defaultClassesFor(card: ModelCard): readonly string[] {
  const known = DEFAULT_CLASSES.filter((c) => card.labels.includes(c));
  return known.length > 0 ? known : card.labels;
}

const round2 = (v: number) => Math.round(v * 100) / 100;

/** Whether the session's input takes any batch size (a symbolic dimension 0, e.g. "N"). */
export function hasDynamicBatch(session: Pick<ort.InferenceSession, 'inputMetadata'>): boolean {
  const meta = session.inputMetadata[0];
  return meta !== undefined && meta.isTensor && typeof meta.shape[0] === 'string';
}

export class DetectionEngine {
  private readonly preprocessor: Preprocessor;
  private readonly input: ort.Tensor;
  private readonly decode: Decoder;
  private readonly scoreThreshold: number;
  private readonly nmsIou: number;
  readonly model: { name: string; version: string };
  /** What each detection records: the model with its file's sha256. */
  private readonly detectionModel: Detection['model'];
  /** Whether the graph takes N frames in one call. */
  readonly dynamicBatch: boolean;
  /** Most frames in one session call: `maxBatch` for a dynamic-batch graph, else 1. */
  readonly maxBatch: number;
  /** The batch tensor's data, grown to the largest batch seen; image k at k × imageSize. */
  private batchInput = new Float32Array(0);
  /** One pre-processor per batch slot, each writing its slice of batchInput (own size cache). */
  private slots: Preprocessor[] = [];
  private readonly imageSize: number;

  private constructor(
    readonly card: ModelCard,
    private readonly session: ort.InferenceSession,
    readonly provider: ExecutionProvider,
    options: EngineOptions,
  ) {
    this.model = Object.freeze({ name: card.name, version: card.version });
    this.detectionModel = Object.freeze({ name: card.name, version: card.version, sha256: card.sha256 });
    this.preprocessor = new Preprocessor(specFromCard(card));
    this.input = new ort.Tensor('float32', this.preprocessor.output, [...card.input.shape]);
    this.imageSize = this.preprocessor.output.length;
    const wanted = options.maxBatch ?? 1;
    if (!Number.isInteger(wanted) || wanted < 1) {
      throw new AppError('config_invalid', `maxBatch must be a positive integer (got ${wanted})`, {
        permanent: true,
      });
    }
    this.dynamicBatch = hasDynamicBatch(session);
    this.maxBatch = this.dynamicBatch ? wanted : 1;
    const classMask = classMaskFor(card, options.classes ?? defaultClassesFor(card));
    this.scoreThreshold = options.scoreThreshold ?? card.thresholds.score;
    this.nmsIou = options.nmsIou ?? card.thresholds.nmsIou;
    if (!(this.scoreThreshold > 0 && this.scoreThreshold < 1) || !(this.nmsIou > 0 && this.nmsIou <= 1)) {
      throw new AppError('config_invalid', 'detector thresholds must lie in (0, 1)', { permanent: true });
    }
    this.decode = createDecoder(card, this.scoreThreshold, classMask);
  }

  static async create(
    options: EngineOptions,
  ): Promise<{ engine: DetectionEngine; fallbackReason?: string; loadMs: number; warmUpMs: number }> {
    const loaded = await loadModel({ ...options, name: options.modelName });
    try {
      const engine = new DetectionEngine(loaded.card, loaded.session, loaded.provider, options);
      let warmUpMs = loaded.warmUpMs;
      if ((options.maxBatch ?? 1) > 1 && !engine.dynamicBatch) {
        options.log?.warn(
          { model: `${engine.model.name}/${engine.model.version}`, maxBatch: options.maxBatch },
          'the model fixes its batch at 1: batches run one frame after another',
        );
      } else if (engine.maxBatch > 1 && (options.warmUp ?? true)) {
        // The load warmed up at batch 1; one run at the largest batch sizes the memory arena now.
        const started = performance.now();
        await engine.warmUpBatch();
        warmUpMs += performance.now() - started;
      }
      return {
        engine,
        ...(loaded.fallbackReason === undefined ? {} : { fallbackReason: loaded.fallbackReason }),
        loadMs: loaded.loadMs,
        warmUpMs,
      };
    } catch (err) {
      await loaded.session.release();
      throw err;
    }
  }

  async detect(frame: Frame): Promise<{ detections: Detection[]; timings: DetectionTimings }> {
    const t0 = performance.now();
    const transform = this.preprocessor.run(frame);
    const t1 = performance.now();
    const results = await this.session.run({ [this.card.input.name]: this.input });
    const t2 = performance.now();
    const detections = this.detectionsOf(results, 0, transform);
    for (const r of Object.values(results)) r.dispose();
    const t3 = performance.now();
    return { detections, timings: { preprocessMs: t1 - t0, inferenceMs: t2 - t1, postprocessMs: t3 - t2 } };
  }

  /**
   * Several frames (from different cameras, of any sizes) in one session call: each is pre-processed
   * into its slice of one batch tensor, the graph runs once, and each image's slice of the outputs is
   * decoded on its own. A frame that cannot be pre-processed (wrong size) gets its own error and the
   * rest of the batch runs without it. A graph fixed at batch 1, or a batch larger than maxBatch, runs
   * in chunks of what the graph takes. Results are in the order of `frames`.
   */
  async detectBatch(
    frames: readonly Frame[],
  ): Promise<{ results: BatchItemResult[]; timings: BatchTimings }> {
    const results: BatchItemResult[] = new Array<BatchItemResult>(frames.length);
    const timings: BatchTimings = {
      preprocessMs: 0,
      inferenceMs: 0,
      postprocessMs: 0,
      batchSize: 0,
      sessionRuns: 0,
    };
    for (let start = 0; start < frames.length; start += this.maxBatch) {
      const chunk = frames.slice(start, start + this.maxBatch);
      if (this.maxBatch === 1) {
        try {
          const one = await this.detect(chunk[0]!);
          results[start] = { detections: one.detections };
          timings.preprocessMs += one.timings.preprocessMs;
          timings.inferenceMs += one.timings.inferenceMs;
          timings.postprocessMs += one.timings.postprocessMs;
          timings.batchSize += 1;
          timings.sessionRuns += 1;
        } catch (err) {
          if (!isAppError(err) || err.code !== 'bad_request') throw err;
          results[start] = { error: err };
        }
        continue;
      }
      const t0 = performance.now();
      this.ensureSlots(chunk.length);
      const placed: { index: number; transform: LetterboxTransform }[] = [];
      for (const [k, frame] of chunk.entries()) {
        try {
          placed.push({ index: start + k, transform: this.slots[placed.length]!.run(frame) });
        } catch (err) {
          if (!isAppError(err) || err.code !== 'bad_request') throw err;
          results[start + k] = { error: err };
        }
      }
      const t1 = performance.now();
      timings.preprocessMs += t1 - t0;
      if (placed.length === 0) continue;
      const [, c, h, w] = this.card.input.shape;
      const input = new ort.Tensor('float32', this.batchInput.subarray(0, placed.length * this.imageSize), [
        placed.length,
        c,
        h,
        w,
      ]);
      const outputs = await this.session.run({ [this.card.input.name]: input });
      const t2 = performance.now();
      for (const [j, p] of placed.entries()) {
        results[p.index] = { detections: this.detectionsOf(outputs, j, p.transform) };
      }
      for (const r of Object.values(outputs)) r.dispose();
      timings.inferenceMs += t2 - t1;
      timings.postprocessMs += performance.now() - t2;
      timings.batchSize += placed.length;
      timings.sessionRuns += 1;
    }
    return { results, timings };
  }

  /** One session call at maxBatch on the (zeroed) batch tensor, outputs dropped. */
  private async warmUpBatch(): Promise<void> {
    this.ensureSlots(this.maxBatch);
    const [, c, h, w] = this.card.input.shape;
    const input = new ort.Tensor('float32', this.batchInput.subarray(0, this.maxBatch * this.imageSize), [
      this.maxBatch,
      c,
      h,
      w,
    ]);
    const outputs = await this.session.run({ [this.card.input.name]: input });
    for (const r of Object.values(outputs)) r.dispose();
  }

  /** Decoding, NMS and the mapping back to frame pixels of image `index` of the outputs. */
  private detectionsOf(
    outputs: Readonly<Record<string, ort.Tensor>>,
    index: number,
    transform: LetterboxTransform,
  ): Detection[] {
    const candidates = this.decode(outputs, index);
    const kept = nmsPerClass(candidates, this.nmsIou, this.card.thresholds.maxDetections);
    const detections: Detection[] = [];
    for (const c of kept) {
      const b = boxToFrame(transform, c);
      if (b.x2 - b.x1 <= 0 || b.y2 - b.y1 <= 0) continue;
      detections.push({
        label: this.card.labels[c.classId]!,
        classId: c.classId,
        score: c.score,
        box: { x: round2(b.x1), y: round2(b.y1), w: round2(b.x2 - b.x1), h: round2(b.y2 - b.y1) },
        model: this.detectionModel,
      });
    }
    return detections;
  }

  /** Room for `n` images in the batch tensor, with one pre-processor per slot (grown, never shrunk). */
  private ensureSlots(n: number): void {
    if (this.slots.length >= n) return;
    const capacity = Math.min(this.maxBatch, Math.max(n, this.slots.length * 2));
    this.batchInput = new Float32Array(capacity * this.imageSize);
    const spec = specFromCard(this.card);
    this.slots = Array.from(
      { length: capacity },
      (_, k) =>
        new Preprocessor(spec, this.batchInput.subarray(k * this.imageSize, (k + 1) * this.imageSize)),
    );
  }

  /**
   * One bare session.run on the input tensor as the last detect() left it, outputs dropped: the raw
   * inference that benchmarks set the whole pipeline against (same session, same tensor).
   */
  async runSession(): Promise<void> {
    const results = await this.session.run({ [this.card.input.name]: this.input });
    for (const r of Object.values(results)) r.dispose();
  }

  async close(): Promise<void> {
    await this.session.release();
  }
}
