/**
 * One loaded detector in the current thread: pre-processing, the onnxruntime session and decoding.
 * `createDetector` runs it inside a worker thread; tools and benchmarks may use it directly. The card's
 * `output.format` picks the decoder (NanoDet GFL, YOLOX or YOLOv8), so any detector of those families
 * can be dropped into the registry with a card and selected by name.
 */
import * as ort from 'onnxruntime-node';
import { AppError } from '../core/errors.js';
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
import type { Frame } from './preprocess.js';
import { Preprocessor, boxToFrame, specFromCard } from './preprocess.js';

export interface Detection {
  /** Class name from the model card's labels (COCO names for the COCO detectors). */
  label: string;
  classId: number;
  score: number;
  /** Frame pixels, top-left corner and size. */
  box: { x: number; y: number; w: number; h: number };
  model: { name: string; version: string };
}

export interface DetectionTimings {
  preprocessMs: number;
  inferenceMs: number;
  postprocessMs: number;
}

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
}

/** Raw session outputs → candidates in model-input pixels (before NMS). */
export type Decoder = (outputs: Readonly<Record<string, ort.Tensor>>) => Candidate[];

function tensorData(outputs: Readonly<Record<string, ort.Tensor>>, name: string): Float32Array {
  const t = outputs[name];
  if (!t || !(t.data instanceof Float32Array)) {
    throw new AppError('model_invalid', `model output '${name}' is missing or not float32`, {
      permanent: true,
    });
  }
  return t.data;
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
      return (outputs) => {
        const levels: NanodetLevel[] = names.map((n) => ({
          stride: n.stride,
          scores: tensorData(outputs, n.scores),
          distances: tensorData(outputs, n.distances),
        }));
        return decodeNanodet(levels, head, scoreThreshold, classMask);
      };
    }
    case 'yolox': {
      const head = { inputWidth, inputHeight, numClasses, strides: out.strides };
      return (outputs) => decodeYolox(tensorData(outputs, out.tensor.name), head, scoreThreshold, classMask);
    }
    case 'yolov8': {
      const head = { inputWidth, inputHeight, numClasses, layout: out.layout };
      return (outputs) => decodeYolov8(tensorData(outputs, out.tensor.name), head, scoreThreshold, classMask);
    }
  }
}

/** The classes reported when none are configured (see EngineOptions.classes). */
export function defaultClassesFor(card: ModelCard): readonly string[] {
  const known = DEFAULT_CLASSES.filter((c) => card.labels.includes(c));
  return known.length > 0 ? known : card.labels;
}

const round2 = (v: number) => Math.round(v * 100) / 100;

export class DetectionEngine {
  private readonly preprocessor: Preprocessor;
  private readonly input: ort.Tensor;
  private readonly decode: Decoder;
  private readonly scoreThreshold: number;
  private readonly nmsIou: number;
  readonly model: { name: string; version: string };

  private constructor(
    readonly card: ModelCard,
    private readonly session: ort.InferenceSession,
    readonly provider: ExecutionProvider,
    options: EngineOptions,
  ) {
    this.model = Object.freeze({ name: card.name, version: card.version });
    this.preprocessor = new Preprocessor(specFromCard(card));
    this.input = new ort.Tensor('float32', this.preprocessor.output, [...card.input.shape]);
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
      return {
        engine,
        ...(loaded.fallbackReason === undefined ? {} : { fallbackReason: loaded.fallbackReason }),
        loadMs: loaded.loadMs,
        warmUpMs: loaded.warmUpMs,
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
    const candidates = this.decode(results);
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
        model: this.model,
      });
    }
    for (const r of Object.values(results)) r.dispose();
    const t3 = performance.now();
    return { detections, timings: { preprocessMs: t1 - t0, inferenceMs: t2 - t1, postprocessMs: t3 - t2 } };
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
