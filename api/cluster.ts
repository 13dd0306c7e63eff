import cluster, { type Worker } from 'node:cluster';
import type { Logger } from 'pino';
import type { Lifecycle } from '../core/lifecycle.js';

/**
 * API_PROCESSES > 1: this process forks that many API processes (node:cluster) that share one listening
 * port, and supervises them; it serves nothing itself and opens no database or Redis connection. The API
 * holds no state of its own between requests (sessions, rate limits, spent challenges and review leases
 * live in PostgreSQL and Redis, and PUBLIC_LOOKUP_SECRET is read by every process alike), so any process
 * can answer any request. The primary hands each new connection to the next process in turn (node's
 * round-robin scheduling), so a kept-alive connection stays with one process.
 *
 * A process that dies after it has listened is replaced after a second. One that fails before it ever
 * listened (bad configuration, a database that refuses at boot) stops the whole group, and this process
 * exits 1, so that the orchestrator sees the failure instead of a restart loop. SIGTERM and SIGINT are
 * passed to every process, and this one exits when they all have.
 */
export function superviseApiProcesses(opts: {
  processes: number;
  log: Logger;
  lifecycle: Lifecycle;
  respawnDelayMs?: number;
}): void {
  const { log, lifecycle } = opts;
  const respawnDelayMs = opts.respawnDelayMs ?? 1_000;
  /** Each live process, and whether it has listened yet. */
  const live = new Map<Worker, { listened: boolean }>();

  const fork = () => {
    const worker = cluster.fork();
    const state = { listened: false };
    live.set(worker, state);
    worker.once('listening', () => {
      state.listened = true;
    });
    worker.on('exit', (code, signal) => {
      live.delete(worker);
      if (lifecycle.isStopping) return;
      if (!state.listened) {
        log.error(
          { workerPid: worker.process.pid, code, signal },
          'an API process ended before it listened; stopping the group',
        );
        process.exitCode = 1;
        void lifecycle.stop('api process failed at start').then(() => process.exit(1));
        return;
      }
      log.warn({ workerPid: worker.process.pid, code, signal }, 'an API process exited; starting another');
      setTimeout(() => {
        if (!lifecycle.isStopping) fork();
      }, respawnDelayMs).unref();
    });
  };

  lifecycle.onClose('api processes', async () => {
    const alive = [...live.keys()].filter((w) => !w.isDead());
    await Promise.all(
      alive.map(
        (w) =>
          new Promise<void>((resolve) => {
            w.once('exit', () => resolve());
            w.process.kill('SIGTERM');
          }),
      ),
    );
  });

  for (let i = 0; i < opts.processes; i++) fork();
  log.info({ processes: opts.processes }, 'api supervisor started');
}
