import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { errorMessage } from '../core/errors.js';

/**
 * Camera assignment across any number of ingest workers on any number of machines, through Redis leases:
 *
 * - A worker runs a camera only while it holds the camera's lease (`SET NX PX`), renewed every `renewMs`
 *   with a compare-and-extend script; a worker that dies stops renewing, and its cameras are free once
 *   `leaseMs` passes (takeover within leaseMs + renewMs).
 * - A worker that cannot renew in time (Redis unreachable, a long pause) stops the camera itself before
 *   its lease can expire elsewhere: it trusts a lease only until `renewedAt + leaseMs - safetyMs`.
 * - Fair share: each worker aims at ceil(cameras / live workers), capped by its own capacity; one holding
 *   more than its share releases the surplus, so cameras spread out when workers join.
 * - Ramp: a round starts at most `maxStartsPerRound` cameras; while cameras are still to be taken the
 *   next round follows after `rampMs`, not after a whole `renewMs`, so a worker that takes over a dead
 *   worker's hundreds of cameras does it within seconds, in small steps that leave its event loop (and
 *   the renewals, which run on their own timer) room. The first round waits one `renewMs`, so that
 *   workers started together see each other before they take cameras (no take-all-then-give-back).
 */
export interface LeaseOptions {
  redis: Redis;
  prefix: string;
  workerId?: string;
  /** Cameras this worker may run at most. */
  capacity: number;
  leaseMs?: number;
  renewMs?: number;
  safetyMs?: number;
  /** Pause between rounds while cameras are still to be taken (default 250 ms). */
  rampMs?: number;
  /** Cameras started per round at most (default 8). */
  maxStartsPerRound?: number;
  log: Logger;
  /** Start running a camera; called once per acquisition. */
  start(cameraId: string): Promise<void> | void;
  /** Stop running a camera; resolves once it has stopped. */
  stop(cameraId: string, reason: 'lost' | 'rebalance' | 'removed' | 'shutdown'): Promise<void> | void;
  /**
   * Shutdown of every camera at once (`stop()`), instead of `stop(cameraId, 'shutdown')` for each: it
   * calls `release()` as soon as no camera may run twice any more (their streams are down), so the leases
   * go back in one round trip before the slower rest (evidence) is finished. `release()` is idempotent;
   * `stop()` calls it after the hook when the hook did not.
   */
  stopAll?(cameraIds: string[], release: () => Promise<number>): Promise<void>;
}

const RENEW = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`;
/**
 * The live workers are a sorted set, each scored with the Redis-clock time its record expires: announcing
 * is one ZADD, counting one ZREMRANGEBYSCORE + ZCARD, whatever else the Redis holds. (Counting worker keys
 * with SCAN walked the whole keyspace, one round trip per 500 keys: with 45,000 unrelated keys and event
 * loops busy with hundreds of cameras, one count took minutes and no camera was taken meanwhile.)
 */
const ANNOUNCE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]) * 2)
return 1
`;
const COUNT_LIVE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
return redis.call('ZCARD', KEYS[1])
`;
const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;

export class CameraLeases {
  readonly workerId: string;
  private readonly held = new Map<string, { renewedAt: number }>();
  private cameras: string[] = [];
  private timer: NodeJS.Timeout | undefined;
  private renewTimer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;
  private renewing: Promise<void> | undefined;
  /** Cameras started per round at most, so a large fleet ramps up without delaying renewals. */
  private readonly maxStartsPerRound: number;
  private stopped = false;
  private readonly leaseMs: number;
  private readonly renewMs: number;
  private readonly safetyMs: number;
  private readonly rampMs: number;

  constructor(private readonly opts: LeaseOptions) {
    this.workerId = opts.workerId ?? randomUUID();
    this.leaseMs = opts.leaseMs ?? 15_000;
    this.renewMs = opts.renewMs ?? 3_000;
    this.safetyMs = opts.safetyMs ?? Math.min(2_000, this.leaseMs / 4);
    this.rampMs = opts.rampMs ?? Math.min(250, this.renewMs);
    this.maxStartsPerRound = opts.maxStartsPerRound ?? 8;
    if (this.renewMs * 2 > this.leaseMs - this.safetyMs) {
      throw new RangeError('renewMs must leave room for at least two renewals within a lease');
    }
  }

  private leaseKey(cameraId: string): string {
    return `${this.opts.prefix}:camera-lease:${cameraId}`;
  }
  private workerKey(workerId: string): string {
    return `${this.opts.prefix}:ingest-worker:${workerId}`;
  }
  private workersKey(): string {
    return `${this.opts.prefix}:ingest-workers`;
  }

  /** The cameras to share out (enabled cameras); may change at any time. */
  setCameras(cameraIds: readonly string[]): void {
    this.cameras = [...new Set(cameraIds)].sort();
  }

  get holding(): string[] {
    return [...this.held.keys()].sort();
  }

  start(): void {
    // Renewals run on their own timer: a long round of starting cameras must never let leases lapse.
    const renewLoop = () => {
      this.renewing = this.renew()
        .catch((err: unknown) =>
          this.opts.log.warn({ err: errorMessage(err) }, 'camera lease renewal failed'),
        )
        .finally(() => {
          if (!this.stopped) this.renewTimer = setTimeout(renewLoop, this.renewMs);
        });
    };
    renewLoop();
    const loop = () => {
      let more = false;
      this.ticking = this.tick()
        .then((m) => {
          more = m;
        })
        .catch((err: unknown) => this.opts.log.warn({ err: errorMessage(err) }, 'camera lease round failed'))
        .finally(() => {
          if (!this.stopped) this.timer = setTimeout(loop, more ? this.rampMs : this.renewMs);
        });
    };
    // The first round after one renewal period: the first renewal has announced this worker, and
    // workers started at the same time have announced themselves too.
    this.timer = setTimeout(loop, this.renewMs);
  }

  /** Drops what can no longer be trusted, announces this worker and renews every lease it holds. */
  async renew(): Promise<void> {
    const { redis } = this.opts;
    const now = Date.now();
    // Leases whose renewal is overdue cannot be trusted: stop those cameras first.
    const overdue = [...this.held].filter(
      ([, lease]) => now > lease.renewedAt + this.leaseMs - this.safetyMs,
    );
    await Promise.all(overdue.map(([cameraId]) => this.drop(cameraId, 'lost', false)));
    // The worker's record (with its capacity, for people reading Redis) and its place in the live set.
    const announced = await redis
      .pipeline()
      .set(this.workerKey(this.workerId), String(this.opts.capacity), 'PX', this.leaseMs)
      .eval(ANNOUNCE, 1, this.workersKey(), this.workerId, String(this.leaseMs))
      .exec();
    const failed = announced?.find(([err]) => err);
    if (failed) throw failed[0]!;
    const ids = [...this.held.keys()];
    if (ids.length === 0) return;
    const batch = redis.pipeline();
    for (const cameraId of ids)
      batch.eval(RENEW, 1, this.leaseKey(cameraId), this.workerId, String(this.leaseMs));
    const results = (await batch.exec()) ?? [];
    const renewedAt = Date.now();
    const lost: string[] = [];
    ids.forEach((cameraId, i) => {
      const [err, ok] = results[i] ?? [new Error('no reply'), 0];
      const lease = this.held.get(cameraId);
      if (!lease || err) return;
      if (ok === 1) lease.renewedAt = renewedAt;
      else lost.push(cameraId);
    });
    await Promise.all(lost.map((cameraId) => this.drop(cameraId, 'lost', false)));
  }

  /**
   * One round: drop removed cameras, rebalance, acquire a bounded number of free cameras. True when the
   * round stopped at its start limit with cameras still to take (the next round should follow soon).
   */
  async tick(): Promise<boolean> {
    const { redis } = this.opts;
    await this.renewing;
    for (const cameraId of [...this.held.keys()]) {
      if (!this.cameras.includes(cameraId)) await this.drop(cameraId, 'removed', true);
    }
    // 3. Fair share among the live workers.
    const workers = await this.liveWorkers();
    const share = Math.min(this.opts.capacity, Math.ceil(this.cameras.length / Math.max(1, workers)));
    if (this.held.size > share) {
      // The surplus is stopped in parallel (each release follows its own camera's stop).
      const surplus = [...this.held.keys()].sort().slice(share);
      await Promise.all(surplus.map((cameraId) => this.drop(cameraId, 'rebalance', true)));
    }
    // 4. Take free cameras up to the share, starting from a worker-specific offset to avoid stampedes.
    // Leases are tried in batches (one pipelined round trip of SET NX per batch, as many as may still
    // start this round), moving on past cameras others hold, until the round's limit or the share.
    let capped = false;
    if (this.held.size < share) {
      const offset = hash(this.workerId) % Math.max(1, this.cameras.length);
      const order = [...this.cameras.slice(offset), ...this.cameras.slice(0, offset)].filter(
        (cameraId) => !this.held.has(cameraId),
      );
      let started = 0;
      let next = 0;
      while (next < order.length && this.held.size < share && !this.stopped) {
        if (started >= this.maxStartsPerRound) {
          capped = true;
          break;
        }
        const want = Math.min(this.maxStartsPerRound - started, share - this.held.size);
        const batch = order.slice(next, next + want);
        next += batch.length;
        // The lease runs from before the request: trusting it from the reply would overstate it.
        const sentAt = Date.now();
        const pipeline = redis.pipeline();
        for (const cameraId of batch)
          pipeline.set(this.leaseKey(cameraId), this.workerId, 'PX', this.leaseMs, 'NX');
        const replies = (await pipeline.exec()) ?? [];
        for (const [i, cameraId] of batch.entries()) {
          const [err, got] = replies[i] ?? [new Error('no reply'), null];
          if (err || got !== 'OK') continue;
          if (this.stopped) {
            // stop() began while the batch was in flight: hand the lease straight back.
            await redis.eval(RELEASE, 1, this.leaseKey(cameraId), this.workerId).catch(() => undefined);
            continue;
          }
          this.held.set(cameraId, { renewedAt: sentAt });
          started += 1;
          try {
            await this.opts.start(cameraId);
          } catch (err) {
            this.opts.log.error(
              { camera: cameraId, err: errorMessage(err) },
              'camera failed to start; lease released',
            );
            await this.drop(cameraId, 'removed', true);
          }
        }
      }
    }
    return capped;
  }

  /** Workers whose announcement has not expired, this one included once it has announced. */
  private async liveWorkers(): Promise<number> {
    return Number(await this.opts.redis.eval(COUNT_LIVE, 1, this.workersKey()));
  }

  private async drop(
    cameraId: string,
    reason: 'lost' | 'rebalance' | 'removed' | 'shutdown',
    release: boolean,
  ): Promise<void> {
    if (!this.held.delete(cameraId)) return;
    this.opts.log.info({ camera: cameraId, reason }, 'camera released');
    try {
      await this.opts.stop(cameraId, reason);
    } finally {
      // Release only after the camera has stopped, so the next holder never overlaps with us.
      if (release) {
        await this.opts.redis.eval(RELEASE, 1, this.leaseKey(cameraId), this.workerId).catch(() => undefined);
      }
    }
  }

  /**
   * Stops every camera, then hands back the leases and the worker record in one pipelined round trip, so
   * others take the cameras over at once. Resolves with the cameras stopped and the leases released
   * (a lease already taken by another worker, or expired, is not this worker's to release).
   */
  async stop(): Promise<{ cameras: number; released: number }> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.renewTimer) clearTimeout(this.renewTimer);
    await this.ticking;
    await this.renewing;
    const ids = [...this.held.keys()];
    let releasing: Promise<number> | undefined;
    const release = () => (releasing ??= this.releaseAll(ids));
    if (this.opts.stopAll) {
      this.held.clear();
      this.opts.log.info({ cameras: ids.length }, 'stopping every camera (shutdown)');
      try {
        await this.opts.stopAll(ids, release);
      } finally {
        await release();
      }
    } else {
      // Without the hook: every camera through `stop`, in parallel; then the leases go back together.
      await Promise.all(ids.map((cameraId) => this.drop(cameraId, 'shutdown', false)));
      await release();
    }
    return { cameras: ids.length, released: await release() };
  }

  /** Every lease in `ids` (if still this worker's) and the worker record, in one round trip. */
  private async releaseAll(ids: readonly string[]): Promise<number> {
    const batch = this.opts.redis.pipeline();
    for (const cameraId of ids) batch.eval(RELEASE, 1, this.leaseKey(cameraId), this.workerId);
    batch.del(this.workerKey(this.workerId)).zrem(this.workersKey(), this.workerId);
    try {
      const replies = (await batch.exec()) ?? [];
      return replies.slice(0, ids.length).filter(([err, n]) => !err && n === 1).length;
    } catch (err) {
      // Unreleased leases expire on their own (leaseMs): slower takeover, never a camera run twice.
      this.opts.log.warn({ err: errorMessage(err), cameras: ids.length }, 'camera leases not released');
      return 0;
    }
  }
}

function hash(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619) >>> 0;
  return h;
}
