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
  log: Logger;
  /** Start running a camera; called once per acquisition. */
  start(cameraId: string): Promise<void> | void;
  /** Stop running a camera; resolves once it has stopped. */
  stop(cameraId: string, reason: 'lost' | 'rebalance' | 'removed' | 'shutdown'): Promise<void> | void;
}

const RENEW = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`;
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
  private readonly maxStartsPerRound = 8;
  private stopped = false;
  private readonly leaseMs: number;
  private readonly renewMs: number;
  private readonly safetyMs: number;

  constructor(private readonly opts: LeaseOptions) {
    this.workerId = opts.workerId ?? randomUUID();
    this.leaseMs = opts.leaseMs ?? 15_000;
    this.renewMs = opts.renewMs ?? 3_000;
    this.safetyMs = opts.safetyMs ?? Math.min(2_000, this.leaseMs / 4);
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
      this.ticking = this.tick()
        .catch((err: unknown) => this.opts.log.warn({ err: errorMessage(err) }, 'camera lease round failed'))
        .finally(() => {
          if (!this.stopped) this.timer = setTimeout(loop, this.renewMs);
        });
    };
    loop();
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
    await redis.set(this.workerKey(this.workerId), String(this.opts.capacity), 'PX', this.leaseMs);
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

  /** One round: drop removed cameras, rebalance, acquire a bounded number of free cameras. */
  async tick(): Promise<void> {
    const { redis } = this.opts;
    await this.renewing;
    for (const cameraId of [...this.held.keys()]) {
      if (!this.cameras.includes(cameraId)) await this.drop(cameraId, 'removed', true);
    }
    // 3. Fair share among the live workers.
    const workers = await this.liveWorkers();
    const share = Math.min(this.opts.capacity, Math.ceil(this.cameras.length / Math.max(1, workers)));
    while (this.held.size > share) {
      const surplus = [...this.held.keys()].sort().at(-1)!;
      await this.drop(surplus, 'rebalance', true);
    }
    // 4. Take free cameras up to the share, starting from a worker-specific offset to avoid stampedes.
    if (this.held.size < share) {
      const offset = hash(this.workerId) % Math.max(1, this.cameras.length);
      const order = [...this.cameras.slice(offset), ...this.cameras.slice(0, offset)];
      let started = 0;
      for (const cameraId of order) {
        if (this.held.size >= share || this.stopped || started >= this.maxStartsPerRound) break;
        if (this.held.has(cameraId)) continue;
        const got = await redis.set(this.leaseKey(cameraId), this.workerId, 'PX', this.leaseMs, 'NX');
        if (got !== 'OK') continue;
        this.held.set(cameraId, { renewedAt: Date.now() });
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

  private async liveWorkers(): Promise<number> {
    let cursor = '0';
    let count = 0;
    do {
      const [next, keys] = await this.opts.redis.scan(cursor, 'MATCH', this.workerKey('*'), 'COUNT', 500);
      cursor = next;
      count += keys.length;
    } while (cursor !== '0');
    return count;
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

  /** Stops every camera, then releases the leases and the worker record so others take over at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.renewTimer) clearTimeout(this.renewTimer);
    await this.ticking;
    await this.renewing;
    await Promise.all([...this.held.keys()].map((cameraId) => this.drop(cameraId, 'shutdown', true)));
    await this.opts.redis.del(this.workerKey(this.workerId)).catch(() => undefined);
  }
}

function hash(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619) >>> 0;
  return h;
}
