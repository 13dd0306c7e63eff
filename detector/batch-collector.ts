/**
 * Gathers items (frames) from many sources (cameras) into batches for one batched call, within a
 * latency budget:
 *
 * - a batch leaves when `maxBatch` items wait, or when the oldest waiting item has waited `maxWaitMs`
 *   (0: at once, whatever waits); one batch is in flight at a time, and items that arrive meanwhile
 *   wait for the next (they would wait anyway: the single worker is busy);
 * - fairness: a batch takes the sources in the order of their oldest waiting item, one item per source
 *   per pass, so a source with several items waiting never takes a second slot before every other
 *   waiting source has had one;
 * - back-pressure: at most `maxPerSource` items per source (a newer item replaces that source's oldest:
 *   newest wins, as upstream) and `maxQueue` in all (a new item beyond it is refused at once); both
 *   kinds of drop are counted, per source too, and the dropped item's promise rejects with an AppError
 *   whose details say `dropped: true` and why;
 * - results are split back: the batched call answers one result per item, in order, and each item's
 *   promise gets its own result (or its own error);
 * - errors are isolated to the batch: a call that throws, or answers the wrong number of results,
 *   rejects that batch's items only; the next batch runs as usual.
 *
 * No I/O: the batched call is a function, time comes from a clock that tests may replace.
 */
import { AppError, errorMessage } from '../core/errors.js';

export interface BatchCollectorOptions<T, R> {
  /** Most items per batch (≥ 1). */
  maxBatch: number;
  /** Longest an item waits for its batch to fill, ms (≥ 0). */
  maxWaitMs: number;
  /** Most items waiting in all (≥ maxBatch); beyond it a new item is refused. */
  maxQueue: number;
  /** Most items waiting per source (default 1: newest wins). */
  maxPerSource?: number;
  /** The batched call: one result per item, in order; an Error result fails that item alone. */
  run: (items: T[]) => Promise<(R | Error)[]>;
  /** Called after each batch (for metrics and logs). */
  onBatch?: (batch: BatchReport) => void;
  /** Clock, ms (default performance.now). */
  now?: () => number;
}

export interface BatchReport {
  size: number;
  /** Distinct sources in the batch. */
  sources: number;
  /** How long the batch's oldest item waited before the call started, ms. */
  waitedMs: number;
  /** Duration of the batched call, ms. */
  runMs: number;
  /** Why the batch left: it was full, or its oldest item reached maxWaitMs. */
  trigger: 'full' | 'deadline';
  failed: boolean;
}

export type DropReason = 'queue_full' | 'replaced' | 'closed';

export interface BatchCollectorStats {
  submitted: number;
  batches: number;
  /** Items that went through a batched call (answered or failed with their batch). */
  batchedItems: number;
  failedBatches: number;
  dropped: Record<DropReason, number>;
  /** Drops per source (queue_full and replaced). */
  droppedBySource: Map<string, number>;
  /** Batches per size: sizes[k] = batches of k items. */
  sizes: number[];
}

interface Entry<T, R> {
  source: string;
  item: T;
  at: number;
  resolve: (r: R) => void;
  reject: (e: Error) => void;
}

/** The error a dropped item's promise rejects with. */
export function dropError(reason: DropReason, message: string): AppError {
  return new AppError('dependency_down', message, { details: { dropped: true, reason } });
}

/** Whether an error means the frame was dropped by back-pressure (not a failure of the detector). */
export function isDrop(err: unknown): boolean {
  return err instanceof AppError && err.details?.['dropped'] === true;
}

export class BatchCollector<T, R> {
  /** Waiting items per source, oldest first; Map order is irrelevant (batches sort by age). */
  private readonly waiting = new Map<string, Entry<T, R>[]>();
  private count = 0;
  private inFlight = false;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly now: () => number;
  private readonly maxPerSource: number;
  readonly stats: BatchCollectorStats;

  constructor(private readonly opts: BatchCollectorOptions<T, R>) {
    const { maxBatch, maxWaitMs, maxQueue } = opts;
    this.maxPerSource = opts.maxPerSource ?? 1;
    if (!Number.isInteger(maxBatch) || maxBatch < 1)
      throw new AppError('config_invalid', `maxBatch must be a positive integer (got ${maxBatch})`);
    if (!(maxWaitMs >= 0)) throw new AppError('config_invalid', `maxWaitMs must be ≥ 0 (got ${maxWaitMs})`);
    if (!Number.isInteger(maxQueue) || maxQueue < maxBatch)
      throw new AppError(
        'config_invalid',
        `maxQueue (${maxQueue}) must be an integer ≥ maxBatch (${maxBatch})`,
      );
    if (!Number.isInteger(this.maxPerSource) || this.maxPerSource < 1)
      throw new AppError(
        'config_invalid',
        `maxPerSource must be a positive integer (got ${this.maxPerSource})`,
      );
    this.now = opts.now ?? (() => performance.now());
    this.stats = {
      submitted: 0,
      batches: 0,
      batchedItems: 0,
      failedBatches: 0,
      dropped: { queue_full: 0, replaced: 0, closed: 0 },
      droppedBySource: new Map(),
      sizes: new Array<number>(maxBatch + 1).fill(0),
    };
  }

  /** Items waiting for a batch (not counting the batch in flight). */
  get queued(): number {
    return this.count;
  }

  /** Queues `item` from `source`; resolves with its own result once its batch has run. */
  submit(source: string, item: T): Promise<R> {
    if (this.closed) return Promise.reject(dropError('closed', 'detector is closed'));
    this.stats.submitted += 1;
    const list = this.waiting.get(source) ?? [];
    let replaced: Entry<T, R> | undefined;
    if (list.length >= this.maxPerSource) {
      replaced = list.shift();
      this.count -= 1;
    } else if (this.count >= this.opts.maxQueue) {
      this.countDrop('queue_full', source);
      return Promise.reject(
        dropError('queue_full', `detector batch queue is full (${this.count} frames waiting)`),
      );
    }
    const promise = new Promise<R>((resolve, reject) => {
      list.push({ source, item, at: this.now(), resolve, reject });
    });
    this.waiting.set(source, list);
    this.count += 1;
    if (replaced) {
      this.countDrop('replaced', source);
      replaced.reject(dropError('replaced', `frame of ${source} replaced by a newer one before detection`));
    }
    this.schedule();
    return promise;
  }

  /** Refuses everything waiting (`closed`) and every later submit; the batch in flight still answers. */
  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    for (const list of this.waiting.values()) {
      for (const e of list) {
        this.stats.dropped.closed += 1;
        e.reject(dropError('closed', 'detector is closed'));
      }
    }
    this.waiting.clear();
    this.count = 0;
  }

  private countDrop(reason: 'queue_full' | 'replaced', source: string): void {
    this.stats.dropped[reason] += 1;
    this.stats.droppedBySource.set(source, (this.stats.droppedBySource.get(source) ?? 0) + 1);
  }

  private oldestAt(): number {
    let oldest = Infinity;
    for (const list of this.waiting.values()) if (list[0] && list[0].at < oldest) oldest = list[0].at;
    return oldest;
  }

  /** Starts a batch when one is due, else arms the timer for the oldest item's deadline. */
  private schedule(): void {
    if (this.inFlight || this.closed || this.count === 0) return;
    const deadline = this.oldestAt() + this.opts.maxWaitMs;
    const now = this.now();
    if (this.count >= this.opts.maxBatch || now >= deadline) {
      clearTimeout(this.timer);
      this.timer = undefined;
      void this.runBatch(this.count >= this.opts.maxBatch ? 'full' : 'deadline');
      return;
    }
    if (this.timer) return;
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        this.schedule();
      },
      Math.max(0, Math.ceil(deadline - now)),
    );
  }

  /** The next batch: sources by their oldest item, one item per source per pass. */
  private take(): Entry<T, R>[] {
    const batch: Entry<T, R>[] = [];
    while (batch.length < this.opts.maxBatch && this.count > 0) {
      const sources = [...this.waiting.entries()]
        .filter(([, list]) => list.length > 0)
        .sort(([, a], [, b]) => a[0]!.at - b[0]!.at);
      for (const [source, list] of sources) {
        if (batch.length >= this.opts.maxBatch) break;
        batch.push(list.shift()!);
        this.count -= 1;
        if (list.length === 0) this.waiting.delete(source);
      }
    }
    return batch;
  }

  private async runBatch(trigger: BatchReport['trigger']): Promise<void> {
    this.inFlight = true;
    const batch = this.take();
    const started = this.now();
    const waitedMs = started - Math.min(...batch.map((e) => e.at));
    let failed = false;
    try {
      let results: (R | Error)[];
      try {
        results = await this.opts.run(batch.map((e) => e.item));
        if (!Array.isArray(results) || results.length !== batch.length) {
          throw new AppError(
            'internal',
            `batched call answered ${Array.isArray(results) ? results.length : 'no'} results for ${batch.length} frames`,
          );
        }
      } catch (err) {
        failed = true;
        const error = err instanceof Error ? err : new AppError('internal', errorMessage(err));
        for (const e of batch) e.reject(error);
        return;
      }
      batch.forEach((e, k) => {
        const r = results[k]!;
        if (r instanceof Error) e.reject(r);
        else e.resolve(r);
      });
    } finally {
      this.stats.batches += 1;
      this.stats.batchedItems += batch.length;
      this.stats.sizes[batch.length] = (this.stats.sizes[batch.length] ?? 0) + 1;
      if (failed) this.stats.failedBatches += 1;
      this.opts.onBatch?.({
        size: batch.length,
        sources: new Set(batch.map((e) => e.source)).size,
        waitedMs,
        runMs: this.now() - started,
        trigger,
        failed,
      });
      this.inFlight = false;
      this.schedule();
    }
  }
}
