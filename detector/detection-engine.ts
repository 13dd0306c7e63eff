/**
 * One loaded detector in the current thread: pre-processing, the onnxruntime session and decoding.
 * `createDetector` runs it inside a worker thread; tools and benchmarks may use it directly.
 */
import * as ort from 'onnxruntime-node';
import { AppError } from '../core/errors.js';
import { DEFAULT_CLASSES } from './coco-labels.js';
import type { ModelCard } from './model-card.js';
import { classMaskFor } from './model-card.js';
import type { ExecutionProvider, LoadModelOptions } from './model-registry.js';
import { loadModel } from './model-registry.js';
import type { NanodetLevel, NanodetSpec } from './postprocess/nanodet.js';
import { decodeNanodet } from './postprocess/nanodet.js';
import { nmsPerClass } from './postprocess/nms.js';
import type { Frame } from './preprocess.js';
import { Preprocessor, boxToFrame, specFromCard } from './preprocess.js';

export interface Detection {
  /** COCO class name. */
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
  /** COCO names to report; default DEFAULT_CLASSES. */
  classes?: readonly string[];
}

const round2 = (v: number) => Math.round(v * 100) / 100;

export class DetectionEngine {
  private readonly preprocessor: Preprocessor;
  private readonly input: ort.Tensor;
  private readonly head: NanodetSpec;
  private readonly classMask: Uint8Array;
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
    this.head = {
      inputWidth: card.input.shape[3],
      inputHeight: card.input.shape[2],
      numClasses: card.labels.length,
      regMax: card.output.regMax,
      centerOffset: card.output.centerOffset,
    };
    this.classMask = classMaskFor(card, options.classes ?? DEFAULT_CLASSES);
    this.scoreThreshold = options.scoreThreshold ?? card.thresholds.score;
    this.nmsIou = options.nmsIou ?? card.thresholds.nmsIou;
    if (!(this.scoreThreshold > 0 && this.scoreThreshold < 1) || !(this.nmsIou > 0 && this.nmsIou <= 1)) {
      throw new AppError('config_invalid', 'detector thresholds must lie in (0, 1)', { permanent: true });
    }
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
    const levels: NanodetLevel[] = this.card.output.strides.map((stride) => {
      const tensor = (role: 'scores' | 'distances') => {
        const spec = this.card.output.tensors.find((t) => t.stride === stride && t.role === role)!;
        return results[spec.name]!.data as Float32Array;
      };
      return { stride, scores: tensor('scores'), distances: tensor('distances') };
    });
    const candidates = decodeNanodet(levels, this.head, this.scoreThreshold, this.classMask);
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

  async close(): Promise<void> {
    await this.session.release();
  }
}
