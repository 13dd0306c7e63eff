/**
 * Plate reading as the rest of the system sees it, off the event loop: a worker thread owns the
 * PlateEngine (PP-OCR's text detector and recogniser, optionally the whole-plate recogniser
 * vn-plate-ocr first with PP-OCR as second opinion, from the registry); each image is copied into a
 * transferable buffer, one request is in flight at a time and a few more may wait. A full queue
 * rejects the new request at once (the caller decides what to drop).
 *
 *   const reader = await createPlateReader({ modelsDir });
 *   const reading = await reader.readPlate(crop);      // { compact, formatted, rows, chars, … }
 *   const plates = await reader.findPlates(vehicle);    // [{ box, score, rows, text }]
 */
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { AppError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import { logger as rootLogger } from '../../core/logger.js';
import { DEFAULT_MODELS_DIR } from '../detector.js';
import type { ExecutionProvider } from '../model-registry.js';
import type { RgbImage } from './image.js';
import type {
  FindPlatesOptions,
  FoundPlate,
  LocatedPlate,
  PlateEngineOptions,
  PlateReading,
  ReadPlateOptions,
} from './plate-engine.js';
import type {
  PlateParentMessage,
  PlateRequest,
  PlateResult,
  PlateWorkerMessage,
  SerializedError,
} from './plate-protocol.js';

export type {
  FindPlatesOptions,
  FoundPlate,
  PlateChar,
  PlateReading,
  ReadPlateOptions,
} from './plate-engine.js';
export type { PlateBox } from './plate-localiser.js';
export type { LocatedPlate } from './plate-engine.js';
export type { PlateColour } from './plate-colour.js';
export type { RgbImage, PixelBox } from './image.js';

export interface PlateReaderOptions {
  /** The registry folder; default DEFAULT_MODELS_DIR. */
  modelsDir?: string;
  detModel?: string;
  detVersion?: string;
  recModel?: string;
  recVersion?: string;
  /** A whole-plate recogniser read first (e.g. 'vn-plate-ocr'); default none: PP-OCR alone. */
  plateModel?: string | null;
  plateVersion?: string;
  /** PP-OCR is asked too below this confidence of the first reading (default: its card's threshold). */
  secondOpinionBelow?: number;
  provider?: ExecutionProvider;
  cudaDevice?: number;
  threads?: number;
  /** Readings below this confidence are sent to review (default: the first recogniser card's). */
  minConfidence?: number;
  /** Requests allowed to wait behind the one in flight (default 16). */
  maxQueue?: number;
  log?: Logger;
}

export interface PlateReader {
  /** The recogniser that reads plates first (each reading names the one that produced it). */
  readonly model: { readonly name: string; readonly version: string };
  /** The text detector that finds them. */
  readonly detModel: { readonly name: string; readonly version: string };
  readonly provider: ExecutionProvider;
  /** Requests accepted and not yet answered. */
  readonly pending: number;
  /** Reads a plate crop (one or two rows). */
  readPlate(crop: RgbImage, options?: ReadPlateOptions): Promise<PlateReading>;
  /** Plate boxes on a vehicle crop or a full image, best first. */
  findPlates(image: RgbImage, options?: FindPlatesOptions): Promise<LocatedPlate[]>;
  /** Plate boxes with their readings, best first. */
  readPlates(image: RgbImage, options?: FindPlatesOptions & ReadPlateOptions): Promise<FoundPlate[]>;
  close(): Promise<void>;
}

interface Pending {
  message: PlateRequest;
  resolve: (r: PlateResult) => void;
  reject: (e: Error) => void;
}

function revive(e: SerializedError): AppError {
  return new AppError(e.code, e.message, { permanent: e.permanent });
}

/** As detector.ts: the compiled worker file, or a bootstrap through tsx's API from the sources. */
function workerEntry(): { entry: string | URL; eval: boolean } {
  const fromSource = import.meta.url.endsWith('.ts');
  if (!fromSource) return { entry: new URL('./plate-reader.worker.js', import.meta.url), eval: false };
  const target = new URL('./plate-reader.worker.ts', import.meta.url).href;
  let api: string;
  try {
    api = import.meta.resolve('tsx/esm/api');
  } catch {
    api = pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm/api')).href;
  }
  const code =
    `import(${JSON.stringify(api)}).then((tsx) => tsx.tsImport(${JSON.stringify(target)}, ${JSON.stringify(target)}))` +
    '.catch((err) => { process.nextTick(() => { throw err; }); });';
  return { entry: code, eval: true };
}

class WorkerPlateReader implements PlateReader {
  model: { name: string; version: string } = { name: '', version: '' };
  detModel: { name: string; version: string } = { name: '', version: '' };
  provider: ExecutionProvider = 'cpu';
  private readonly queue: Pending[] = [];
  private inFlight: Pending | undefined;
  private nextId = 1;
  private failure: AppError | undefined;
  private closing: Promise<void> | undefined;
  private readonly exited: Promise<number>;

  constructor(
    private readonly worker: Worker,
    private readonly log: Logger,
    private readonly maxQueue: number,
  ) {
    this.exited = new Promise((resolve) => worker.once('exit', resolve));
    worker.on('message', (m: PlateWorkerMessage) => this.onMessage(m));
    worker.on('error', (err) =>
      this.fail(new AppError('internal', `plate reader worker crashed: ${err.message}`, { cause: err })),
    );
    worker.on('exit', (code) => {
      if (!this.closing) this.fail(new AppError('internal', `plate reader worker exited with code ${code}`));
    });
  }

  get pending(): number {
    return this.queue.length + (this.inFlight ? 1 : 0);
  }

  ready(): Promise<void> {
    return new Promise((resolve, reject) => {
      const onMessage = (m: PlateWorkerMessage) => {
        if (m.type === 'ready') {
          this.model = Object.freeze({ ...m.recModel });
          this.detModel = Object.freeze({ ...m.detModel });
          this.provider = m.provider;
          this.log.info(
            {
              recModel: `${m.recModel.name}/${m.recModel.version}`,
              detModel: `${m.detModel.name}/${m.detModel.version}`,
              provider: m.provider,
              loadMs: Math.round(m.loadMs),
            },
            'plate reader ready',
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
          this.failure ??
            new AppError('internal', `plate reader worker exited with code ${code} while loading`),
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

  readPlate(crop: RgbImage, options: ReadPlateOptions = {}): Promise<PlateReading> {
    return this.request(crop, (t, id) => ({ type: 'read', id, options, ...t })) as Promise<PlateReading>;
  }

  findPlates(image: RgbImage, options: FindPlatesOptions = {}): Promise<LocatedPlate[]> {
    return this.request(image, (t, id) => ({ type: 'find', id, options, ...t })) as Promise<LocatedPlate[]>;
  }

  readPlates(image: RgbImage, options: FindPlatesOptions & ReadPlateOptions = {}): Promise<FoundPlate[]> {
    return this.request(image, (t, id) => ({ type: 'read-all', id, options, ...t })) as Promise<FoundPlate[]>;
  }

  private request(
    image: RgbImage,
    make: (t: { width: number; height: number; buffer: ArrayBuffer }, id: number) => PlateRequest,
  ): Promise<PlateResult> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.closing) return Promise.reject(new AppError('dependency_down', 'plate reader is closed'));
    const { width, height, data } = image;
    if (
      !Number.isInteger(width) ||
      !Number.isInteger(height) ||
      width < 1 ||
      height < 1 ||
      data.length !== width * height * 3
    ) {
      return Promise.reject(
        new AppError(
          'bad_request',
          `image must be RGB24 of width × height × 3 bytes (got ${width}×${height}, ${data.length} bytes)`,
          { permanent: true },
        ),
      );
    }
    if (this.pending > this.maxQueue) {
      return Promise.reject(
        new AppError('dependency_down', `plate reader queue is full (${this.pending} requests pending)`),
      );
    }
    // Copy now: the caller may reuse its buffer, and the copy is what we transfer to the worker.
    const buffer = new ArrayBuffer(data.length);
    new Uint8Array(buffer).set(data);
    return new Promise((resolve, reject) => {
      this.queue.push({ message: make({ width, height, buffer }, this.nextId++), resolve, reject });
      this.dispatch();
    });
  }

  private dispatch(): void {
    if (this.inFlight || this.failure) return;
    const next = this.queue.shift();
    if (!next) return;
    this.inFlight = next;
    this.worker.postMessage(next.message satisfies PlateParentMessage, [next.message.buffer]);
  }

  private onMessage(m: PlateWorkerMessage): void {
    if (m.type !== 'result' && m.type !== 'error') return;
    const req = this.inFlight;
    if (!req || req.message.id !== m.id) {
      this.log.error({ id: m.id }, 'plate reader worker answered a request that is not in flight');
      return;
    }
    this.inFlight = undefined;
    if (m.type === 'result') req.resolve(m.result);
    else req.reject(revive(m.error));
    this.dispatch();
  }

  private fail(err: AppError): void {
    if (this.failure) return;
    this.failure = err;
    this.log.error({ err }, 'plate reader failed');
    const all = [...(this.inFlight ? [this.inFlight] : []), ...this.queue.splice(0)];
    this.inFlight = undefined;
    for (const r of all) r.reject(err);
  }

  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  abort(): Promise<void> {
    this.closing ??= this.worker.terminate().then(() => undefined);
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    const closed = new AppError('dependency_down', 'plate reader is closed');
    for (const r of this.queue.splice(0)) r.reject(closed);
    if (this.inFlight && !this.failure) {
      const last = this.inFlight;
      await new Promise<void>((resolve) => {
        const { resolve: res, reject: rej } = last;
        last.resolve = (r) => {
          res(r);
          resolve();
        };
        last.reject = (e) => {
          rej(e);
          resolve();
        };
      });
    }
    if (!this.failure) this.worker.postMessage({ type: 'close' } satisfies PlateParentMessage);
    const timer = setTimeout(() => void this.worker.terminate(), 5_000);
    await this.exited;
    clearTimeout(timer);
  }
}

export async function createPlateReader(options: PlateReaderOptions = {}): Promise<PlateReader> {
  const log = options.log ?? rootLogger().child({ module: 'plate-reader' });
  const { entry, eval: isEval } = workerEntry();
  const engineOptions: Omit<PlateEngineOptions, 'log'> = {
    modelsDir: options.modelsDir ?? DEFAULT_MODELS_DIR,
    ...(options.detModel === undefined ? {} : { detModel: options.detModel }),
    ...(options.detVersion === undefined ? {} : { detVersion: options.detVersion }),
    ...(options.recModel === undefined ? {} : { recModel: options.recModel }),
    ...(options.recVersion === undefined ? {} : { recVersion: options.recVersion }),
    ...(options.plateModel === undefined ? {} : { plateModel: options.plateModel }),
    ...(options.plateVersion === undefined ? {} : { plateVersion: options.plateVersion }),
    ...(options.secondOpinionBelow === undefined ? {} : { secondOpinionBelow: options.secondOpinionBelow }),
    ...(options.provider === undefined ? {} : { provider: options.provider }),
    ...(options.cudaDevice === undefined ? {} : { cudaDevice: options.cudaDevice }),
    ...(options.threads === undefined ? {} : { threads: options.threads }),
    ...(options.minConfidence === undefined ? {} : { minConfidence: options.minConfidence }),
  };
  const worker = new Worker(entry, { workerData: engineOptions, eval: isEval });
  const reader = new WorkerPlateReader(worker, log, options.maxQueue ?? 16);
  try {
    await reader.ready();
  } catch (err) {
    await reader.abort();
    throw err;
  }
  return reader;
}
