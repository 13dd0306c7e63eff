import type { Logger } from 'pino';
import { errorMessage } from './errors.js';

type Closer = { name: string; close: () => Promise<void> | void };

/**
 * Closers are registered in start order and run in reverse on SIGINT/SIGTERM, with a hard timeout. Each
 * closer's duration is logged at info ('closed'), and all of them in the final 'shut down' line (or in
 * the 'shutdown timed out' line, with the closer that was still running).
 */
export class Lifecycle {
  private readonly closers: Closer[] = [];
  private stopping: Promise<void> | undefined;

  constructor(
    private readonly log: Logger,
    private readonly timeoutMs = 15_000,
  ) {}

  onClose(name: string, close: () => Promise<void> | void): void {
    this.closers.push({ name, close });
  }

  get isStopping(): boolean {
    return this.stopping !== undefined;
  }

  stop(reason: string): Promise<void> {
    this.stopping ??= this.runClosers(reason);
    return this.stopping;
  }

  private async runClosers(reason: string): Promise<void> {
    const startedAt = performance.now();
    this.log.info({ reason, timeoutMs: this.timeoutMs }, 'shutting down');
    // Each closer's duration (ms), in the order they ran: the log says where a slow shutdown went.
    const phases: Record<string, number> = {};
    let current: string | undefined;
    const timer = setTimeout(() => {
      this.log.error({ timeoutMs: this.timeoutMs, closer: current, phases }, 'shutdown timed out; exiting');
      process.exit(1);
    }, this.timeoutMs);
    timer.unref();
    for (const closer of [...this.closers].reverse()) {
      const t0 = performance.now();
      current = closer.name;
      try {
        await closer.close();
      } catch (err) {
        this.log.error({ closer: closer.name, err: errorMessage(err) }, 'closer failed');
      }
      const ms = Math.round(performance.now() - t0);
      phases[closer.name] = ms;
      this.log.info({ closer: closer.name, ms }, 'closed');
    }
    current = undefined;
    clearTimeout(timer);
    this.log.info({ reason, ms: Math.round(performance.now() - startedAt), phases }, 'shut down');
  }

  /** Stops on SIGINT/SIGTERM, then exits. */
  installSignalHandlers(): void {
    const handler = (signal: NodeJS.Signals) => {
      void this.stop(signal).then(() => process.exit(0));
    };
    process.once('SIGINT', handler);
    process.once('SIGTERM', handler);
  }
}
