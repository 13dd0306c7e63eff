import type { Logger } from 'pino';
import { errorMessage } from '../core/errors.js';

/**
 * Holds job payloads that could not be enqueued (Redis down or restarting) and retries them in order, so a
 * flagged violation whose evidence is already stored is not lost to a transient outage. Bounded: past the
 * capacity the oldest entry is dropped and counted loudly. Enqueueing is idempotent (deterministic job ids
 * and the database unique key), so a retry that had in fact succeeded does no harm.
 */
export class Outbox<T> {
  private readonly items: { item: T; onSent: ((item: T) => unknown) | undefined }[] = [];
  private timer: NodeJS.Timeout | undefined;
  private flushing = false;
  dropped = 0;

  constructor(
    private readonly send: (item: T) => Promise<unknown>,
    private readonly log: Logger,
    private readonly capacity = 10_000,
    private readonly retryMs = 1000,
  ) {}

  get size(): number {
    return this.items.length;
  }

  /**
   * Sends now; on failure keeps the item for retry. Never throws. `onSent` runs once the item has been
   * sent (now or on a retry): the evidence journal forgets the act only then.
   */
  async submit(item: T, onSent?: (item: T) => unknown): Promise<boolean> {
    if (this.items.length === 0) {
      try {
        await this.send(item);
        await this.sent(item, onSent);
        return true;
      } catch (err) {
        this.log.warn({ err: errorMessage(err) }, 'enqueue failed; kept in the outbox for retry');
      }
    }
    this.items.push({ item, onSent });
    if (this.items.length > this.capacity) {
      this.items.shift();
      this.dropped += 1;
      this.log.error({ capacity: this.capacity, dropped: this.dropped }, 'outbox full: oldest entry dropped');
    }
    this.schedule();
    return false;
  }

  /** Tries to send everything pending, in order; stops at the first failure. */
  async flush(): Promise<void> {
    if (this.flushing) return;
    this.flushing = true;
    try {
      while (this.items.length > 0) {
        const { item, onSent } = this.items[0]!;
        await this.send(item);
        this.items.shift();
        await this.sent(item, onSent);
      }
    } catch (err) {
      this.log.debug({ err: errorMessage(err), pending: this.items.length }, 'outbox retry failed');
    } finally {
      this.flushing = false;
    }
  }

  private async sent(item: T, onSent: ((item: T) => unknown) | undefined): Promise<void> {
    try {
      await onSent?.(item);
    } catch (err) {
      this.log.warn({ err: errorMessage(err) }, 'after-send step failed (the item was sent)');
    }
  }

  private schedule(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      void this.flush().then(() => {
        if (this.items.length === 0 && this.timer) {
          clearInterval(this.timer);
          this.timer = undefined;
        }
      });
    }, this.retryMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
