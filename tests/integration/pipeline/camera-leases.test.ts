/**
 * Camera assignment with real processes and the real Redis: cameras spread over the workers, a worker
 * killed with SIGKILL has its cameras taken over in time, a joining worker gets its share, and no camera
 * ever runs in two workers at once.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { CameraLeases } from '../../../pipeline/camera-leases.js';

const WORKER = fileURLToPath(new URL('./fixtures/lease-worker.ts', import.meta.url));
const ROOT = path.resolve(path.dirname(WORKER), '../../../..');
const LEASE_MS = 1500;
const RENEW_MS = 300;
const CAMERAS = 9;

interface Event {
  event: 'start' | 'stop' | 'ready';
  camera?: string;
  at: number;
  pid: number;
}

const events: Event[] = [];
const procs = new Map<number, ChildProcess>();
const killed = new Map<number, number>();
const prefix = `pn-test-leases-${process.pid}-${Date.now()}`;

function startWorker(capacity = 100): Promise<number> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      WORKER,
      prefix,
      String(capacity),
      String(CAMERAS),
      String(LEASE_MS),
      String(RENEW_MS),
    ],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let buf = '';
  return new Promise((resolve) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      buf += chunk.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const e = JSON.parse(buf.slice(0, nl)) as Event;
        buf = buf.slice(nl + 1);
        events.push(e);
        if (e.event === 'ready') {
          procs.set(e.pid, child);
          resolve(e.pid);
        }
      }
    });
  });
}

/** Who runs each camera now, from the events (a killed worker runs nothing from its death on). */
function owners(): Map<string, number[]> {
  const running = new Map<string, Set<number>>();
  for (const e of events) {
    if (!e.camera) continue;
    const set = running.get(e.camera) ?? new Set<number>();
    if (e.event === 'start') set.add(e.pid);
    else set.delete(e.pid);
    running.set(e.camera, set);
  }
  for (const set of running.values()) for (const pid of killed.keys()) set.delete(pid);
  return new Map([...running].map(([c, s]) => [c, [...s]]));
}

function perWorker(): Map<number, number> {
  const out = new Map<number, number>();
  for (const pids of owners().values()) for (const pid of pids) out.set(pid, (out.get(pid) ?? 0) + 1);
  return out;
}

/** No camera was ever run by two live workers at the same time. */
function overlaps(): string[] {
  const problems: string[] = [];
  const running = new Map<string, Map<number, number>>();
  for (const e of [...events].sort((a, b) => a.at - b.at)) {
    if (!e.camera) continue;
    const holders = running.get(e.camera) ?? new Map<number, number>();
    for (const [pid, since] of holders) {
      const deadAt = killed.get(pid);
      if (deadAt !== undefined && deadAt <= e.at) holders.delete(pid);
      void since;
    }
    if (e.event === 'start') {
      if (holders.size > 0)
        problems.push(`${e.camera} started by ${e.pid} while held by ${[...holders.keys()]}`);
      holders.set(e.pid, e.at);
    } else holders.delete(e.pid);
    running.set(e.camera, holders);
  }
  return problems;
}

afterAll(async () => {
  for (const child of procs.values()) if (child.exitCode === null) child.kill('SIGKILL');
  const redis = new Redis(process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379');
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length) await redis.del(...keys);
  await redis.quit();
});

describe('camera leases across worker processes', () => {
  it('shares the cameras out, takes over a killed worker’s cameras in time, rebalances on join', async () => {
    const [a, b, c] = await Promise.all([startWorker(), startWorker(), startWorker()]);
    await expect
      .poll(() => [...owners().values()].filter((p) => p.length === 1).length, { timeout: 10_000 })
      .toBe(CAMERAS);
    await expect.poll(() => [...perWorker().values()].sort(), { timeout: 10_000 }).toEqual([3, 3, 3]);

    // kill -9 one worker: its cameras must run elsewhere within lease + renewal (and well under 30 s).
    const victim = procs.get(b!)!;
    const before = [...owners()].filter(([, p]) => p.includes(b!)).map(([cam]) => cam);
    victim.kill('SIGKILL');
    const killedAt = Date.now();
    killed.set(b!, killedAt);
    await expect
      .poll(() => before.every((cam) => (owners().get(cam) ?? []).some((p) => p === a || p === c)), {
        timeout: 10_000,
        interval: 100,
      })
      .toBe(true);
    const takeoverMs = Date.now() - killedAt;
    expect(takeoverMs).toBeLessThan(LEASE_MS + 4 * RENEW_MS + 2000);
    expect([...perWorker().values()].sort()).toEqual([4, 5]);

    // A new worker joins: the others release their surplus and it gets its share.
    const d = await startWorker();
    await expect.poll(() => perWorker().get(d) ?? 0, { timeout: 10_000 }).toBeGreaterThanOrEqual(3);
    await expect
      .poll(() => [...owners().values()].filter((p) => p.length === 1).length, { timeout: 10_000 })
      .toBe(CAMERAS);

    expect(overlaps()).toEqual([]);
  }, 40_000);

  it('never gives a worker more cameras than its capacity', async () => {
    const small = await startWorker(1);
    await new Promise((r) => setTimeout(r, LEASE_MS));
    expect(perWorker().get(small) ?? 0).toBeLessThanOrEqual(1);
    expect(overlaps()).toEqual([]);
  });
});

describe('camera leases at fleet size (in one process)', () => {
  const fleet = Array.from({ length: 40 }, (_, i) => `cam-${String(i + 1).padStart(2, '0')}`);

  function worker(
    redis: Redis,
    prefix: string,
    log: { camera: string; what: string; at: number }[],
    stopAll?: (ids: string[], release: () => Promise<number>) => Promise<void>,
  ) {
    return new CameraLeases({
      ...(stopAll ? { stopAll } : {}),
      redis,
      prefix,
      capacity: 100,
      leaseMs: 6000,
      renewMs: 1000,
      log: pino({ level: 'silent' }),
      start: (camera) => void log.push({ camera, what: 'start', at: Date.now() }),
      stop: (camera, reason) => void log.push({ camera, what: reason, at: Date.now() }),
    });
  }

  it('ramps up a fleet many rounds large in seconds, not in rounds of renewMs', async () => {
    const redis = new Redis(process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379');
    const prefix = `pn-test-ramp-${process.pid}-${Date.now()}`;
    const log: { camera: string; what: string; at: number }[] = [];
    const leases = worker(redis, prefix, log);
    leases.setCameras(fleet);
    // Counting the live workers must not walk the keyspace (SCAN), whatever else the Redis holds.
    const scan = vi.spyOn(redis, 'scan');
    const startedAt = Date.now();
    leases.start();
    try {
      // 40 cameras at 8 a round: 5 rounds. One renewMs before the first, then 250 ms apart (not 1 s).
      await expect.poll(() => leases.holding.length, { timeout: 10_000, interval: 50 }).toBe(40);
      // Rounds renewMs apart would need 1 + 4 × 1 s; 250 ms apart, about 2 s.
      expect(Date.now() - startedAt).toBeLessThan(3200);
      expect(new Set(log.map((e) => e.camera)).size).toBe(40);
      expect(scan).not.toHaveBeenCalled();
    } finally {
      await leases.stop();
      const keys = await redis.keys(`${prefix}:*`);
      if (keys.length) await redis.del(...keys);
      await redis.quit();
    }
  });

  it('lets workers started together see each other before taking cameras (no give-back)', async () => {
    const redis = new Redis(process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379');
    const prefix = `pn-test-split-${process.pid}-${Date.now()}`;
    const log: { camera: string; what: string; at: number }[] = [];
    const a = worker(redis, prefix, log);
    const b = worker(redis, prefix, log);
    a.setCameras(fleet);
    b.setCameras(fleet);
    a.start();
    // B comes 0.6 s later: taking cameras at once, A would have taken 3 rounds (24 > its share of 20)
    // and given some back; waiting one renewMs (1 s) first, it sees B before taking any.
    await new Promise((r) => setTimeout(r, 600));
    b.start();
    try {
      await expect
        .poll(() => [a.holding.length, b.holding.length], { timeout: 15_000, interval: 50 })
        .toEqual([20, 20]);
      expect(a.holding.filter((c) => b.holding.includes(c))).toEqual([]);
      // Nothing was started and then given back for the other worker's share.
      expect(log.filter((e) => e.what !== 'start')).toEqual([]);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
      const keys = await redis.keys(`${prefix}:*`);
      if (keys.length) await redis.del(...keys);
      await redis.quit();
    }
  });

  it('stops the whole fleet at once at shutdown and hands every lease back in one round trip', async () => {
    const redis = new Redis(process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379');
    const prefix = `pn-test-shutdown-${process.pid}-${Date.now()}`;
    const log: { camera: string; what: string; at: number }[] = [];
    const leaseKeys = async () => (await redis.keys(`${prefix}:camera-lease:*`)).length;
    const seen: { ids: string[]; before: number; released: number; after: number }[] = [];
    const leases = worker(redis, prefix, log, async (ids, release) => {
      const before = await leaseKeys();
      const released = await release();
      // Released while the hook still runs (its evidence phase would come now): others may take over.
      seen.push({ ids, before, released, after: await leaseKeys() });
      await release(); // idempotent
    });
    leases.setCameras(fleet);
    leases.start();
    try {
      await expect.poll(() => leases.holding.length, { timeout: 10_000, interval: 50 }).toBe(40);
      const evals = vi.spyOn(redis, 'eval');
      const pipelines = vi.spyOn(redis, 'pipeline');
      expect(await leases.stop()).toEqual({ cameras: 40, released: 40 });
      expect(seen).toHaveLength(1);
      expect([...seen[0]!.ids].sort()).toEqual(fleet);
      expect(seen[0]).toMatchObject({ before: 40, released: 40, after: 0 });
      // No release one camera at a time: one pipeline (the leases and the worker record), no lone EVAL.
      expect(evals).not.toHaveBeenCalled();
      expect(pipelines).toHaveBeenCalledTimes(1);
      expect(await redis.zscore(`${prefix}:ingest-workers`, leases.workerId)).toBeNull();
      // The per-camera stop is not used for the shutdown.
      expect(log.filter((e) => e.what === 'shutdown')).toEqual([]);
    } finally {
      const keys = await redis.keys(`${prefix}:*`);
      if (keys.length) await redis.del(...keys);
      await redis.quit();
    }
  });
});
