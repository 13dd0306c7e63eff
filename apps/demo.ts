/**
 * `npm run demo`: the whole system on one machine. Starts the embedded PostgreSQL (unless DATABASE_URL is
 * set), migrates and seeds demo cameras, serves simulated cameras over RTSP, then runs the worker, ingest
 * and API roles as child processes, prints the URLs and a status line every 10 s, and stops everything on
 * Ctrl-C.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { errorMessage } from '../core/errors.js';
import { openDatabaseByUrl, startEmbeddedPostgres, embeddedDataDir } from '../db/database.js';
import { migrateToLatest } from '../db/migrator.js';
import { listCameras, setCameraEnabled } from '../db/repositories/camera.repository.js';
import { ensureSimClip, startSimulatedFleet } from '../ingest/sim/simulated-fleet.js';
import { createRedis, waitForRedis } from '../pipeline/redis.js';
import { boot, run } from './boot.js';
import { seedDemoCameras, seedDemoRegistry, seedDemoUsers } from './demo-seed.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const step = (n: number, total: number, text: string) =>
  process.stdout.write(`\x1b[1m[${n}/${total}]\x1b[0m ${text}\n`);

run('demo', async () => {
  const { config, log, lifecycle } = boot('demo', { quietByDefault: true });
  const TOTAL = 6;
  const started = Date.now();

  step(
    1,
    TOTAL,
    config.embeddedDb
      ? 'starting the embedded PostgreSQL (PGlite) under ' + embeddedDataDir(config)
      : 'using DATABASE_URL',
  );
  let databaseUrl = config.DATABASE_URL;
  if (config.embeddedDb) {
    const embedded = await startEmbeddedPostgres({
      dataDir: embeddedDataDir(config),
      port: config.EMBEDDED_DB_PORT,
      log,
      // demo seeding + worker + ingest + api, one connection each, and one spare for psql.
      maxConnections: 5,
    });
    lifecycle.onClose('embedded postgres', () => embedded.stop());
    databaseUrl = embedded.url;
  }

  step(2, TOTAL, 'checking Redis at ' + config.REDIS_URL);
  const redis = createRedis(config.REDIS_URL, 'producer');
  redis.on('error', () => undefined);
  try {
    await waitForRedis(redis, 5000);
  } catch {
    throw new Error(
      `Redis does not answer at ${config.REDIS_URL}. Start one: redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no (or run npm run demo as root to let it install and start Redis)`,
    );
  } finally {
    redis.disconnect();
  }

  step(3, TOTAL, `preparing the simulated camera clip and ${config.SIM_CAMERAS} RTSP cameras`);
  const clip =
    config.SIM_CLIP ??
    (await ensureSimClip({
      dataDir: config.dataDir,
      sharedDir: path.resolve(config.SHARED_DIR),
      log,
      ffmpegPath: config.FFMPEG_PATH,
    }));
  const fleet = await startSimulatedFleet({
    count: config.SIM_CAMERAS,
    port: config.SIM_RTSP_PORT,
    clip,
    log,
  });
  lifecycle.onClose('simulated cameras', () => fleet.stop());

  step(4, TOTAL, 'migrating the database and registering the cameras');
  const database = openDatabaseByUrl(databaseUrl!, 1, { log });
  let demoUsers: { username: string; password: string }[] = [];
  try {
    await migrateToLatest(database.db, log);
    const seeded = await seedDemoCameras(database, fleet.urls);
    demoUsers = await seedDemoUsers(database);
    await seedDemoRegistry(database);
    const keep = new Set(seeded.map((c) => c.code));
    for (const camera of await listCameras(database.db)) {
      if (/^TN-\d{3}$/.test(camera.code) && !keep.has(camera.code) && camera.enabled) {
        await setCameraEnabled(database.db, camera.id, false);
      }
    }
  } finally {
    await database.close();
  }

  const apiTokens =
    config.API_TOKENS ??
    ['reviewer', 'operator', 'supervisor']
      .map((role) => `${role}:demo-${role}-${randomBytes(12).toString('hex')}`)
      .join(',');
  // Evidence is signed; the demo makes its own Ed25519 key once (production brings one from a secret store).
  let signingKeyPath = config.EVIDENCE_SIGNING_KEY_PATH;
  if (!signingKeyPath && !config.EVIDENCE_SIGNING_KEY) {
    signingKeyPath = path.join(config.dataDir, 'keys', 'evidence-signing.pem');
    if (!existsSync(signingKeyPath)) {
      await mkdir(path.dirname(signingKeyPath), { recursive: true, mode: 0o700 });
      const { privateKey } = generateKeyPairSync('ed25519');
      await writeFile(signingKeyPath, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    }
  }
  const childEnv: NodeJS.ProcessEnv = {
    ...process.env,
    // One API process here; a fresh secret each run signs its lookup challenges and media links.
    PUBLIC_LOOKUP_SECRET: config.PUBLIC_LOOKUP_SECRET ?? randomBytes(32).toString('hex'),
    ...(signingKeyPath ? { EVIDENCE_SIGNING_KEY_PATH: signingKeyPath } : {}),
    DATABASE_URL: databaseUrl,
    DATABASE_POOL_MAX: '1',
    API_TOKENS: apiTokens,
  };

  const logDir = path.join(config.dataDir, 'logs');
  await mkdir(logDir, { recursive: true });
  step(5, TOTAL, `starting the worker, ingest and API processes (logs in ${logDir})`);
  const children: { name: string; proc: ChildProcess }[] = [];
  for (const name of ['worker', 'ingest', 'api']) {
    const proc = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'apps', `${name}.ts`)], {
      cwd: ROOT,
      env: childEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    // Full logs go to DATA_DIR/logs/<role>.log; the console shows warnings and errors in one line each.
    const logFile = createWriteStream(path.join(logDir, `${name}.log`), { flags: 'a' });
    lifecycle.onClose(`${name} log`, () => new Promise<void>((resolve) => logFile.end(() => resolve())));
    const relay = (stream: NodeJS.ReadableStream) => {
      const lines = createInterface({ input: stream });
      lines.on('line', (line) => {
        logFile.write(`${line}\n`);
        const shown = consoleLine(name, line);
        if (shown) process.stdout.write(`${shown}\n`);
      });
    };
    relay(proc.stdout!);
    relay(proc.stderr!);
    proc.once('exit', (code, signal) => {
      if (!lifecycle.isStopping) {
        log.error({ role: name, code, signal }, 'a demo process exited; stopping the demo');
        void lifecycle.stop(`${name} exited`).then(() => process.exit(1));
      }
    });
    children.push({ name, proc });
  }
  lifecycle.onClose('processes', async () => {
    await Promise.all(
      [...children].reverse().map(
        ({ proc }) =>
          new Promise<void>((resolve) => {
            if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
            const kill = setTimeout(() => proc.kill('SIGKILL'), 8000);
            proc.once('exit', () => {
              clearTimeout(kill);
              resolve();
            });
            proc.kill('SIGTERM');
          }),
      ),
    );
  });

  const base = `http://${config.HOST === '0.0.0.0' ? '127.0.0.1' : config.HOST}:${config.PORT}`;
  for (let i = 0; i < 120; i++) {
    try {
      const res = await fetch(`${base}/health`);
      if (res.status < 600) break;
    } catch {
      await new Promise((r) => setTimeout(r, 500));
    }
  }

  step(6, TOTAL, `ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  const tokens = Object.fromEntries(
    apiTokens.split(',').map((p) => [p.slice(0, p.indexOf(':')), p.slice(p.indexOf(':') + 1)]),
  );
  process.stdout.write(
    [
      '',
      `  Monitoring page   ${base}/`,
      `  Police review     ${base}/review.html   (staff logins below)`,
      `  Scene editor      ${base}/scene.html    (demo-operator)`,
      `  Public holidays   ${base}/holidays.html (demo-supervisor)`,
      `  Citizen lookup    ${base}/lookup.html   (plates 20A12345, 30A12345 are in the demo registry)`,
      `  Health            ${base}/health`,
      `  Cameras           ${base}/api/cameras`,
      `  Metrics           ${base}/metrics`,
      `  Violations        curl -H 'Authorization: Bearer ${tokens['reviewer'] ?? '<reviewer token>'}' ${base}/api/violations`,
      `  Simulated cameras ${fleet.urls[0]} … (${fleet.urls.length})`,
      `  API docs          ${base}/api/openapi.json`,
      `  Staff logins      POST ${base}/api/auth/login (passwords are new each run):`,
      ...demoUsers.map((u) => `                    ${u.username.padEnd(16)} ${u.password}`),
      '',
      '  Ctrl-C stops everything.',
      '',
    ].join('\n'),
  );

  const status = setInterval(() => {
    void (async () => {
      try {
        const [cams, violations] = await Promise.all([
          fetch(`${base}/api/cameras`).then(
            (r) =>
              r.json() as Promise<{
                items: { state: string; framesReceived: number; framesProcessed: number }[];
              }>,
          ),
          fetch(`${base}/api/violations?limit=1`, {
            headers: { authorization: `Bearer ${tokens['reviewer']}` },
          }).then((r) => r.json() as Promise<{ total?: number }>),
        ]);
        const up = cams.items.filter((c) => c.state === 'up').length;
        const received = cams.items.reduce((s, c) => s + c.framesReceived, 0);
        const processed = cams.items.reduce((s, c) => s + c.framesProcessed, 0);
        process.stdout.write(
          `[demo] cameras up ${up}/${cams.items.length} · frames received ${received} · processed ${processed} · violations ${violations.total ?? '?'}\n`,
        );
      } catch (err) {
        process.stdout.write(`[demo] status unavailable: ${errorMessage(err)}\n`);
      }
    })();
  }, 10_000);
  lifecycle.onClose('status line', () => clearInterval(status));
});

/** A child's log line as the demo console shows it: warnings and errors only, in one readable line. */
function consoleLine(role: string, line: string): string | undefined {
  try {
    const entry = JSON.parse(line) as { level?: number; msg?: string; err?: string; camera?: string };
    if ((entry.level ?? 30) < 40) return undefined;
    const level = (entry.level ?? 40) >= 50 ? '\x1b[31mERROR\x1b[0m' : '\x1b[33mWARN\x1b[0m';
    return `[${role}] ${level} ${entry.camera ? `${entry.camera} ` : ''}${entry.msg ?? ''}${entry.err ? `: ${entry.err}` : ''}`;
  } catch {
    return `[${role}] ${line}`;
  }
}
