import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { PGlite } from '@electric-sql/pglite';
import { AppError, errorMessage } from '../core/errors.js';
import type { Logger } from '../core/logger.js';

/**
 * The embedded PostgreSQL: PGlite (PostgreSQL 18 compiled to WebAssembly, in this process) served on a
 * loopback TCP port by @electric-sql/pglite-socket, so that the application talks to it through the
 * same pg + Kysely path as to a real server, and other processes (API, worker) can share it by URL.
 *
 * What PGlite is and is not (see FACTS.md):
 * - one backend session: every socket connection shares it, so queries from all clients run one at a
 *   time, an open transaction holds every other connection until it ends, and session state (SET,
 *   prepared statements, temporary tables, advisory session locks) is shared across clients;
 * - the socket server refuses (resets) connections beyond `maxConnections` rather than queueing them:
 *   give each process a pool of one and set maxConnections to the number of processes plus one;
 * - no LISTEN/NOTIFY across connections;
 * - nothing stops two processes from opening the same data directory, which would corrupt it: this
 *   module takes a lock file beside the directory (`<dataDir>.lock`, holding the owner's pid).
 */

export interface EmbeddedPostgresOptions {
  /** Directory of the PGlite cluster (created and initialised when empty). */
  dataDir: string;
  /** Loopback port to serve on; 0 picks a free one (see the returned `port`). */
  port: number;
  log: Logger;
  /** Address to bind; loopback unless you mean otherwise (no authentication is done). */
  host?: string;
  /**
   * Concurrent client connections accepted (default 1). Beyond it connections are reset, not queued:
   * use the sum of the clients' pool sizes, plus one so that a connection being replaced is not refused.
   */
  maxConnections?: number;
}

export interface EmbeddedPostgres {
  /** postgres:// URL of the socket server (no credentials). */
  url: string;
  port: number;
  dataDir: string;
  stop(): Promise<void>;
}

export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const host = options.host ?? '127.0.0.1';
  const maxConnections = options.maxConnections ?? 1;
  const dataDir = path.resolve(options.dataDir);
  const log = options.log.child({ module: 'embedded-postgres' });
  if (!Number.isInteger(options.port) || options.port < 0 || options.port > 65535) {
    throw new AppError('config_invalid', `embedded database port must be 0..65535, not ${options.port}`, {
      permanent: true,
    });
  }

  fs.mkdirSync(dataDir, { recursive: true });
  const lock = acquireDataDirLock(dataDir);
  let pglite: PGlite | undefined;
  try {
    // Fail on a taken port before paying for PGlite's start (seconds, hundreds of MB).
    if (options.port !== 0) await assertPortFree(host, options.port);

    const started = Date.now();
    const { PGlite } = await import('@electric-sql/pglite');
    pglite = await PGlite.create({ dataDir });
    const { PGLiteSocketServer } = await import('@electric-sql/pglite-socket');
    const server = new PGLiteSocketServer({ db: pglite, host, port: options.port, maxConnections });
    server.addEventListener('error', (event) => {
      log.warn({ err: errorMessage((event as CustomEvent).detail) }, 'embedded database socket error');
    });
    try {
      await server.start();
    } catch (err) {
      throw portError(host, options.port, err);
    }
    const port = Number(server.getServerConn().split(':').at(-1));
    const url = `postgres://postgres@${host.includes(':') ? `[${host}]` : host}:${port}/postgres`;
    log.info(
      { dataDir, host, port, maxConnections, startMs: Date.now() - started },
      'embedded database started',
    );

    const db = pglite;
    let stopping: Promise<void> | undefined;
    return {
      url,
      port,
      dataDir,
      stop: () => {
        stopping ??= (async () => {
          try {
            await server.stop();
            await db.close();
            log.info({ dataDir }, 'embedded database stopped');
          } finally {
            lock.release();
          }
        })();
        return stopping;
      },
    };
  } catch (err) {
    if (pglite) {
      await pglite.close().catch((closeErr: unknown) => {
        log.warn({ err: errorMessage(closeErr) }, 'closing PGlite after a failed start failed');
      });
    }
    lock.release();
    throw err;
  }
}

function portError(host: string, port: number, err: unknown): AppError {
  if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
    return new AppError(
      'config_invalid',
      `EMBEDDED_DB_PORT ${port} is already in use on ${host} (another embedded database or server holds it): ` +
        'choose a free EMBEDDED_DB_PORT, stop the other process, or set DATABASE_URL to connect to a server',
      { permanent: true, cause: err, details: { host, port } },
    );
  }
  return new AppError(
    'dependency_down',
    `embedded database cannot listen on ${host}:${port}: ${errorMessage(err)}`,
    {
      cause: err,
      details: { host, port },
    },
  );
}

function assertPortFree(host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', (err) => reject(portError(host, port, err)));
    probe.listen({ host, port, exclusive: true }, () => probe.close(() => resolve()));
  });
}

interface DataDirLock {
  release(): void;
}

/**
 * An exclusive lock on a PGlite data directory: a file `<dataDir>.lock` created with O_EXCL and holding
 * the owner's pid. A lock whose process is gone (crash, kill -9) is taken over.
 */
export function acquireDataDirLock(dataDir: string): DataDirLock {
  const lockPath = `${dataDir}.lock`;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = fs.openSync(lockPath, 'wx', 0o600);
      fs.writeSync(fd, JSON.stringify({ pid: process.pid, startedAt: new Date().toISOString() }));
      fs.closeSync(fd);
      let released = false;
      return {
        release: () => {
          if (released) return;
          released = true;
          try {
            if (readLockPid(lockPath) === process.pid) fs.unlinkSync(lockPath);
          } catch (err) {
            if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
          }
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const owner = readLockPid(lockPath);
    if (owner !== undefined && processAlive(owner)) {
      throw new AppError(
        'conflict',
        `the embedded database in ${dataDir} is already open in process ${owner}${owner === process.pid ? ' (this one)' : ''}: ` +
          'connect to that server with DATABASE_URL instead of opening the directory twice ' +
          `(if process ${owner} is not one of ours, its pid was reused: delete ${lockPath})`,
        { permanent: true, details: { lockPath, pid: owner } },
      );
    }
    // Stale: its owner is gone (or the file is unreadable garbage from a crash mid-write).
    try {
      fs.unlinkSync(lockPath);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  throw new AppError('conflict', `could not take the lock ${lockPath}: other processes keep taking it`, {
    details: { lockPath },
  });
}

function readLockPid(lockPath: string): number | undefined {
  try {
    const parsed = JSON.parse(fs.readFileSync(lockPath, 'utf8')) as { pid?: unknown };
    return typeof parsed.pid === 'number' && Number.isInteger(parsed.pid) && parsed.pid > 0
      ? parsed.pid
      : undefined;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || err instanceof SyntaxError) return undefined;
    throw err;
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
