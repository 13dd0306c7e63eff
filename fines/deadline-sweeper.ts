import type { Logger } from 'pino';
import { errorMessage } from '../core/errors.js';
import type { DeadlineSweepResult } from './case.service.js';

/** How often the worker runs the deadline sweep: the deadlines are days long, minutes are plenty. */
export const DEADLINE_SWEEP_INTERVAL_MS = 10 * 60_000;

/**
 * Runs the fine-case deadline sweep (escalation, overdue payments, the limitation) once soon after start
 * and then every `intervalMs`, never two at once in this process. Several workers may sweep at the same
 * time: every transition is a compare-and-set, so a case moves once. `stop()` waits for a running sweep.
 */
export function startDeadlineSweeper(opts: {
  run: () => Promise<DeadlineSweepResult>;
  log: Logger;
  intervalMs?: number;
  firstDelayMs?: number;
}): { stop(): Promise<void> } {
  const intervalMs = opts.intervalMs ?? DEADLINE_SWEEP_INTERVAL_MS;
  let running: Promise<void> | undefined;
  let stopped = false;
  const tick = () => {
    if (stopped || running) return;
    const started = Date.now();
    running = opts
      .run()
      .then((r) => {
        const changed = r.escalated + r.overdue + r.expired;
        opts.log[changed > 0 ? 'info' : 'debug']({ ...r, ms: Date.now() - started }, 'case deadline sweep');
      })
      .catch((err: unknown) => opts.log.error({ err: errorMessage(err) }, 'case deadline sweep failed'))
      .finally(() => {
        running = undefined;
      });
  };
  const first = setTimeout(tick, opts.firstDelayMs ?? 5_000);
  const timer = setInterval(tick, intervalMs);
  first.unref();
  timer.unref();
  return {
    async stop() {
      stopped = true;
      clearTimeout(first);
      clearInterval(timer);
      await running;
    },
  };
}
