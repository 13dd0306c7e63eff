/**
 * The detector as the rest of the system sees it: image in, detections out, with inference off the
 * main event loop. A worker thread owns the onnxruntime session; each frame is copied into a
 * transferable buffer, one frame is in flight at a time and a few more may wait. A full queue rejects
 * the new frame at once (the caller decides what to drop), never buffers without bound.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Config } from '../core/config.js';
import { AppError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { logger as rootLogger } from '../core/logger.js';
import type { BatchTimings, Detection, DetectionTimings, EngineOptions } from './detection-engine.js';
import type { FrameMessage, ParentMessage, SerializedError, WorkerMessage } from './detector-protocol.js';
import type { ExecutionProvider } from './model-registry.js';
import type { Frame } from './preprocess.js';
import { dropError } from './batch-collector.js';
import { BatchingDetector } from './batching-detector.js';

export type { BatchTimings, Detection, DetectionTimings } from './detection-engine.js';
export type { Frame } from './preprocess.js';
export { DEFAULT_CLASSES, COCO_LABELS } from './coco-labels.js';

export interface DetectorOptions {
  modelName: string;
  /** The registry folder; default DEFAULT_MODELS_DIR. */
  modelsDir?: string;
  /** Default: the newest version in the registry. */
  modelVersion?: string;
  provider?: ExecutionProvider;
  cudaDevice?: number;
  threads?: number;
  /** Default: the model card's threshold. */
  scoreThreshold?: number;
  nmsIou?: number;
  /** COCO names to report; default DEFAULT_CLASSES. */
  classes?: readonly string[];
  /** Frames allowed to wait behind the one in flight (default 2). */
  maxQueue?: number;
  /**
   * Batched inference across cameras: frames from different cameras are gathered for up to `maxWaitMs`
   * or until `maxBatch` are waiting, then run in one session call (detector/batch-collector.ts).
   * Absent or maxBatch 1: one frame per call, as before.
   */
  batch?: { maxBatch: number; maxWaitMs: number };
  log?: Logger;
}

export interface Detector {
  readonly model: { readonly name: string; readonly version: string };
  /** "name/version", e.g. for metric labels. */
  readonly modelName: string;
  /** The execution provider in use (CPU after a CUDA fallback). */
  readonly provider: ExecutionProvider;
  /** Frames accepted and not yet answered. */
  readonly pending: number;
  /** Timings of the last frame, measured inside the worker. */
  readonly lastTimings: DetectionTimings | undefined;
  /** Most frames run in one session call (1 unless batching is on and the model takes batches). */
  readonly maxBatch: number;
  /**
   * Detections of one frame. `source` (a camera code) lets a batching detector share the batch fairly
   * between cameras; others ignore it.
   */
  detect(frame: Frame, source?: string): Promise<Detection[]>;
  close(): Promise<void>;
}

/** A detector that can also take several frames in one call (each frame answered on its own). */
export interface BatchDetector extends Detector {
  /** Per frame, in order: its detections, or the error that frame alone met. */
  detectBatch(frames: readonly Frame[]): Promise<(Detection[] | AppError)[]>;
  readonly lastBatchTimings: BatchTimings | undefined;
}

/** The registry of this checkout: <root>/models beside <root>/detector (or <root>/dist/detector). */
export const DEFAULT_MODELS_DIR = ((): string => {
  const candidates = ['../models', '../../models'].map((rel) => fileURLToPath(new URL(rel, import.meta.url)));
  return candidates.find((dir) => existsSync(path.join(dir, 'README.md'))) ?? candidates[0]!;
})();

/** Detector options from the process configuration. */
export function detectorOptionsFromConfig(config: Config, modelsDir = DEFAULT_MODELS_DIR): DetectorOptions {
  return {
    modelName: config.DETECTOR_MODEL,
    ...(config.DETECTOR_MODEL_VERSION === undefined ? {} : { modelVersion: config.DETECTOR_MODEL_VERSION }),
    modelsDir,
    provider: config.DETECTOR_PROVIDER,
    cudaDevice: config.DETECTOR_CUDA_DEVICE,
    threads: config.DETECTOR_THREADS,
    scoreThreshold: config.DETECTOR_SCORE_THRESHOLD,
    batch: { maxBatch: config.DETECTOR_BATCH_MAX, maxWaitMs: config.DETECTOR_BATCH_WAIT_MS },
  };
}

/** One message to the worker (a frame or a batch) waiting for its answer. */
interface Request {
  id: number;
  frames: number;
  message: ParentMessage;
  transfer: ArrayBuffer[];
  answer: (m: Extract<WorkerMessage, { id: number }>) => void;
  reject: (e: Error) => void;
  /** Resolves once answered or rejected (shutdown waits for the one in flight). */
  settled: Promise<void>;
}

function frameError(frame: Frame): AppError | undefined {
  const { width, height, data } = frame;
  if (
    !Number.isInteger(width) ||
    !Number.isInteger(height) ||
    width < 1 ||
    height < 1 ||
    data.length !== width * height * 3
  ) {
    return new AppError(
      'bad_request',
      `frame must be RGB24 of width × height × 3 bytes (got ${width}×${height}, ${data.length} bytes)`,
      { permanent: true },
    );
  }
  return undefined;
}

/** A copy of the caller's frame in a buffer of its own, which is what we transfer to the worker. */
function copyFrame(frame: Frame): FrameMessage {
  const buffer = new ArrayBuffer(frame.data.length);
  new Uint8Array(buffer).set(frame.data);
  return { width: frame.width, height: frame.height, buffer };
}

function revive(e: SerializedError): AppError {
  return new AppError(e.code, e.message, { permanent: e.permanent });
}

/**
 * How to start the worker. Compiled (.js): the worker file itself. From the TypeScript sources:
 * Node 20 does not apply tsx's loader inside worker threads even though they inherit the parent's
 * execArgv (`--import tsx` included: the worker fails with ERR_UNKNOWN_FILE_EXTENSION), so a
 * two-line bootstrap loads the worker through tsx's programmatic API, which registers a loader scoped
 * to that import. This works under tsx, vitest and plain node alike.
 */
function workerEntry(): { entry: string | URL; eval: boolean } {
  const fromSource = import.meta.url.endsWith('.ts');
  if (!fromSource) return { entry: new URL('./detector.worker.js', import.meta.url), eval: false };
  const target = new URL('./detector.worker.ts', import.meta.url).href;
  let api: string;
  try {
    api = import.meta.resolve('tsx/esm/api');
  } catch {
    // Test runners may not provide import.meta.resolve; resolve through require instead.
    api = pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm/api')).href;
  }
  const code =
    `import(${JSON.stringify(api)}).then((tsx) => tsx.tsImport(${JSON.stringify(target)}, ${JSON.stringify(target)}))` +
    '.catch((err) => { process.nextTick(() => { throw err; }); });';
  return { entry: code, eval: true };
}

class WorkerDetector implements BatchDetector {
  model: { name: string; version: string } = { name: '', version: '' };
  modelName = '';
  provider: ExecutionProvider = 'cpu';
  maxBatch = 1;
  lastTimings: DetectionTimings | undefined;
  lastBatchTimings: BatchTimings | undefined;
  private readonly queue: Request[] = [];
  private inFlight: Request | undefined;
  private nextId = 1;
  private failure: AppError | undefined;
  private closing: Promise<void> | undefined;
  private readonly maxQueue: number;
  private readonly exited: Promise<number>;

  constructor(
    private readonly worker: Worker,
    private readonly log: Logger,
    maxQueue: number,
  ) {
    this.maxQueue = maxQueue;
    this.exited = new Promise((resolve) => worker.once('exit', resolve));
    worker.on('message', (m: WorkerMessage) => this.onMessage(m));
    worker.on('error', (err) =>
      this.fail(new AppError('internal', `detector worker crashed: ${err.message}`, { cause: err })),
    );
    worker.on('exit', (code) => {
      if (!this.closing) this.fail(new AppError('internal', `detector worker exited with code ${code}`));
    });
  }

  /** Frames accepted and not yet answered. */
  get pending(): number {
    return this.queue.reduce((n, r) => n + r.frames, 0) + (this.inFlight?.frames ?? 0);
  }

  ready(): Promise<void> {
    return new Promise((resolve, reject) => {
      const onMessage = (m: WorkerMessage) => {
        if (m.type === 'ready') {
          this.model = Object.freeze({ ...m.model });
          this.modelName = `${m.model.name}/${m.model.version}`;
          this.provider = m.provider;
          this.maxBatch = m.maxBatch;
          this.log.info(
            {
              model: `${m.model.name}/${m.model.version}`,
              provider: m.provider,
              fallbackReason: m.fallbackReason,
              maxBatch: m.maxBatch,
              loadMs: Math.round(m.loadMs),
              warmUpMs: Math.round(m.warmUpMs),
            },
            'detector ready',
          );
          cleanup();
          resolve();
        } else if (m.type === 'init-error') {
          cleanup();
          reject(revive(m.error));
        }
      };
      const onExit = (code: number) => {
        cleanup();
        reject(
          this.failure ?? new AppError('internal', `detector worker exited with code ${code} while loading`),
        );
      };
      const cleanup = () => {
        this.worker.off('message', onMessage);
        this.worker.off('exit', onExit);
      };
      this.worker.on('message', onMessage);
      this.worker.once('exit', onExit);
    });
  }

  detect(frame: Frame): Promise<Detection[]> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.closing) return Promise.reject(dropError('closed', 'detector is closed'));
    const bad = frameError(frame);
    if (bad) return Promise.reject(bad);
    if (this.pending > this.maxQueue) {
      return Promise.reject(
        new AppError('dependency_down', `detector queue is full (${this.pending} frames pending)`),
      );
    }
    // Copy now: the caller may reuse its buffer, and the copy is what we transfer to the worker.
    const f = copyFrame(frame);
    return this.enqueue<Detection[]>({ type: 'detect', id: 0, ...f }, [f.buffer], 1, (m, resolve, reject) => {
      if (m.type === 'result') {
        this.lastTimings = m.timings;
        resolve(m.detections);
      } else if (m.type === 'error') reject(revive(m.error));
      else reject(new AppError('internal', `detector worker answered a frame with ${m.type}`));
    });
  }

  /**
   * Several frames in one message and one session call in the worker. A frame of the wrong size gets
   * its own error here and is not sent; the caller (the batch collector) bounds how many frames wait,
   * so no queue limit applies.
   */
  detectBatch(frames: readonly Frame[]): Promise<(Detection[] | AppError)[]> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.closing) return Promise.reject(dropError('closed', 'detector is closed'));
    const out: (Detection[] | AppError | undefined)[] = frames.map(frameError);
    const sent: number[] = [];
    const messages: FrameMessage[] = [];
    for (const [k, frame] of frames.entries()) {
      if (out[k]) continue;
      sent.push(k);
      messages.push(copyFrame(frame));
    }
    if (messages.length === 0) return Promise.resolve(out as AppError[]);
    return this.enqueue<(Detection[] | AppError)[]>(
      { type: 'detect-batch', id: 0, frames: messages },
      messages.map((m) => m.buffer),
      messages.length,
      (m, resolve, reject) => {
        if (m.type === 'batch-result' && m.results.length === sent.length) {
          this.lastBatchTimings = m.timings;
          m.results.forEach((r, j) => (out[sent[j]!] = 'error' in r ? revive(r.error) : r.detections));
          resolve(out as (Detection[] | AppError)[]);
        } else if (m.type === 'error') reject(revive(m.error));
        else reject(new AppError('internal', `detector worker answered a batch with ${m.type}`));
      },
    );
  }

  private enqueue<T>(
    message: Exclude<ParentMessage, { type: 'close' }>,
    transfer: ArrayBuffer[],
    frames: number,
    onAnswer: (
      m: Extract<WorkerMessage, { id: number }>,
      resolve: (v: T) => void,
      reject: (e: Error) => void,
    ) => void,
  ): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let settle: () => void = () => undefined;
      const settled = new Promise<void>((r) => (settle = r));
      const id = this.nextId++;
      this.queue.push({
        id,
        frames,
        message: { ...message, id },
        transfer,
        answer: (m) =>
          onAnswer(
            m,
            (v) => {
              settle();
              resolve(v);
            },
            (e) => {
              settle();
              reject(e);
            },
          ),
        reject: (e) => {
          settle();
          reject(e);
        },
        settled,
      });
      this.dispatch();
    });
  }

  private dispatch(): void {
    if (this.inFlight || this.failure) return;
    const next = this.queue.shift();
    if (!next) return;
    this.inFlight = next;
    this.worker.postMessage(next.message, next.transfer);
  }

  private onMessage(m: WorkerMessage): void {
    if (m.type !== 'result' && m.type !== 'error' && m.type !== 'batch-result') return;
    const req = this.inFlight;
    if (!req || req.id !== m.id) {
      this.log.error({ id: m.id }, 'detector worker answered a frame that is not in flight');
      return;
    }
    this.inFlight = undefined;
    req.answer(m);
    this.dispatch();
  }

  private fail(err: AppError): void {
    if (this.failure) return;
    this.failure = err;
    this.log.error({ err }, 'detector failed');
    const all = [...(this.inFlight ? [this.inFlight] : []), ...this.queue.splice(0)];
    this.inFlight = undefined;
    for (const r of all) r.reject(err);
  }

  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  /** Ends the worker at once (a failed start): nothing is in flight yet. */
  abort(): Promise<void> {
    this.closing ??= this.worker.terminate().then(() => undefined);
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    // Frames refused at close are drops (as the batch collector's are), not failures: a camera stopping
    // with the process counts them and logs nothing.
    const closed = dropError('closed', 'detector is closed');
    for (const r of this.queue.splice(0)) r.reject(closed);
    if (this.inFlight && !this.failure) await this.inFlight.settled;
    if (!this.failure) this.worker.postMessage({ type: 'close' } satisfies ParentMessage);
    const timer = setTimeout(() => void this.worker.terminate(), 5_000);
    await this.exited;
    clearTimeout(timer);
  }
}

export async function createDetector(options: DetectorOptions): Promise<Detector> {
  const log = options.log ?? rootLogger().child({ module: 'detector' });
  const { entry, eval: isEval } = workerEntry();
  const engineOptions: EngineOptions = {
    modelName: options.modelName,
    modelsDir: options.modelsDir ?? DEFAULT_MODELS_DIR,
    ...(options.modelVersion === undefined ? {} : { version: options.modelVersion }),
    ...(options.provider === undefined ? {} : { provider: options.provider }),
    ...(options.cudaDevice === undefined ? {} : { cudaDevice: options.cudaDevice }),
    ...(options.threads === undefined ? {} : { threads: options.threads }),
    ...(options.scoreThreshold === undefined ? {} : { scoreThreshold: options.scoreThreshold }),
    ...(options.nmsIou === undefined ? {} : { nmsIou: options.nmsIou }),
    ...(options.classes === undefined ? {} : { classes: [...options.classes] }),
    ...(options.batch === undefined ? {} : { maxBatch: options.batch.maxBatch }),
  };
  const worker = new Worker(entry, { workerData: engineOptions, eval: isEval });
  const detector = new WorkerDetector(worker, log, options.maxQueue ?? 2);
  try {
    await detector.ready();
  } catch (err) {
    await detector.abort();
    throw err;
  }
  if (!options.batch || options.batch.maxBatch <= 1) return detector;
  return new BatchingDetector(detector, {
    maxBatch: options.batch.maxBatch,
    maxWaitMs: options.batch.maxWaitMs,
    // As many frames may wait as the single-frame path allows, and at least two batches' worth.
    maxQueue: Math.max(options.maxQueue ?? 2, 2 * options.batch.maxBatch),
    log,
  });
}
