/**
 * Batched inference across cameras: a detector whose detect(frame, camera) goes through a
 * BatchCollector, so frames from many cameras that arrive within the wait budget run in one session
 * call of the worker's engine (a graph with a dynamic batch dimension), and each camera gets its own
 * detections back. Same interface as the single-frame detector; createDetector() returns one when
 * `batch.maxBatch` > 1.
 */
import type { AppError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { BatchCollectorStats, BatchReport } from './batch-collector.js';
import { BatchCollector } from './batch-collector.js';
import type { BatchTimings, Detection, DetectionTimings } from './detection-engine.js';
import type { ExecutionProvider } from './model-registry.js';
import type { Frame } from './preprocess.js';

/** What the batching detector needs from the detector underneath (the worker detector). */
export interface BatchSource {
  readonly model: { readonly name: string; readonly version: string };
  readonly modelName: string;
  readonly provider: ExecutionProvider;
  readonly maxBatch: number;
  readonly lastBatchTimings: BatchTimings | undefined;
  detectBatch(frames: readonly Frame[]): Promise<(Detection[] | AppError)[]>;
  close(): Promise<void>;
}

export interface BatchingOptions {
  maxBatch: number;
  maxWaitMs: number;
  /** Frames waiting in all, every camera together. */
  maxQueue: number;
  log?: Logger;
  onBatch?: (batch: BatchReport) => void;
}

export class BatchingDetector {
  private readonly collector: BatchCollector<Frame, Detection[]>;
  /** Mean batch size over the last batches (exponential, about the last 20). */
  meanBatchSize = 0;
  lastTimings: DetectionTimings | undefined;

  constructor(
    private readonly inner: BatchSource,
    options: BatchingOptions,
  ) {
    const maxBatch = Math.max(1, Math.min(options.maxBatch, inner.maxBatch));
    if (options.maxBatch > inner.maxBatch) {
      options.log?.warn(
        { model: inner.modelName, asked: options.maxBatch, engine: inner.maxBatch },
        'the engine runs fewer frames per call than asked; batches are capped at what it takes',
      );
    }
    this.collector = new BatchCollector<Frame, Detection[]>({
      maxBatch,
      maxWaitMs: options.maxWaitMs,
      maxQueue: Math.max(options.maxQueue, maxBatch),
      run: (frames) => inner.detectBatch(frames),
      onBatch: (b) => {
        this.meanBatchSize = this.meanBatchSize === 0 ? b.size : this.meanBatchSize * 0.95 + b.size * 0.05;
        const t = inner.lastBatchTimings;
        if (t && t.batchSize > 0) {
          this.lastTimings = {
            preprocessMs: t.preprocessMs / t.batchSize,
            inferenceMs: t.inferenceMs / t.batchSize,
            postprocessMs: t.postprocessMs / t.batchSize,
          };
        }
        if (b.failed)
          options.log?.warn({ size: b.size }, 'a detector batch failed; its frames were rejected');
        options.onBatch?.(b);
      },
    });
  }

  get model(): BatchSource['model'] {
    return this.inner.model;
  }

  get modelName(): string {
    return this.inner.modelName;
  }

  get provider(): ExecutionProvider {
    return this.inner.provider;
  }

  get maxBatch(): number {
    return this.collector.stats.sizes.length - 1;
  }

  /** Frames waiting for a batch. */
  get pending(): number {
    return this.collector.queued;
  }

  get stats(): BatchCollectorStats {
    return this.collector.stats;
  }

  /** `source`: the camera, for fairness and drop counts (frames without one share a single source). */
  detect(frame: Frame, source = 'default'): Promise<Detection[]> {
    return this.collector.submit(source, frame);
  }

  async close(): Promise<void> {
    this.collector.close();
    await this.inner.close();
  }
}
