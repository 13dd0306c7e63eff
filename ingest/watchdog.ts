/** Fires `onStall` when `arm()` has not been called again within `timeoutMs`. */
export class Watchdog {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly timeoutMs: number,
    private readonly onStall: () => void,
  ) {}

  /** Starts or restarts the countdown (call on every sign of life). */
  arm(): void {
    if (this.timer) {
      this.timer.refresh();
      return;
    }
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.onStall();
    }, this.timeoutMs);
    // A watchdog alone must not keep the process alive.
    this.timer.unref();
  }

  disarm(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  get armed(): boolean {
    return this.timer !== undefined;
  }
}
