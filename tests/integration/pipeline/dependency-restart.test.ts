/**
 * Redis and PostgreSQL restarted under load, with real servers and a real worker process: a private
 * redis-server (AOF, as in docker/compose.yml) and a private PostgreSQL cluster (initdb + pg_ctl), so the
 * restarts disturb nothing else on the machine. Violations keep flowing through the producer's outbox
 * while Redis restarts and while PostgreSQL restarts; the worker recovers with no manual action, and every
 * violation ends up recorded exactly once.
 *
 * Needs redis-server and PostgreSQL's server binaries (Debian: redis-server, postgresql); as root, the
 * cluster runs as the `postgres` user. Skipped, saying why, where they are absent.
 */
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Queue } from 'bullmq';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../../core/logger.js';
import { openDatabaseByUrl, type Database } from '../../../db/database.js';
import { migrateToLatest } from '../../../db/migrator.js';
import { upsertCameraByCode } from '../../../db/repositories/camera.repository.js';
import { addSceneConfigVersion } from '../../../db/repositories/scene-config.repository.js';
import { Outbox } from '../../../pipeline/outbox.js';
import type { RecordViolationPayload } from '../../../pipeline/payloads.js';
import { Producer } from '../../../pipeline/producer.js';
import { QueueName } from '../../../pipeline/queues.js';
import { createRedis } from '../../../pipeline/redis.js';
import { EvidenceStore } from '../../../violations/evidence-store.js';
import { storedViolationPayload } from '../helpers/violation-payload.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const log = createLogger({ level: 'silent' });
const JOBS = 240;

function pgBin(): string | undefined {
  const base = '/usr/lib/postgresql';
  if (!existsSync(base)) return undefined;
  const versions = readdirSync(base).sort((a, b) => Number(b) - Number(a));
  for (const v of versions)
    if (existsSync(path.join(base, v, 'bin', 'initdb'))) return path.join(base, v, 'bin');
  return undefined;
}
const PG_BIN = pgBin();
const IS_ROOT = process.getuid?.() === 0;
const hasRedis = spawnSync('redis-server', ['--version']).status === 0;
const hasPostgresUser = !IS_ROOT || spawnSync('id', ['postgres']).status === 0;
const missing = !hasRedis
  ? 'redis-server is not installed'
  : !PG_BIN
    ? 'PostgreSQL server binaries (initdb, pg_ctl) are not installed'
    : !hasPostgresUser
      ? 'running as root without a postgres user to run the private cluster'
      : undefined;
if (missing) console.warn(`[dependency-restart] skipped: ${missing}`);

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** Runs a PostgreSQL tool as the postgres user when we are root (initdb refuses root). */
function pg(tool: string, args: string[]) {
  const bin = path.join(PG_BIN!, tool);
  return IS_ROOT ? run('runuser', ['-u', 'postgres', '--', bin, ...args]) : run(bin, args);
}

class PrivateRedis {
  private child: ChildProcess | undefined;
  constructor(
    readonly port: number,
    readonly dir: string,
  ) {}
  async start(): Promise<void> {
    this.child = spawn(
      'redis-server',
      [
        '--port',
        String(this.port),
        '--bind',
        '127.0.0.1',
        '--dir',
        this.dir,
        '--appendonly',
        'yes',
        '--appendfsync',
        'always',
        '--save',
        '',
        '--maxmemory-policy',
        'noeviction',
      ],
      { stdio: 'ignore' },
    );
    const client = createRedis(`redis://127.0.0.1:${this.port}`, 'producer', { retryStrategy: () => 100 });
    client.on('error', () => undefined); // refused until the server listens: expected here
    try {
      for (let i = 0; i < 100; i++) {
        if (
          await client.ping().then(
            () => true,
            () => false,
          )
        )
          return;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error('private redis-server did not start');
    } finally {
      client.disconnect();
    }
  }
  /** A clean shutdown (the AOF is complete), as a restart by an operator or an orchestrator does. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  }
}

class PrivatePostgres {
  readonly data: string;
  constructor(
    readonly port: number,
    readonly dir: string,
  ) {
    this.data = path.join(dir, 'data');
  }
  get url(): string {
    return `postgres://root@127.0.0.1:${this.port}/pn`;
  }
  async init(): Promise<void> {
    await fs.chmod(this.dir, 0o755);
    if (IS_ROOT) await run('chown', ['postgres:postgres', this.dir]);
    await pg('initdb', ['-D', this.data, '-U', 'root', '--auth=trust', '--no-locale', '-E', 'UTF8']);
    await this.start();
    await pg('createdb', ['-h', '127.0.0.1', '-p', String(this.port), '-U', 'root', 'pn']);
  }
  async start(): Promise<void> {
    await pg('pg_ctl', [
      '-D',
      this.data,
      '-l',
      path.join(this.dir, 'log'),
      '-o',
      `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1 -c fsync=off`,
      '-w',
      'start',
    ]);
  }
  async stop(): Promise<void> {
    await pg('pg_ctl', ['-D', this.data, '-m', 'fast', '-w', 'stop']).catch(() => undefined);
  }
}

describe.skipIf(missing)('Redis and PostgreSQL restarting under load', () => {
  let dir: string;
  let redisServer: PrivateRedis;
  let postgres: PrivatePostgres;
  let database: Database;
  let store: EvidenceStore;
  let cameraId: number;
  let worker: ChildProcess | undefined;
  let workerLog = '';
  const prefix = `pn-test-restart-${process.pid}`;

  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pn-restart-'));
    await fs.chmod(dir, 0o755); // the cluster's user must reach its directory
    await fs.mkdir(path.join(dir, 'redis'));
    await fs.mkdir(path.join(dir, 'pg'));
    redisServer = new PrivateRedis(await freePort(), path.join(dir, 'redis'));
    await redisServer.start();
    postgres = new PrivatePostgres(await freePort(), path.join(dir, 'pg'));
    await postgres.init();
    database = openDatabaseByUrl(postgres.url, 2, { applicationName: 'pn-test-restart' });
    await migrateToLatest(database.db, log);
    store = new EvidenceStore(path.join(dir, 'evidence'));
    cameraId = (
      await upsertCameraByCode(database.db, { code: 'TN-RS', name: 'Restart', rtspUrl: 'rtsp://x/y' })
    ).id;
    await addSceneConfigVersion(database.db, { cameraId, config: {}, createdBy: 'test' });
  }, 60_000);

  afterAll(async () => {
    if (worker && worker.exitCode === null) worker.kill('SIGKILL');
    await database?.close().catch(() => undefined);
    await postgres?.stop();
    await redisServer?.stop();
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  const payload = (n: number) => storedViolationPayload(store, { cameraId, trackKey: `restart-${n}`, n });

  it('loses and doubles nothing while each restarts, and the worker recovers by itself', async () => {
    const redisUrl = `redis://127.0.0.1:${redisServer.port}`;
    worker = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'apps', 'worker.ts')], {
      cwd: ROOT,
      env: {
        ...process.env,
        NODE_ENV: 'test',
        DATABASE_URL: postgres.url,
        DATABASE_POOL_MAX: '4',
        REDIS_URL: redisUrl,
        QUEUE_PREFIX: prefix,
        EVIDENCE_DIR: store.root,
        WORKER_CONCURRENCY: '4',
        LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const keep = (d: Buffer) => {
      workerLog = (workerLog + d.toString()).slice(-30_000);
    };
    worker.stdout!.on('data', keep);
    worker.stderr!.on('data', keep);

    // The ingest side, as apps/ingest.ts wires it: the producer behind an outbox.
    const producerRedis = createRedis(redisUrl, 'producer');
    const producer = new Producer(producerRedis, prefix);
    const outbox = new Outbox<RecordViolationPayload>((p) => producer.recordViolation(p), log, 10_000, 250);
    const t0 = Date.now();
    const events: string[] = [];
    const load = (async () => {
      for (let n = 0; n < JOBS; n++) {
        await outbox.submit(await payload(n));
        await new Promise((r) => setTimeout(r, 25));
      }
    })();
    const faults = (async () => {
      await new Promise((r) => setTimeout(r, 1500));
      events.push(`redis down at ${Date.now() - t0} ms`);
      await redisServer.stop();
      await new Promise((r) => setTimeout(r, 2000));
      await redisServer.start();
      events.push(`redis up at ${Date.now() - t0} ms`);
      await new Promise((r) => setTimeout(r, 1500));
      events.push(`postgres down at ${Date.now() - t0} ms`);
      await postgres.stop();
      await new Promise((r) => setTimeout(r, 2000));
      await postgres.start();
      events.push(`postgres up at ${Date.now() - t0} ms`);
    })();
    await Promise.all([load, faults]);
    // The load overlapped both outages: the outbox had to hold some of it.
    expect(Date.now() - t0).toBeGreaterThan(6000);

    const recorded = async () => {
      const r = await sql<{ n: number; keys: number }>`
        select count(*)::int as n, count(distinct track_key)::int as keys
        from violation where camera_id = ${cameraId}`.execute(database.db);
      return r.rows[0]!;
    };
    await expect
      .poll(async () => (await recorded().catch(() => ({ n: -1 }))).n, { timeout: 120_000, interval: 500 })
      .toBe(JOBS)
      .catch((err: unknown) => {
        throw new Error(
          `${String(err)}\n${events.join('\n')}\n--- worker log ---\n${workerLog.slice(-8000)}`,
        );
      });
    expect(await recorded()).toEqual({ n: JOBS, keys: JOBS });
    expect(outbox.size).toBe(0);
    expect(outbox.dropped).toBe(0);

    const queue = new Queue(QueueName.Violations, { connection: producerRedis, prefix });
    const counts = await queue.getJobCounts('failed', 'waiting', 'active', 'delayed');
    await queue.close();
    expect(counts).toEqual({ failed: 0, waiting: 0, active: 0, delayed: 0 });
    const audits = await sql<{ n: number }>`
      select count(*)::int as n from audit_log where action = 'violation.flagged'`.execute(database.db);
    expect(audits.rows[0]!.n).toBe(JOBS);
    // Still the same worker process: it recovered from both outages on its own.
    expect(worker.exitCode).toBeNull();

    outbox.stop();
    await producer.close();
    producerRedis.disconnect();
    const exited = new Promise((r) => worker!.once('exit', r));
    worker.kill('SIGTERM');
    await exited;
  }, 180_000);
});
