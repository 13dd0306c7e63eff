/**
 * `npm run bench:api -- [--rates 100,250,500] [--duration 20] [--warmup 3] [--connections 100]
 * [--generator open|autocannon] [--arrivals poisson|even] [--spin-ms 0.5] [--violations 10000] [--targets lookup,queue]
 * [--api-processes 1,2] [--baseline <dir>] [--cpu-prof <dir>] [--out file.json]`
 *
 * Latency of the API at fixed request rates, against a real API process (`apps/api.ts`, as deployed) on a
 * throwaway PostgreSQL database (TEST_DATABASE_URL, default the local server) with seeded violations, and
 * the Redis at REDIS_URL:
 * - `lookup`: POST /api/public/lookup, the citizen lookup, with pre-solved proof-of-work challenges (the
 *   API runs with PUBLIC_POW_BITS=8, a setting production refuses, so the client can keep up; the server
 *   still checks every solution and spends every challenge in Redis) and a rate limit too wide to trip
 *   (the Redis token bucket still runs on every request). The real PUBLIC_LOOKUP_MIN_MS floor applies.
 *   70 % known plates, 30 % unknown.
 * - `queue`: GET /api/review/queue as a reviewer with a personal access token (each read appends an
 *   audit entry, as in production).
 * Load, `--generator open` (the default): an open-loop generator (tools/bench-api/open-loop.ts) sends
 * each request at its due time whatever the answers do (`--arrivals poisson`, the default: independent
 * arrivals, exponential gaps of mean 1 / rate from a fixed seed, as citizens arrive; `even`: request i
 * at t0 + i / rate), on a keep-alive pool of at most
 * `--connections` sockets, and measures each latency from the request's due time (as wrk2 does: a stalled
 * server, a full pool or a stalled generator all count), with the latency from the actual send and the
 * send lag (how late requests left) reported beside it. `--generator autocannon`: autocannon at a fixed
 * overall rate across `--connections` connections, closed loop: each connection gets a per-second budget
 * and sends its next request when the previous one has answered, so requests leave in bursts at each
 * second boundary and a stalled server lowers the offered rate (coordinated omission); its latency runs
 * from the actual send. Progress on stderr, a summary table on stdout, everything in the JSON file.
 * Refuses to run with NODE_ENV=production.
 *
 * Variants, measured in turn at each rate so that a change in the machine's load hits them alike: the API
 * of this checkout with each `--api-processes` count (API_PROCESSES, node:cluster), and with `--baseline
 * <dir>` the API of another checkout of the project (for example `git archive` of an older commit, with
 * node_modules linked) as one process, on the same database and Redis. Besides latency, each run records
 * the CPU time per request of the API processes, of the PostgreSQL backends serving them, and of this
 * process (the load generator), and how busy the whole machine was. `--cpu-prof <dir>` has every API
 * process write a V8 CPU profile there when it stops (node --cpu-prof; it slows them a little).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fsSync from 'node:fs';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { Redis } from 'ioredis';
import { sql } from 'kysely';
import sharp from 'sharp';
import { deriveKey, issueChallenge, solveChallenge } from '../api/security/proof-of-work.js';
import { issueApiToken } from '../api/services/auth.service.js';
import { errorMessage } from '../core/errors.js';
import { createLogger } from '../core/logger.js';
import { upsertCameraByCode } from '../db/repositories/camera.repository.js';
import { addAsset } from '../db/repositories/evidence.repository.js';
import { createNotice } from '../db/repositories/notice.repository.js';
import { upsertPoliceUnit } from '../db/repositories/police-unit.repository.js';
import { addSceneConfigVersion } from '../db/repositories/scene-config.repository.js';
import { createUser } from '../db/repositories/user.repository.js';
import { recordViolation, updateViolationStatus } from '../db/repositories/violation.repository.js';
import type { ViolationStatus } from '../db/schema.js';
import { EvidenceStore } from '../violations/evidence-store.js';
import { runOpenLoop } from './bench-api/open-loop.js';
import { createBenchDatabase } from './bench-fleet/database.js';
import { machineInfo } from './bench-fleet/machine.js';
import {
  busyCores,
  clockTicksPerSecond,
  cpuBetween,
  parseProcStat,
  readLoadAverage,
  readProcessTree,
  readSystemCpu,
  sumSeconds,
} from './bench-fleet/proc-cpu.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const POW_BITS = 8;

const USAGE = `usage: npm run bench:api -- [--rates 100,250,500] [--duration 20] [--warmup 3] [--connections 100]
       [--generator open|autocannon] [--arrivals poisson|even] [--spin-ms 0.5] [--violations 10000] [--targets lookup,queue]
       [--api-processes 1,2] [--baseline <dir>] [--cpu-prof <dir>] [--out file.json]
`;

interface Args {
  rates: number[];
  durationS: number;
  warmupS: number;
  connections: number;
  /** `open`: open loop, latency from each request's due time; `autocannon`: closed loop per connection. */
  generator: Generator;
  /** Open loop: how long before each due time the scheduler stops sleeping and spins (more CPU, less lag). */
  spinMs: number;
  /** Open loop: due times evenly spread or as independent (Poisson) arrivals. */
  arrivals: 'even' | 'poisson';
  violations: number;
  targets: ('lookup' | 'queue')[];
  /** API_PROCESSES values to measure this checkout's API with. */
  apiProcesses: number[];
  /** Another checkout of the project whose API is measured alongside (one process). */
  baseline: string | undefined;
  /** Where the API processes write V8 CPU profiles (node --cpu-prof). */
  cpuProf: string | undefined;
  out: string | undefined;
}

type Generator = 'open' | 'autocannon';

class UsageError extends Error {}

export function parseArgs(argv: string[]): Args {
  const args: Args = {
    rates: [100, 250, 500],
    durationS: 20,
    warmupS: 3,
    connections: 100,
    generator: 'open',
    spinMs: 0.5,
    arrivals: 'poisson',
    violations: 10_000,
    targets: ['lookup', 'queue'],
    apiProcesses: [1],
    baseline: undefined,
    cpuProf: undefined,
    out: undefined,
  };
  const positive = (name: string, v: string | undefined, max: number) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1 || n > max)
      throw new UsageError(`${name} must be an integer from 1 to ${max}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const v = argv[i + 1];
    if (a === '--rates') args.rates = (v ?? '').split(',').map((r) => positive('--rates', r, 100_000));
    else if (a === '--duration') args.durationS = positive(a, v, 3600);
    else if (a === '--warmup') args.warmupS = positive(a, v, 600);
    else if (a === '--connections') args.connections = positive(a, v, 10_000);
    else if (a === '--violations') args.violations = positive(a, v, 1_000_000);
    else if (a === '--generator') {
      if (v !== 'open' && v !== 'autocannon') throw new UsageError('--generator: open, autocannon');
      args.generator = v;
    } else if (a === '--arrivals') {
      if (v !== 'even' && v !== 'poisson') throw new UsageError('--arrivals: even, poisson');
      args.arrivals = v;
    } else if (a === '--spin-ms') {
      const ms = Number(v);
      if (v === undefined || v === '' || !Number.isFinite(ms) || ms < 0 || ms > 20)
        throw new UsageError('--spin-ms must be a number of ms from 0 to 20');
      args.spinMs = ms;
    } else if (a === '--out') args.out = v;
    else if (a === '--cpu-prof') {
      if (!v) throw new UsageError('--cpu-prof needs a directory');
      args.cpuProf = path.resolve(v);
    } else if (a === '--baseline') {
      if (!v) throw new UsageError('--baseline needs a directory');
      args.baseline = path.resolve(v);
    } else if (a === '--api-processes')
      args.apiProcesses = (v ?? '').split(',').map((r) => positive('--api-processes', r, 64));
    else if (a === '--targets') {
      const list = (v ?? '').split(',');
      if (!list.every((t) => t === 'lookup' || t === 'queue'))
        throw new UsageError('--targets: lookup, queue');
      args.targets = list as Args['targets'];
    } else throw new UsageError(`unknown argument ${a}`);
    i++;
  }
  return args;
}

const t0 = Date.now();
const progress = (line: string) =>
  process.stderr.write(`[bench-api ${((Date.now() - t0) / 1000).toFixed(0).padStart(4)} s] ${line}\n`);

interface Seeded {
  knownPlates: { plate: string; vehicleType: 'car' | 'motorbike' }[];
  reviewerToken: string;
  listed: number;
  flagged: number;
}

function randomPlate(i: number, kind: 'car' | 'motorbike'): string {
  const province = String(20 + (i % 79)).padStart(2, '0');
  const letter = 'ABCDEFGHKLMNPSTUVXYZ'[i % 20]!;
  const digits = String((i * 7919) % 100_000).padStart(5, '0');
  return kind === 'car' ? `${province}${letter}${digits}` : `${province}${letter}${(i % 9) + 1}${digits}`;
}

/** Cameras, a police unit, violations (most approved and some with notices, the rest waiting for review). */
async function seed(
  db: Parameters<typeof upsertCameraByCode>[0],
  store: EvidenceStore,
  n: number,
): Promise<Seeded> {
  await upsertPoliceUnit(db, {
    code: 'TN-CSGT',
    name: 'Phòng Cảnh sát giao thông (bench)',
    address: 'TP Thái Nguyên',
    phone: '0208 000 0000',
  });
  const cameras: number[] = [];
  for (let c = 0; c < 8; c++) {
    const cam = await upsertCameraByCode(db, {
      code: `BENCH-${c}`,
      name: `Nút giao ${c}`,
      location: `Đường ${c}, TP Thái Nguyên`,
      unit: 'TN-CSGT',
    });
    await addSceneConfigVersion(db, { cameraId: cam.id, config: { stopLines: [] }, createdBy: 'bench' });
    cameras.push(cam.id);
  }
  // One real still for every violation's evidence rows (the lookup only checks that one exists).
  const raw = Buffer.alloc(640 * 360 * 3, 128);
  const still = await store.put(
    await sharp(raw, { raw: { width: 640, height: 360, channels: 3 } })
      .jpeg()
      .toBuffer(),
    'image/jpeg',
  );
  const known: Seeded['knownPlates'] = [];
  let listed = 0;
  let flagged = 0;
  const observedBase = Date.now() - 30 * 86_400_000;
  const one = async (i: number) => {
    const vehicleType = i % 3 === 0 ? 'motorbike' : 'car';
    const plate = randomPlate(i, vehicleType);
    const status: ViolationStatus = i % 5 === 4 ? 'flagged' : i % 5 === 3 ? 'notified' : 'approved';
    const { id } = await recordViolation(db, {
      cameraId: cameras[i % cameras.length]!,
      trackKey: `bench-${i}`,
      ruleCode: i % 2 === 0 ? 'red_light' : 'stop_line',
      observedAt: new Date(observedBase + i * 60_000),
      vehicleClass: vehicleType,
      sceneConfigVersion: 1,
      plate,
      plateConfidence: 0.95,
    });
    if (status !== 'flagged') {
      await updateViolationStatus(db, id, { from: 'flagged', to: status });
      await addAsset(db, { violationId: id, kind: 'still_at', ...still });
      listed++;
      if (known.length < 5000) known.push({ plate, vehicleType });
    } else flagged++;
    if (status === 'notified') {
      await createNotice(db, {
        violationId: id,
        noticeCode: `PN-B${String(i)
          .padStart(11, '0')
          .replace(/(.{3})(.{4})(.{4})/, '$1-$2-$3')}`,
        plate,
        vehicleClass: vehicleType,
        fineAmountVnd: 500_000,
        points: 0,
        legalBasis: '168/2024/NĐ-CP',
        citation: '6.1.a',
        state: 'issued',
        issuedAt: new Date(),
      });
    }
  };
  const batch = 16;
  for (let i = 0; i < n; i += batch) {
    await Promise.all(Array.from({ length: Math.min(batch, n - i) }, (_, k) => one(i + k)));
    if ((i / batch) % 100 === 0) progress(`seeded ${i}/${n} violations`);
  }
  const user = await createUser(db, {
    username: 'bench-reviewer',
    passwordHash: '$scrypt$ln=10,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
    displayName: 'Bench reviewer',
    roles: ['reviewer'],
  });
  const { secret } = await issueApiToken(db, { userId: user.id, name: 'bench', actor: 'system:bench' });
  return { knownPlates: known, reviewerToken: secret, listed, flagged };
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}

async function startApi(
  env: Record<string, string>,
  port: number,
  root = ROOT,
  nodeArgs: string[] = [],
): Promise<ChildProcess> {
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', path.join(root, 'apps/api.ts')], {
    cwd: root,
    env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? os.tmpdir(), ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the API exited (${child.exitCode}): ${stderr}`);
    try {
      const res = await fetch(`http://127.0.0.1:${port}/health`);
      if (res.status === 200) return child;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  child.kill('SIGKILL');
  throw new Error(`the API did not answer /health within 60 s: ${stderr}`);
}

export interface RunResult {
  target: 'lookup' | 'queue';
  /** Which API: `current` (this checkout) or `baseline` (--baseline). */
  variant: string;
  /** API processes serving (API_PROCESSES). */
  processes: number;
  /** The load generator (--generator). */
  generator: Generator;
  rate: number;
  duration_s: number;
  /** Complete responses, any status. */
  requests: number;
  achieved_rps: number;
  /**
   * Latency percentiles, ms. `open`: from each request's due time to the end of its response;
   * `autocannon`: from the moment it was written.
   */
  p50_ms: number;
  p90_ms: number;
  p99_ms: number;
  max_ms: number;
  /** Latency from the moment each request was written to a socket (for `autocannon`, the same as p*_ms). */
  from_send_p50_ms: number;
  from_send_p99_ms: number;
  from_send_max_ms: number;
  /** `open` only: how late requests were written (written − due: generator lateness and pool queue), ms. */
  send_lag_p50_ms: number | null;
  send_lag_p99_ms: number | null;
  send_lag_max_ms: number | null;
  /** `open` only: requests written more than LATE_MS after their due time. */
  late_sends: number | null;
  /** `open` only: how late the generator itself handed requests to the pool (its event loop's stalls), ms. */
  dispatch_lag_p99_ms: number | null;
  /** `open` only: most sockets the pool had open at once. */
  peak_connections: number | null;
  non2xx: number;
  errors: number;
  timeouts: number;
  api_cpu_ms_per_request: number | null;
  /** CPU of the PostgreSQL backends connected for the API (pg_stat_activity, /proc) per request. */
  db_cpu_ms_per_request: number | null;
  /** CPU of this process (the load generator, open loop or autocannon) per request. */
  loadgen_cpu_ms_per_request: number | null;
  /** Busy CPUs of the whole machine during the run (/proc/stat), out of `nproc`. */
  machine_busy_cpus: number;
  /** The machine's 1-minute load average at the end of the run (other work on it shows here). */
  load_avg_1m: number;
}

interface Variant {
  label: string;
  root: string;
  processes: number;
  api?: ChildProcess;
  url?: string;
}

/** utime + stime ticks of each PostgreSQL backend serving the API (application_name phat-nguoi). */
async function dbBackendTicks(db: Parameters<typeof upsertCameraByCode>[0]): Promise<Map<number, number>> {
  const { rows } = await sql<{ pid: number }>`SELECT pid FROM pg_stat_activity
    WHERE datname = current_database() AND application_name = 'phat-nguoi'`.execute(db);
  const out = new Map<number, number>();
  for (const { pid } of rows) {
    try {
      const p = parseProcStat(fsSync.readFileSync(`/proc/${pid}/stat`, 'utf8'));
      out.set(pid, p.utime + p.stime);
    } catch {
      // ended, or PostgreSQL runs elsewhere: not counted
    }
  }
  return out;
}

/** Ticks used between two samples by backends alive at the end (one that ended in between is lost). */
function ticksBetween(before: Map<number, number>, after: Map<number, number>): number {
  let sum = 0;
  for (const [pid, t] of after) sum += t - (before.get(pid) ?? 0);
  return sum;
}

/** One request kind, for either generator; `body` is called once per request sent. */
interface RequestSpec {
  method: 'GET' | 'POST';
  path: string;
  headers: Record<string, string>;
  body?: () => string;
}

/** What a run measured, the same fields whichever generator ran it. */
type Measured = Pick<
  RunResult,
  | 'requests'
  | 'achieved_rps'
  | 'p50_ms'
  | 'p90_ms'
  | 'p99_ms'
  | 'max_ms'
  | 'from_send_p50_ms'
  | 'from_send_p99_ms'
  | 'from_send_max_ms'
  | 'send_lag_p50_ms'
  | 'send_lag_p99_ms'
  | 'send_lag_max_ms'
  | 'late_sends'
  | 'dispatch_lag_p99_ms'
  | 'peak_connections'
  | 'non2xx'
  | 'errors'
  | 'timeouts'
>;

/** A send later than this after its due time counts as late (open loop). */
const LATE_MS = 1;
const REQUEST_TIMEOUT_S = 10;

/** One measured run at one rate. */
interface RunOptions {
  generator: Generator;
  spinMs: number;
  arrivals: 'even' | 'poisson';
  url: string;
  rate: number;
  durationS: number;
  connections: number;
  request: RequestSpec;
}

async function runOnce(opts: RunOptions): Promise<Measured> {
  return opts.generator === 'open' ? runOpen(opts) : runAutocannon(opts);
}

async function runOpen(opts: Omit<RunOptions, 'generator'>): Promise<Measured> {
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.once('SIGINT', stop);
  const { method, path: requestPath, headers, body } = opts.request;
  const r = await runOpenLoop({
    url: opts.url,
    rate: opts.rate,
    durationS: opts.durationS,
    connections: opts.connections,
    request: () => ({ method, path: requestPath, headers, ...(body ? { body: body() } : {}) }),
    timeoutMs: REQUEST_TIMEOUT_S * 1000,
    lateMs: LATE_MS,
    spinMs: opts.spinMs,
    arrivals: opts.arrivals,
    signal: controller.signal,
  }).finally(() => process.off('SIGINT', stop));
  const ms = (v: number) => (Number.isNaN(v) ? 0 : Math.round(v * 10) / 10);
  return {
    requests: r.responses,
    achieved_rps: r.achievedRps,
    p50_ms: ms(r.latencyFromDue.p50),
    p90_ms: ms(r.latencyFromDue.p90),
    p99_ms: ms(r.latencyFromDue.p99),
    max_ms: ms(r.latencyFromDue.max),
    from_send_p50_ms: ms(r.latencyFromSend.p50),
    from_send_p99_ms: ms(r.latencyFromSend.p99),
    from_send_max_ms: ms(r.latencyFromSend.max),
    send_lag_p50_ms: ms(r.sendLag.p50),
    send_lag_p99_ms: ms(r.sendLag.p99),
    send_lag_max_ms: ms(r.sendLag.max),
    late_sends: r.lateSends,
    dispatch_lag_p99_ms: ms(r.dispatchLag.p99),
    peak_connections: r.peakSockets,
    non2xx: r.non2xx,
    errors: r.errors,
    timeouts: r.timeouts,
  };
}

async function runAutocannon(
  opts: Pick<RunOptions, 'url' | 'rate' | 'durationS' | 'connections' | 'request'>,
): Promise<Measured> {
  const { body, ...fixed } = opts.request;
  const request: autocannon.Request = body
    ? { ...fixed, setupRequest: (req) => ({ ...req, body: body() }) }
    : fixed;
  const r = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url: opts.url,
        connections: Math.min(opts.connections, opts.rate),
        overallRate: opts.rate,
        // autocannon's coordinated-omission correction, with a rate per connection, records for every
        // answer of T ms extra samples at T-1, T-2, ... 1 ms (its expected interval is ceil(1 / rate),
        // read as 1 ms): the percentiles it then reports are made up, even below the 30 ms floor.
        // Off: each latency is one real request, from the moment it was written.
        ignoreCoordinatedOmission: true,
        duration: opts.durationS,
        requests: [request],
        timeout: REQUEST_TIMEOUT_S,
      },
      (err, result) => {
        process.off('SIGINT', stop);
        if (err) reject(err);
        else resolve(result);
      },
    );
    const stop = () => instance.stop();
    process.once('SIGINT', stop);
  });
  return {
    requests: r.requests.total,
    achieved_rps: Math.round((r.requests.total / r.duration) * 10) / 10,
    p50_ms: r.latency.p50,
    p90_ms: r.latency.p90,
    p99_ms: r.latency.p99,
    max_ms: r.latency.max,
    from_send_p50_ms: r.latency.p50,
    from_send_p99_ms: r.latency.p99,
    from_send_max_ms: r.latency.max,
    send_lag_p50_ms: null,
    send_lag_p99_ms: null,
    send_lag_max_ms: null,
    late_sends: null,
    dispatch_lag_p99_ms: null,
    peak_connections: null,
    non2xx: r.non2xx,
    errors: r.errors,
    timeouts: r.timeouts,
  };
}

async function main(argv: string[]): Promise<void> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(USAGE);
    return;
  }
  if (process.env['NODE_ENV'] === 'production') {
    throw new UsageError(
      'bench:api runs the API with a weakened proof of work: refused with NODE_ENV=production',
    );
  }
  const args = parseArgs(argv);
  const command = `npm run bench:api -- ${argv.join(' ')}`.trim();
  const log = createLogger({ level: 'warn', name: 'bench-api' });
  const redisUrl = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';
  const machine = await machineInfo();
  progress(`machine: ${machine.nproc} CPUs, ${machine.cpu_model}, Node ${machine.node}`);

  const bench = await createBenchDatabase({ choice: 'postgres', log, poolMax: 16 });
  const evidenceDir = await fs.mkdtemp(path.join(os.tmpdir(), 'pn-bench-api-'));
  const prefixOf = (i: number) => `pn-bench-api-${process.pid}-${i}`;
  const variants: Variant[] = [
    ...(args.baseline ? [{ label: 'baseline', root: args.baseline, processes: 1 }] : []),
    ...args.apiProcesses.map((n) => ({ label: 'current', root: ROOT, processes: n })),
  ];
  try {
    progress(`seeding ${args.violations} violations`);
    const seeded = await seed(bench.database.db, new EvidenceStore(evidenceDir), args.violations);
    progress(`seeded: ${seeded.listed} listed (approved or notified), ${seeded.flagged} waiting for review`);

    const secret = randomBytes(32).toString('base64url');
    for (const [i, variant] of variants.entries()) {
      const port = await freePort();
      variant.api = await startApi(
        {
          NODE_ENV: 'development',
          LOG_LEVEL: 'warn',
          HOST: '127.0.0.1',
          PORT: String(port),
          // The baseline may predate API_PROCESSES, which its configuration would refuse.
          ...(variant.processes > 1 ? { API_PROCESSES: String(variant.processes) } : {}),
          DATABASE_URL: bench.url,
          DATABASE_POOL_MAX: '10',
          REDIS_URL: redisUrl,
          QUEUE_PREFIX: prefixOf(i),
          EVIDENCE_DIR: evidenceDir,
          DATA_DIR: evidenceDir,
          PUBLIC_LOOKUP_SECRET: secret,
          PUBLIC_POW_BITS: String(POW_BITS),
          PUBLIC_POW_TTL_SECONDS: '3600',
          PUBLIC_LOOKUP_BURST: '1000000',
          PUBLIC_LOOKUP_PER_MINUTE: '1000000',
        },
        port,
        variant.root,
        args.cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${args.cpuProf}`] : [],
      );
      variant.url = `http://127.0.0.1:${port}`;
      progress(
        `API ${variant.label} (${variant.processes} process${variant.processes > 1 ? 'es' : ''}, ${variant.root}) up at ${variant.url} (pid ${variant.api.pid})`,
      );
    }
    const minMs = 30;

    const powKey = deriveKey(Buffer.from(secret, 'utf8'), 'pow');
    const results: RunResult[] = [];
    const ticks = clockTicksPerSecond();
    for (const target of args.targets) {
      for (const rate of args.rates) {
        for (const variant of variants) {
          const name = `${target} @ ${rate}/s, ${variant.label}×${variant.processes}`;
          const api = variant.api!;
          let request: RequestSpec;
          if (target === 'lookup') {
            const needed = Math.ceil(rate * (args.durationS + args.warmupS) * 1.2) + 100;
            progress(`${name}: solving ${needed} challenges (${POW_BITS} bits)`);
            const bodies: string[] = [];
            for (let i = 0; i < needed; i++) {
              const { challenge } = issueChallenge(powKey, { bits: POW_BITS, ttlMs: 3_600_000 });
              const known = i % 10 < 7 ? seeded.knownPlates[i % seeded.knownPlates.length] : undefined;
              const plate = known?.plate ?? `99Z${String(i % 100_000).padStart(5, '0')}`;
              const vehicleType = known?.vehicleType ?? (i % 2 === 0 ? 'car' : 'motorbike');
              bodies.push(
                JSON.stringify({ plate, vehicleType, challenge, nonce: solveChallenge(challenge, POW_BITS) }),
              );
            }
            let next = 0;
            request = {
              method: 'POST',
              path: '/api/public/lookup',
              headers: { 'content-type': 'application/json' },
              body: () => bodies[next++ % bodies.length]!,
            };
          } else {
            request = {
              method: 'GET',
              path: '/api/review/queue?limit=50',
              headers: { authorization: `Bearer ${seeded.reviewerToken}` },
            };
          }
          const url = variant.url!;
          progress(`${name}: warm-up ${args.warmupS} s`);
          const generator = args.generator;
          await runOnce({
            generator,
            spinMs: args.spinMs,
            arrivals: args.arrivals,
            url,
            rate,
            durationS: args.warmupS,
            connections: args.connections,
            request,
          });
          progress(`${name}: measuring ${args.durationS} s`);
          const before = readProcessTree(api.pid!);
          const dbBefore = await dbBackendTicks(bench.database.db);
          const ownBefore = process.cpuUsage();
          const systemBefore = readSystemCpu();
          const startedAt = performance.now();
          const r = await runOnce({
            generator,
            spinMs: args.spinMs,
            arrivals: args.arrivals,
            url,
            rate,
            durationS: args.durationS,
            connections: args.connections,
            request,
          });
          const seconds = (performance.now() - startedAt) / 1000;
          const systemAfter = readSystemCpu();
          const own = process.cpuUsage(ownBefore);
          const after = readProcessTree(api.pid!);
          const dbAfter = await dbBackendTicks(bench.database.db);
          const cpuS = sumSeconds(cpuBetween(before, after, () => ({ own: 'api', reaped: 'api' }), ticks));
          const total = r.requests;
          const perRequest = (ms: number) => (total > 0 ? Math.round((ms / total) * 100) / 100 : null);
          const row: RunResult = {
            target,
            variant: variant.label,
            processes: variant.processes,
            generator,
            rate,
            duration_s: args.durationS,
            ...r,
            api_cpu_ms_per_request: perRequest(cpuS * 1000),
            db_cpu_ms_per_request: perRequest((ticksBetween(dbBefore, dbAfter) / ticks) * 1000),
            loadgen_cpu_ms_per_request: perRequest((own.user + own.system) / 1000),
            machine_busy_cpus: Math.round(busyCores(systemBefore, systemAfter, seconds, ticks) * 100) / 100,
            load_avg_1m: readLoadAverage()[0],
          };
          results.push(row);
          progress(
            `${name}: ${row.achieved_rps} req/s, p50 ${row.p50_ms} ms, p99 ${row.p99_ms} ms` +
              (row.send_lag_p99_ms === null
                ? ''
                : ` (from send: p99 ${row.from_send_p99_ms} ms; send lag p99 ${row.send_lag_p99_ms} ms, ` +
                  `${row.late_sends} late)`) +
              `, non-2xx ${row.non2xx}, errors ${row.errors}, timeouts ${row.timeouts}`,
          );
        }
      }
    }

    const report = {
      command,
      at: new Date().toISOString(),
      machine,
      settings: {
        violations: args.violations,
        listed: seeded.listed,
        waiting_for_review: seeded.flagged,
        duration_s: args.durationS,
        warmup_s: args.warmupS,
        connections: args.connections,
        generator: args.generator,
        latency_from: args.generator === 'open' ? 'due time' : 'send',
        ...(args.generator === 'open'
          ? { late_threshold_ms: LATE_MS, spin_ms: args.spinMs, arrivals: args.arrivals }
          : {}),
        request_timeout_s: REQUEST_TIMEOUT_S,
        pow_bits: POW_BITS,
        lookup_min_response_ms: minMs,
        known_plate_share: 0.7,
        variants: variants.map((v) => ({ label: v.label, root: v.root, processes: v.processes })),
      },
      results,
    };
    if (args.out) {
      await fs.mkdir(path.dirname(path.resolve(args.out)), { recursive: true });
      await fs.writeFile(args.out, `${JSON.stringify(report, null, 2)}\n`);
      progress(`report written to ${args.out}`);
    }
    process.stdout.write(
      `\n${command}\n${machine.nproc} CPUs, ${machine.cpu_model}, Node ${machine.node}\n\n${summary(results)}\n`,
    );
  } finally {
    await Promise.all(
      variants.map(async ({ api }) => {
        if (!api || api.exitCode !== null) return;
        const exited = new Promise((r) => api.once('exit', r));
        api.kill('SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
        if (api.exitCode === null) api.kill('SIGKILL');
      }),
    );
    await bench.drop();
    await fs.rm(evidenceDir, { recursive: true, force: true });
    // Spent challenges stay in Redis until they expire (an hour here): tens of thousands of keys that
    // slow down anything else that walks the keyspace of a shared Redis. They go now.
    const removed = await deleteKeys(
      redisUrl,
      variants.map((_, i) => prefixOf(i)),
    ).catch((err: unknown) => {
      progress(`could not remove the bench's Redis keys: ${errorMessage(err)}`);
      return 0;
    });
    progress(`removed ${removed} Redis keys of this run`);
  }
}

/** Deletes every key under each `prefix:`; returns how many. */
async function deleteKeys(url: string, prefixes: readonly string[]): Promise<number> {
  const redis = new Redis(url, { maxRetriesPerRequest: 1 });
  try {
    let removed = 0;
    for (const prefix of prefixes) {
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
        cursor = next;
        if (keys.length > 0) removed += await redis.unlink(...keys);
      } while (cursor !== '0');
    }
    return removed;
  } finally {
    redis.disconnect();
  }
}

export function summary(results: readonly RunResult[]): string {
  const header = [
    'target',
    'API',
    'generator',
    'rate/s',
    'achieved/s',
    'p50 ms',
    'p90 ms',
    'p99 ms',
    'max ms',
    'p99 from send',
    'send lag p99',
    'late sends',
    'non-2xx',
    'errors',
    'API CPU ms/req',
    'DB CPU ms/req',
    'loadgen CPU ms/req',
    'busy CPUs',
    'load 1m',
  ];
  const ms = (v: number | null) => (v === null ? '—' : String(v));
  const rows = results.map((r) => [
    r.target,
    `${r.variant}×${r.processes}`,
    r.generator,
    String(r.rate),
    String(r.achieved_rps),
    String(r.p50_ms),
    String(r.p90_ms),
    String(r.p99_ms),
    String(r.max_ms),
    String(r.from_send_p99_ms),
    ms(r.send_lag_p99_ms),
    ms(r.late_sends),
    String(r.non2xx),
    String(r.errors + r.timeouts),
    ms(r.api_cpu_ms_per_request),
    ms(r.db_cpu_ms_per_request),
    ms(r.loadgen_cpu_ms_per_request),
    r.machine_busy_cpus.toFixed(2),
    r.load_avg_1m.toFixed(1),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padStart(widths[i]!)).join('  ');
  return [line(header), ...rows.map(line)].join('\n');
}

main(process.argv.slice(2)).then(
  () => process.exit(process.exitCode ?? 0),
  (err: unknown) => {
    if (err instanceof UsageError) {
      process.stderr.write(`${err.message}\n\n${USAGE}`);
      process.exit(2);
    }
    process.stderr.write(`bench:api failed: ${errorMessage(err)}\n`);
    process.exit(1);
  },
);
