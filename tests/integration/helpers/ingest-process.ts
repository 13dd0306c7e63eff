/**
 * The ingest role as its own process (apps/ingest.ts), for fault tests with real processes: the test
 * environment every such test shares, and the process's last output for failure messages.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export interface IngestProcess {
  child: ChildProcess;
  /** The last `outputLimit` characters (default 20 000) of its stdout and stderr. */
  output(): string;
  /** SIGTERM, then SIGKILL after `graceMs` if it has not exited. */
  stop(graceMs?: number): Promise<void>;
}

export function startIngestProcess(env: {
  databaseUrl: string;
  redisUrl: string;
  queuePrefix: string;
  dataDir: string;
  /** Anything else (INGEST_*, DETECTOR_*, signing keys), over the fault-test defaults. */
  extra?: Record<string, string>;
  /** Characters of output kept (default 20 000). */
  outputLimit?: number;
}): IngestProcess {
  const outputLimit = env.outputLimit ?? 20_000;
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'apps', 'ingest.ts')], {
    cwd: ROOT,
    env: {
      ...process.env,
      NODE_ENV: 'test',
      DATABASE_URL: env.databaseUrl,
      DATABASE_POOL_MAX: '2',
      REDIS_URL: env.redisUrl,
      QUEUE_PREFIX: env.queuePrefix,
      DATA_DIR: env.dataDir,
      LOG_LEVEL: 'info',
      INGEST_FPS: '2',
      INGEST_STALL_TIMEOUT_MS: '4000',
      INGEST_BACKOFF_MIN_MS: '500',
      INGEST_BACKOFF_MAX_MS: '4000',
      INGEST_MAX_RESTARTS_PER_MINUTE: '60',
      INGEST_LEASE_MS: '6000',
      DETECTOR_PLATES: 'off',
      ...env.extra,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const keep = (d: Buffer) => {
    output = (output + d.toString()).slice(-outputLimit);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  return {
    child,
    output: () => output,
    stop: async (graceMs = 10_000) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, graceMs))]);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

/** A scene whose whole picture is a sidewalk for cars: the first car tracked for a few frames is flagged. */
export const WHOLE_FRAME_CAR_SIDEWALK = {
  sidewalks: [
    {
      id: 'SW-ALL',
      polygon: [
        { x: 0, y: 0 },
        { x: 1, y: 0 },
        { x: 1, y: 1 },
        { x: 0, y: 1 },
      ],
      classes: ['car'],
    },
  ],
  minScore: 0.3,
};
