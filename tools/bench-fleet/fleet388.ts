/**
 * `--mode fleet388`: the whole fleet on one machine, through the real processes. 388 small simulated
 * cameras (320x180, one frame a second, every frame a keyframe by default) are registered in a throwaway
 * database; two real ingest processes (apps/ingest.ts) share them through the Redis leases and publish
 * each camera's state; this process watches that state as the API would (pipeline/camera-status.ts).
 *
 * Reports: how long until every camera is up, cameras up through the window, how the cameras were
 * assigned, frames received and analysed per camera, CPU and memory, and the failover time when one
 * ingest process is killed with SIGKILL (until every camera is up again on the survivor, frames flowing).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Redis } from 'ioredis';
import { AppError } from '../../core/errors.js';
import { readCameraStatuses, type CameraStatus } from '../../pipeline/camera-status.js';
import { createRedis, waitForRedis } from '../../pipeline/redis.js';
import { checkSimulatorPrerequisites } from '../../ingest/sim/simulated-fleet.js';
import type { DecodeMode } from '../../ingest/ffmpeg-adapter.js';
import { sleep } from './abort.js';
import type { BenchArgs } from './args.js';
import { ensureBenchClip } from './clip.js';
import { createBenchDatabase } from './database.js';
import { machineInfo, type MachineInfo } from './machine.js';
import type { RunContext } from './pipeline-run.js';
import {
  busyCores,
  clockTicksPerSecond,
  cpuBetween,
  readLoadAverage,
  readProcessTree,
  readSystemCpu,
  type Classifier,
} from './proc-cpu.js';
import {
  benchScene,
  Closers,
  deletePrefix,
  registerCameras,
  startBenchCameras,
  uniquePrefix,
} from './setup.js';
import { keysWithSeveralOwners, percentile, round } from './stats.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
/** A status older than this reads as down (the ingest processes publish every second). */
const FRESH_MS = 5000;

export interface Fleet388Report {
  schema: 'phat-nguoi/bench-fleet@1';
  mode: 'fleet388';
  started_at: string;
  finished_at: string;
  machine: MachineInfo & { load_average_start: number[]; load_average_end: number[]; busy_cores: number };
  config: {
    cameras: number;
    fps: number;
    resolution: string;
    source_fps: number;
    decode: DecodeMode;
    analysed_width: number;
    ingest_processes: number;
    capacity: number;
    lease_ms: number;
    database: string;
    queue_prefix: string;
    logs: string;
  };
  time_to_all_up_s: number | null;
  window_s: number;
  cameras_up: { min: number; end: number };
  /** Cameras per ingest process at the end of the window. */
  assignment: Record<string, number>;
  frames_per_camera: {
    received: { min: number; median: number; max: number };
    processed: { min: number; median: number; max: number };
    histogram: { label: string; cameras: number }[];
  };
  restarts: number;
  /** Cameras with an ffmpeg in two ingest processes at once (from /proc): most seen, and at the window's end. */
  cameras_in_two_processes: { max: number; end_of_window: number };
  /** [seconds since the ingest processes started, cameras up], every 5 s. */
  up_timeline: [number, number][];
  cpu: { system_s: number; simulator_s: number; bench_s: number };
  /** Proportional set sizes at the end of the window. */
  memory_mib: { ingest_processes: number; ffmpeg: number; ffmpeg_per_camera: number };
  /** Seconds from SIGTERM to exit of each ingest process still running at the end. */
  shutdown_s: Record<string, { seconds: number; code: number | null; signal: string | null }>;
  failover: {
    killed: string;
    cameras_moved: number;
    all_up_s: number | null;
    timeout_s: number;
    cameras_up_at_timeout: number;
  } | null;
}

/** Proportional set size (shared library pages divided among their users), else RSS; MiB. */
function memoryMib(pid: number): number {
  try {
    const rollup = fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
    const kb = /^Pss:\s+(\d+)\s+kB/m.exec(rollup)?.[1];
    if (kb) return Number(kb) / 1024;
  } catch {
    // no smaps_rollup (old kernel) or the process is gone: fall back to the status line
  }
  try {
    const kb = /^VmRSS:\s+(\d+)\s+kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb ? Number(kb) / 1024 : 0;
  } catch {
    return 0; // gone
  }
}

/** The stream URL an ffmpeg reads (from its command line), or undefined. */
function ffmpegUrl(pid: number): string | undefined {
  try {
    return fs
      .readFileSync(`/proc/${pid}/cmdline`, 'utf8')
      .split('\0')
      .find((a) => /^rtsps?:\/\//.test(a));
  } catch {
    return undefined; // ended meanwhile
  }
}

/**
 * Cameras that have an ffmpeg under more than one ingest process right now: the same camera analysed
 * twice, which the leases are meant to prevent. Seen from /proc, not from the processes' own reports.
 */
function camerasRunTwice(ingestPids: ReadonlySet<number>): number {
  const entries: { key: string; owner: number }[] = [];
  for (const p of readProcessTree().processes) {
    if (p.comm !== 'ffmpeg' || !ingestPids.has(p.ppid)) continue;
    const url = ffmpegUrl(p.pid);
    if (url) entries.push({ key: url, owner: p.ppid });
  }
  return keysWithSeveralOwners(entries);
}

function spread(values: number[]): { min: number; median: number; max: number } {
  if (values.length === 0) return { min: 0, median: 0, max: 0 };
  return { min: Math.min(...values), median: round(percentile(values, 50), 1), max: Math.max(...values) };
}

export async function runFleet388(args: BenchArgs, ctx: RunContext): Promise<Fleet388Report> {
  const { config, log, progress } = ctx;
  const startedAt = new Date();
  const tps = clockTicksPerSecond();
  const loadStart = readLoadAverage();
  const closers = new Closers(log);
  try {
    const pre = await checkSimulatorPrerequisites({
      ffmpegPath: config.FFMPEG_PATH,
      python: config.SIM_PYTHON,
    });
    if (!pre.ok) throw new AppError('dependency_down', pre.reason, { permanent: true });
    const clip = await ensureBenchClip({
      dataDir: config.dataDir,
      sharedDir: path.resolve(config.SHARED_DIR),
      log,
      ffmpegPath: config.FFMPEG_PATH,
      spec: {
        width: args.width,
        height: args.height,
        fps: args.sourceFps,
        keyframeIntervalS: args.keyframeIntervalS,
      },
    });
    progress(
      `serving ${args.cameras} simulated RTSP cameras (${args.width}x${args.height} at ${args.sourceFps} fps)`,
    );
    const cams = await startBenchCameras({ count: args.cameras, clip: clip.path, log });
    closers.add('simulated cameras', () => cams.stop());

    const bdb = await createBenchDatabase({
      choice: args.db,
      log,
      poolMax: 2,
      extraClients: args.ingestProcesses,
    });
    closers.add('database', () => bdb.drop());
    progress('registering the cameras');
    const rows = await registerCameras(bdb.database.db, cams.urls, benchScene());
    const ids = rows.map((r) => String(r.id));

    const prefix = uniquePrefix();
    const redis: Redis = createRedis(config.REDIS_URL, 'producer');
    await waitForRedis(redis, 10_000);
    closers.add('redis', () => redis.quit());
    closers.add('redis keys', () => deletePrefix(redis, prefix));

    const logs = fs.mkdtempSync(path.join(os.tmpdir(), 'pn-bench-fleet388-'));
    const env: NodeJS.ProcessEnv = { ...process.env };
    delete env['INGEST_CAMERAS'];
    Object.assign(env, {
      DATABASE_URL: bdb.url,
      DATABASE_POOL_MAX: bdb.kind === 'embedded' ? '1' : '2',
      QUEUE_PREFIX: prefix,
      REDIS_URL: config.REDIS_URL,
      INGEST_FPS: String(args.fps),
      INGEST_WIDTH: String(args.analysedWidth),
      INGEST_DECODE: args.decode,
      INGEST_CAPACITY: String(args.cameras),
      INGEST_LEASE_MS: String(config.INGEST_LEASE_MS),
      LOG_LEVEL: process.env['LOG_LEVEL'] ?? 'warn',
    });
    const children: { label: string; proc: ChildProcess; workerId: string }[] = [];
    const shutdown: Fleet388Report['shutdown_s'] = {};
    const stopChildren = () =>
      Promise.all(
        children.map(
          ({ label, proc }) =>
            new Promise<void>((resolve) => {
              if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
              const t0 = Date.now();
              const kill = setTimeout(() => proc.kill('SIGKILL'), 60_000);
              proc.once('exit', (code, signal) => {
                clearTimeout(kill);
                shutdown[label] = { seconds: round((Date.now() - t0) / 1000, 1), code, signal };
                resolve();
              });
              proc.kill('SIGTERM');
            }),
        ),
      );
    closers.add('ingest processes', stopChildren);
    const spawnedAt = Date.now();
    for (let i = 1; i <= args.ingestProcesses; i++) {
      const label = `ingest-${i}`;
      const out = fs.openSync(path.join(logs, `${label}.log`), 'a');
      const proc = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'apps', 'ingest.ts')], {
        cwd: ROOT,
        env,
        stdio: ['ignore', out, out],
      });
      fs.closeSync(out);
      children.push({ label, proc, workerId: `${os.hostname()}:${proc.pid}` });
    }
    progress(`started ${children.length} ingest processes (logs in ${logs})`);
    const ingestPids = new Set(children.map((c) => c.proc.pid).filter((p): p is number => p !== undefined));
    const timeline: [number, number][] = [];
    let maxTwice = 0;
    const observe = (upCount: number) => {
      timeline.push([round((Date.now() - spawnedAt) / 1000, 1), upCount]);
      maxTwice = Math.max(maxTwice, camerasRunTwice(ingestPids));
      return maxTwice > 0 ? ` (${maxTwice} cameras seen in two ingest processes at once)` : '';
    };
    const labelOf = (workerId: string) => children.find((c) => c.workerId === workerId)?.label ?? workerId;

    const read = async () => {
      const statuses = await readCameraStatuses(redis, prefix, ids);
      const now = Date.now();
      const up = (s: CameraStatus | undefined) => !!s && s.state === 'up' && now - s.updatedAt < FRESH_MS;
      return { statuses, upCount: ids.filter((id) => up(statuses.get(id))).length, up };
    };

    // 1. Every camera up.
    let timeToAllUp: number | null = null;
    const upDeadline = Date.now() + 300_000;
    let lastLine = 0;
    for (;;) {
      const { upCount } = await read();
      const dead = children.find((c) => c.proc.exitCode !== null);
      if (dead)
        throw new AppError('internal', `${dead.label} exited (${String(dead.proc.exitCode)}); see ${logs}`);
      if (upCount === ids.length) {
        timeToAllUp = (Date.now() - spawnedAt) / 1000;
        break;
      }
      if (Date.now() > upDeadline) break;
      if (Date.now() - lastLine >= 5000) {
        lastLine = Date.now();
        const twice = observe(upCount);
        progress(
          `cameras up ${upCount}/${ids.length} after ${((Date.now() - spawnedAt) / 1000).toFixed(0)} s${twice}`,
        );
      }
      await sleep(1000);
    }
    progress(
      timeToAllUp === null
        ? 'not every camera came up within 300 s; measuring anyway'
        : `all ${ids.length} cameras up after ${timeToAllUp.toFixed(1)} s; measuring ${args.durationS} s`,
    );
    await sleep(args.warmupS * 1000);

    // 2. The window.
    const simPids = new Set(cams.pids);
    const classify: Classifier = (p, root) => {
      if (p.pid === root) return { own: 'bench', reaped: 'system' };
      if (simPids.has(p.pid)) return { own: 'simulator', reaped: 'simulator' };
      return { own: 'system', reaped: 'system' };
    };
    const first = await read();
    const treeA = readProcessTree();
    const sysA = readSystemCpu();
    // Counters per camera and per process that published them: a camera that moved (or ran in two
    // processes at once) is counted in each process from the first time it was seen there.
    const seen = new Map<string, Map<string, { first: CameraStatus; last: CameraStatus }>>();
    const track = (statuses: Map<string, CameraStatus>) => {
      for (const [id, st] of statuses) {
        let byWorker = seen.get(id);
        if (!byWorker) seen.set(id, (byWorker = new Map()));
        const entry = byWorker.get(st.workerId);
        if (entry) entry.last = st;
        else byWorker.set(st.workerId, { first: st, last: st });
      }
    };
    const delta = (id: string, k: 'framesReceived' | 'framesProcessed') =>
      [...(seen.get(id)?.values() ?? [])].reduce((n, e) => n + Math.max(0, e.last[k] - e.first[k]), 0);
    track(first.statuses);
    let minUp = first.upCount;
    const windowStart = Date.now();
    lastLine = windowStart;
    let last = first;
    while (Date.now() - windowStart < args.durationS * 1000) {
      await sleep(1000);
      last = await read();
      track(last.statuses);
      minUp = Math.min(minUp, last.upCount);
      if (Date.now() - lastLine >= 5000) {
        lastLine = Date.now();
        observe(last.upCount);
        const received = ids.reduce((n, id) => n + delta(id, 'framesReceived'), 0);
        progress(
          `t=${((Date.now() - windowStart) / 1000).toFixed(0)}s cameras up ${last.upCount}/${ids.length} · ` +
            `received ${(received / ((Date.now() - windowStart) / 1000)).toFixed(1)} frames/s in all`,
        );
      }
    }
    const treeB = readProcessTree();
    const sysB = readSystemCpu();
    const twiceAtEnd = camerasRunTwice(ingestPids);
    maxTwice = Math.max(maxTwice, twiceAtEnd);
    const windowS = (treeB.atMs - treeA.atMs) / 1000;
    const cpu = cpuBetween(treeA, treeB, classify, tps);
    const loadEnd = readLoadAverage();
    const received = ids.map((id) => delta(id, 'framesReceived'));
    const processed = ids.map((id) => delta(id, 'framesProcessed'));
    const assignment: Record<string, number> = {};
    let restarts = 0;
    for (const id of ids) {
      const s = last.statuses.get(id);
      const who = s ? labelOf(s.workerId) : 'none';
      assignment[who] = (assignment[who] ?? 0) + 1;
      restarts += s?.restarts ?? 0;
    }
    const perSecond = received.map((n) => n / windowS);
    const bins = [0, 0.25, 0.5, 0.75, 0.9, 1.1, Number.POSITIVE_INFINITY];
    const histogram = bins.slice(0, -1).map((lo, i) => {
      const hi = bins[i + 1]!;
      return {
        label: hi === Number.POSITIVE_INFINITY ? `≥ ${lo} fps` : `${lo}–${hi} fps`,
        cameras: perSecond.filter((v) => v >= lo && v < hi).length,
      };
    });
    const ffmpegRss = treeB.processes
      .filter((p) => p.comm === 'ffmpeg')
      .reduce((n, p) => n + memoryMib(p.pid), 0);
    const ffmpegCount = treeB.processes.filter((p) => p.comm === 'ffmpeg').length;
    const ingestRss = children.reduce((n, c) => n + (c.proc.pid ? memoryMib(c.proc.pid) : 0), 0);

    // 3. Failover.
    let failover: Fleet388Report['failover'] = null;
    if (args.failover && children.length >= 2) {
      const victim = children[0]!;
      const moved = ids.filter((id) => last.statuses.get(id)?.workerId === victim.workerId).length;
      const survivors = new Set(children.slice(1).map((c) => c.workerId));
      const timeoutS = Math.round(config.INGEST_LEASE_MS / 1000) + 180;
      progress(
        `failover: SIGKILL ${victim.label} (${moved} cameras); waiting for every camera up on the others`,
      );
      const killedAt = Date.now();
      victim.proc.kill('SIGKILL');
      let allUp: number | null = null;
      let upAtTimeout = 0;
      lastLine = killedAt;
      while (Date.now() - killedAt < timeoutS * 1000) {
        await sleep(500);
        const now = await read();
        const good = ids.filter((id) => {
          const s = now.statuses.get(id);
          return now.up(s) && survivors.has(s!.workerId) && (s!.lastFrameAt ?? 0) > killedAt;
        }).length;
        upAtTimeout = good;
        if (good === ids.length) {
          allUp = (Date.now() - killedAt) / 1000;
          break;
        }
        if (Date.now() - lastLine >= 5000) {
          lastLine = Date.now();
          const twice = observe(now.upCount);
          progress(
            `failover: ${good}/${ids.length} cameras up on the survivor after ${((Date.now() - killedAt) / 1000).toFixed(0)} s${twice}`,
          );
        }
      }
      failover = {
        killed: victim.label,
        cameras_moved: moved,
        all_up_s: allUp === null ? null : round(allUp, 1),
        timeout_s: timeoutS,
        cameras_up_at_timeout: upAtTimeout,
      };
    }

    progress('stopping the ingest processes (SIGTERM)');
    await stopChildren();

    return {
      schema: 'phat-nguoi/bench-fleet@1',
      mode: 'fleet388',
      started_at: startedAt.toISOString(),
      finished_at: new Date().toISOString(),
      machine: {
        ...(await machineInfo(config.FFMPEG_PATH)),
        load_average_start: loadStart,
        load_average_end: loadEnd,
        busy_cores: round(busyCores(sysA, sysB, windowS, tps), 3),
      },
      config: {
        cameras: ids.length,
        fps: args.fps,
        resolution: `${args.width}x${args.height}`,
        source_fps: args.sourceFps,
        decode: args.decode,
        analysed_width: args.analysedWidth,
        ingest_processes: children.length,
        capacity: args.cameras,
        lease_ms: config.INGEST_LEASE_MS,
        database: bdb.kind,
        queue_prefix: prefix,
        logs,
      },
      time_to_all_up_s: timeToAllUp === null ? null : round(timeToAllUp, 1),
      window_s: round(windowS, 2),
      cameras_up: { min: minUp, end: last.upCount },
      assignment,
      frames_per_camera: { received: spread(received), processed: spread(processed), histogram },
      restarts,
      cameras_in_two_processes: { max: maxTwice, end_of_window: twiceAtEnd },
      up_timeline: timeline,
      cpu: {
        system_s: round(cpu['system'] ?? 0, 2),
        simulator_s: round(cpu['simulator'] ?? 0, 2),
        bench_s: round(cpu['bench'] ?? 0, 2),
      },
      memory_mib: {
        ingest_processes: Math.round(ingestRss),
        ffmpeg: Math.round(ffmpegRss),
        ffmpeg_per_camera: ffmpegCount > 0 ? round(ffmpegRss / ffmpegCount, 1) : 0,
      },
      failover,
      shutdown_s: shutdown,
    };
  } finally {
    await closers.closeAll();
  }
}
