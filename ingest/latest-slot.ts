/**
 * A one-place mailbox between a producer that must never wait (frames from ffmpeg) and one consumer
 * that may be slow: the newest value wins, a value nobody took is replaced (and counted), so memory is
 * bounded by one pending value whatever the consumer does.
 */
export class LatestSlot<T> {
  private pending: { value: T } | undefined;
  private waiter: (() => void) | undefined;
  private closed: { error: unknown } | undefined;
  private replacedCount = 0;

  /** Values replaced before anyone took them. */
  get replaced(): number {
    return this.replacedCount;
  }

  get isClosed(): boolean {
    return this.closed !== undefined;
  }

  /** Stores `value`; returns the value it replaced, if one was waiting. Ignored once closed. */
  put(value: T): T | undefined {
    if (this.closed) return undefined;
    const previous = this.pending;
    this.pending = { value };
    if (previous) this.replacedCount++;
    this.wake();
    return previous?.value;
  }

  /**
   * Ends the slot. A value still pending is delivered first; then `take` throws `error` when one is
   * given, else reports done. Only the first close counts.
   */
  close(error?: unknown): void {
    if (this.closed) return;
    this.closed = { error };
    this.wake();
  }

  /** Drops a pending value (it is not counted as replaced). */
  clear(): void {
    this.pending = undefined;
  }

  /** The next value: the pending one at once, else the next put. One consumer at a time. */
  async take(): Promise<IteratorResult<T, undefined>> {
    for (;;) {
      if (this.pending) {
        const { value } = this.pending;
        this.pending = undefined;
        return { done: false, value };
      }
      if (this.closed) {
        if (this.closed.error !== undefined) throw this.closed.error;
        return { done: true, value: undefined };
      }
      if (this.waiter) throw new Error('LatestSlot has one consumer; take() is already waiting');
      await new Promise<void>((resolve) => {
        this.waiter = resolve;
      });
    }
  }

  private wake(): void {
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.();
  }
}
