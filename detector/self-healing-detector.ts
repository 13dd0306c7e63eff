import type { Logger } from 'pino';
import { AppError, errorMessage, isAppError } from '../core/errors.js';
import type { Detection, Detector, Frame } from './detector.js';

/**
 * A detector that replaces its worker when the worker dies (a crash in native code, out of memory), so one
 * bad moment does not blind every camera of the process until a restart. While a replacement loads, frames
 * are refused with a retryable error (the camera's newest-frame slot drops them and counts them). Replacement
 * attempts back off exponentially up to `maxBackoffMs`.
 */
export class SelfHealingDetector {
  private current: Detector;
  private replacing: Promise<void> | undefined;
  private closed = false;
  private failures = 0;
  private nextAttemptAt = 0;
  restarts = 0;

  private constructor(
    first: Detector,
    private readonly create: () => Promise<Detector>,
    private readonly log: Logger,
    private readonly maxBackoffMs: number,
  ) {
    this.current = first;
  }

  static async start(
    create: () => Promise<Detector>,
    log: Logger,
    maxBackoffMs = 30_000,
  ): Promise<SelfHealingDetector> {
    return new SelfHealingDetector(await create(), create, log, maxBackoffMs);
  }

  get modelName(): string {
    return this.current.modelName;
  }

  get provider(): Detector['provider'] {
    return this.current.provider;
  }

  get maxBatch(): number {
    return this.current.maxBatch;
  }

  /** The detector in use now (replaced after a worker death). */
  get detector(): Detector {
    return this.current;
  }

  async detect(frame: Frame, source?: string): Promise<Detection[]> {
    if (this.replacing) throw new AppError('dependency_down', 'detector is restarting');
    const detector = this.current;
    try {
      const detections = await detector.detect(frame, source);
      this.failures = 0;
      return detections;
    } catch (err) {
      // Only a dead worker is replaced; a bad frame or a full queue is the caller's business.
      if (isAppError(err) && err.code === 'internal' && !this.closed && detector === this.current)
        this.replace(err);
      throw err;
    }
  }

  private replace(cause: unknown): void {
    if (this.replacing) return;
    const wait = Math.max(0, this.nextAttemptAt - Date.now());
    this.log.error({ err: errorMessage(cause), retryInMs: wait }, 'detector worker died; starting a new one');
    this.replacing = (async () => {
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const old = this.current;
      void old.close().catch(() => undefined);
      try {
        if (this.closed) return;
        this.current = await this.create();
        this.restarts += 1;
        this.log.info({ restarts: this.restarts }, 'detector replaced');
      } catch (err) {
        this.log.error(
          { err: errorMessage(err) },
          'detector could not be replaced; will retry on the next frame',
        );
      } finally {
        this.failures += 1;
        this.nextAttemptAt = Date.now() + Math.min(this.maxBackoffMs, 500 * 2 ** Math.min(this.failures, 10));
        this.replacing = undefined;
      }
    })();
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.replacing;
    await this.current.close();
  }
}
