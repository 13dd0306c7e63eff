/**
 * `npm run bench:api -- [--rates 100,250,500] [--duration 20] [--warmup 3] [--connections 100]
 * [--violations 10000] [--targets lookup,queue] [--out file.json]`
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
 * Load comes from autocannon at a fixed overall rate (requests are sent on schedule whether or not earlier
 * ones answered, across `--connections` connections). Progress on stderr, a summary table on stdout,
 * everything in the JSON file. Refuses to run with NODE_ENV=production.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
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
import { createBenchDatabase } from './bench-fleet/database.js';
import { machineInfo } from './bench-fleet/machine.js';
import {
  clockTicksPerSecond,
  cpuBetween,
  readLoadAverage,
  readProcessTree,
  sumSeconds,
} from './bench-fleet/proc-cpu.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const POW_BITS = 8;

const USAGE = `usage: npm run bench:api -- [--rates 100,250,500] [--duration 20] [--warmup 3] [--connections 100]
       [--violations 10000] [--targets lookup,queue] [--out file.json]
`;

interface Args {
  rates: number[];
  durationS: number;
  warmupS: number;
  connections: number;
  violations: number;
  targets: ('lookup' | 'queue')[];
  out: string | undefined;
}

class UsageError extends Error {}

export function parseArgs(argv: string[]): Args {
  const args: Args = {
    rates: [100, 250, 500],
    durationS: 20,
    warmupS: 3,
    connections: 100,
    violations: 10_000,
    targets: ['lookup', 'queue'],
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
    else if (a === '--out') args.out = v;
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

async function startApi(env: Record<string, string>, port: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'apps/api.ts')], {
    cwd: ROOT,
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
  rate: number;
  duration_s: number;
  requests: number;
  achieved_rps: number;
  p50_ms: number;
  p90_ms: number;
  p99_ms: number;
  max_ms: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  api_cpu_ms_per_request: number | null;
  /** The machine's 1-minute load average at the end of the run (other work on it shows here). */
  load_avg_1m: number;
}

async function runOnce(opts: {
  url: string;
  rate: number;
  durationS: number;
  connections: number;
  request: autocannon.Request;
}): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: opts.url,
        connections: Math.min(opts.connections, opts.rate),
        overallRate: opts.rate,
        duration: opts.durationS,
        requests: [opts.request],
        timeout: 10,
      },
      (err, result) => (err ? reject(err) : resolve(result)),
    );
    process.once('SIGINT', () => instance.stop());
  });
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
  let api: ChildProcess | undefined;
  try {
    progress(`seeding ${args.violations} violations`);
    const seeded = await seed(bench.database.db, new EvidenceStore(evidenceDir), args.violations);
    progress(`seeded: ${seeded.listed} listed (approved or notified), ${seeded.flagged} waiting for review`);

    const secret = randomBytes(32).toString('base64url');
    const port = await freePort();
    api = await startApi(
      {
        NODE_ENV: 'development',
        LOG_LEVEL: 'warn',
        HOST: '127.0.0.1',
        PORT: String(port),
        DATABASE_URL: bench.url,
        DATABASE_POOL_MAX: '10',
        REDIS_URL: redisUrl,
        QUEUE_PREFIX: `pn-bench-api-${process.pid}`,
        EVIDENCE_DIR: evidenceDir,
        DATA_DIR: evidenceDir,
        PUBLIC_LOOKUP_SECRET: secret,
        PUBLIC_POW_BITS: String(POW_BITS),
        PUBLIC_POW_TTL_SECONDS: '3600',
        PUBLIC_LOOKUP_BURST: '1000000',
        PUBLIC_LOOKUP_PER_MINUTE: '1000000',
      },
      port,
    );
    const url = `http://127.0.0.1:${port}`;
    progress(`API up at ${url} (pid ${api.pid})`);
    const minMs = 30;

    const powKey = deriveKey(Buffer.from(secret, 'utf8'), 'pow');
    const results: RunResult[] = [];
    const ticks = clockTicksPerSecond();
    for (const target of args.targets) {
      for (const rate of args.rates) {
        let request: autocannon.Request;
        if (target === 'lookup') {
          const needed = Math.ceil(rate * (args.durationS + args.warmupS) * 1.2) + 100;
          progress(`lookup @ ${rate}/s: solving ${needed} challenges (${POW_BITS} bits)`);
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
            setupRequest: (req) => ({ ...req, body: bodies[next++ % bodies.length]! }),
          };
        } else {
          request = {
            method: 'GET',
            path: '/api/review/queue?limit=50',
            headers: { authorization: `Bearer ${seeded.reviewerToken}` },
          };
        }
        progress(`${target} @ ${rate}/s: warm-up ${args.warmupS} s`);
        await runOnce({ url, rate, durationS: args.warmupS, connections: args.connections, request });
        progress(`${target} @ ${rate}/s: measuring ${args.durationS} s`);
        const before = readProcessTree(api.pid!);
        const r = await runOnce({
          url,
          rate,
          durationS: args.durationS,
          connections: args.connections,
          request,
        });
        const after = readProcessTree(api.pid!);
        const cpuS = sumSeconds(cpuBetween(before, after, () => ({ own: 'api', reaped: 'api' }), ticks));
        const total = r.requests.total;
        const row: RunResult = {
          target,
          rate,
          duration_s: args.durationS,
          requests: total,
          achieved_rps: Math.round((total / r.duration) * 10) / 10,
          p50_ms: r.latency.p50,
          p90_ms: r.latency.p90,
          p99_ms: r.latency.p99,
          max_ms: r.latency.max,
          non2xx: r.non2xx,
          errors: r.errors,
          timeouts: r.timeouts,
          api_cpu_ms_per_request: total > 0 ? Math.round(((cpuS * 1000) / total) * 100) / 100 : null,
          load_avg_1m: readLoadAverage()[0],
        };
        results.push(row);
        progress(
          `${target} @ ${rate}/s: ${row.achieved_rps} req/s, p50 ${row.p50_ms} ms, p99 ${row.p99_ms} ms, non-2xx ${row.non2xx}, errors ${row.errors}`,
        );
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
        pow_bits: POW_BITS,
        lookup_min_response_ms: minMs,
        known_plate_share: 0.7,
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
    if (api && api.exitCode === null) {
      api.kill('SIGTERM');
      await new Promise((r) => setTimeout(r, 500));
      if (api.exitCode === null) api.kill('SIGKILL');
    }
    await bench.drop();
    await fs.rm(evidenceDir, { recursive: true, force: true });
  }
}

export function summary(results: readonly RunResult[]): string {
  const header = [
    'target',
    'rate/s',
    'achieved/s',
    'p50 ms',
    'p90 ms',
    'p99 ms',
    'max ms',
    'non-2xx',
    'errors',
    'API CPU ms/req',
    'load 1m',
  ];
  const rows = results.map((r) => [
    r.target,
    String(r.rate),
    String(r.achieved_rps),
    String(r.p50_ms),
    String(r.p90_ms),
    String(r.p99_ms),
    String(r.max_ms),
    String(r.non2xx),
    String(r.errors + r.timeouts),
    r.api_cpu_ms_per_request === null ? '—' : String(r.api_cpu_ms_per_request),
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
