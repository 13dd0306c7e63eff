import type { Logger } from 'pino';
import { errorMessage } from './errors.js';

type Closer = { name: string; close: () => Promise<void> | void };

/**
 * Closers are registered in start order and run in reverse on SIGINT/SIGTERM, with a hard timeout.
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
    this.log.info({ reason }, 'shutting down');
    const timer = setTimeout(() => {
      this.log.error({ timeoutMs: this.timeoutMs }, 'shutdown timed out; exiting');
      process.exit(1);
    }, this.timeoutMs);
    timer.unref();
    for (const closer of [...this.closers].reverse()) {
      try {
        await closer.close();
        this.log.debug({ closer: closer.name }, 'closed');
      } catch (err) {
        this.log.error({ closer: closer.name, err: errorMessage(err) }, 'closer failed');
      }
    }
    clearTimeout(timer);
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
