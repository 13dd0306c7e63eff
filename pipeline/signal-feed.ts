import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { z } from 'zod';
import { errorMessage } from '../core/errors.js';
import type { SceneConfig } from '../violations/scene-config.js';
import { SIGNAL_PHASES, type SignalPhase, type SignalTimeline } from '../violations/signal-timeline.js';

/**
 * The relay between the API, where signal controllers post phase changes, and the ingest processes,
 * where the cameras' rules read them. One Redis stream per intersection (`<prefix>:signals:<id>`):
 * whichever ingest process holds a camera following the intersection reads it, wherever the camera's
 * lease took it. A stream (not pub/sub) because a camera that starts, or moves to another process,
 * mid-phase must learn the phase in force: a reader starts `backfillMs` back, and entries older than
 * that are trimmed as new ones arrive. The database table `signal_phase_report` is the durable record;
 * the stream only carries the last minutes.
 */

/** One phase change, as relayed: the controller's signal group, its colour, its time (epoch ms). */
export interface PhaseMessage {
  group: string;
  phase: SignalPhase;
  at: number;
}

const phaseMessages = z.array(
  z.strictObject({
    group: z.string().min(1).max(64),
    phase: z.enum(SIGNAL_PHASES),
    at: z.number(),
  }),
);

/** How far back the relay keeps, and a new reader starts: the signal timeline's own retention. */
export const SIGNAL_BACKFILL_MS = 15 * 60_000;

export function signalStreamKey(prefix: string, intersectionId: string): string {
  return `${prefix}:signals:${intersectionId}`;
}

/**
 * Appends one post's phase changes to the intersection's stream, trimming entries older than
 * `retentionMs` (approximately, as Redis trims whole nodes). Rejects when Redis is unreachable.
 */
export async function publishPhases(
  redis: Redis,
  prefix: string,
  intersectionId: string,
  phases: readonly PhaseMessage[],
  retentionMs = SIGNAL_BACKFILL_MS,
): Promise<string> {
  const minId = String(Math.max(0, Date.now() - retentionMs));
  const id = await redis.xadd(
    signalStreamKey(prefix, intersectionId),
    'MINID',
    '~',
    minId,
    '*',
    'phases',
    JSON.stringify(phases),
  );
  return id!;
}

export type PhaseListener = (phases: PhaseMessage[]) => void;

export interface SignalFeedReaderOptions {
  /** A client to duplicate: the reader blocks on a connection of its own. */
  redis: Redis;
  prefix: string;
  log: Logger;
  /** Longest a read blocks (also how soon a new subscription is read). */
  blockMs?: number;
  backfillMs?: number;
}

/**
 * Reads the streams of the intersections this process's cameras follow, on one blocking connection.
 * A new subscription (re)reads its intersection from `backfillMs` back; the phases already delivered
 * come again, which the signal timeline takes as the same reports.
 */
export class SignalFeedReader {
  private readonly subs = new Map<string, Set<PhaseListener>>();
  private readonly cursors = new Map<string, string>();
  private readonly blockMs: number;
  private readonly backfillMs: number;
  private readonly log: Logger;
  private conn: Redis | undefined;
  private loop: Promise<void> | undefined;
  private stopped = false;
  private wake: (() => void) | undefined;
  /** Entries read and delivered, for status and tests. */
  delivered = 0;

  constructor(private readonly opts: SignalFeedReaderOptions) {
    this.blockMs = opts.blockMs ?? 1000;
    this.backfillMs = opts.backfillMs ?? SIGNAL_BACKFILL_MS;
    this.log = opts.log.child({ module: 'signals' });
  }

  /** Delivers every phase change posted for the intersection; returns the unsubscribe. */
  subscribe(intersectionId: string, listener: PhaseListener): () => void {
    let set = this.subs.get(intersectionId);
    if (!set) {
      set = new Set();
      this.subs.set(intersectionId, set);
    }
    set.add(listener);
    this.cursors.delete(intersectionId); // read it again from the backfill for the newcomer
    this.wake?.();
    return () => {
      const s = this.subs.get(intersectionId);
      s?.delete(listener);
      if (s?.size === 0) {
        this.subs.delete(intersectionId);
        this.cursors.delete(intersectionId);
      }
    };
  }

  start(): void {
    if (this.loop) return;
    this.conn = this.opts.redis.duplicate({ maxRetriesPerRequest: null, enableOfflineQueue: true });
    this.conn.on('error', () => undefined); // reported by the read loop
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    this.conn?.disconnect();
    await this.loop;
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (!this.stopped) {
      const ids = [...this.subs.keys()];
      if (ids.length === 0) {
        await this.sleep(this.blockMs);
        continue;
      }
      const since = `${Math.max(0, Date.now() - this.backfillMs)}-0`;
      const cursors = ids.map((id) => this.cursors.get(id) ?? since);
      try {
        const result = await this.conn!.xread(
          'COUNT',
          1000,
          'BLOCK',
          this.blockMs,
          'STREAMS',
          ...ids.map((id) => signalStreamKey(this.opts.prefix, id)),
          ...cursors,
        );
        failures = 0;
        for (const [key, entries] of result ?? []) {
          const intersectionId = key.slice(`${this.opts.prefix}:signals:`.length);
          for (const [entryId, fields] of entries) {
            this.cursors.set(intersectionId, entryId);
            this.deliver(intersectionId, entryId, fields);
          }
        }
      } catch (err) {
        if (this.stopped) break;
        failures += 1;
        if (failures === 1 || failures % 30 === 0) {
          this.log.warn({ err: errorMessage(err), failures }, 'signal feed unreadable; retrying');
        }
        await this.sleep(Math.min(5000, 250 * failures));
      }
    }
  }

  private deliver(intersectionId: string, entryId: string, fields: string[]): void {
    const at = fields.indexOf('phases');
    let phases: PhaseMessage[];
    try {
      const parsed = phaseMessages.safeParse(JSON.parse(at >= 0 ? fields[at + 1]! : 'null'));
      if (!parsed.success) throw new Error('not a list of phase changes');
      phases = parsed.data;
    } catch (err) {
      this.log.warn({ intersectionId, entryId, err: errorMessage(err) }, 'signal feed entry ignored');
      return;
    }
    this.delivered += 1;
    for (const listener of this.subs.get(intersectionId) ?? []) {
      try {
        listener(phases);
      } catch (err) {
        this.log.error({ intersectionId, err: errorMessage(err) }, 'signal listener failed');
      }
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      const wake = () => done();
      this.wake = wake;
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
    });
  }
}

/**
 * Feeds a camera's external signal groups from the relay: each scene group takes the phases of its
 * intersection's controller group (`controllerGroup`, default the scene group's name). Returns the
 * function that stops it.
 */
export function followExternalSignals(
  reader: Pick<SignalFeedReader, 'subscribe'>,
  scene: SceneConfig,
  timeline: SignalTimeline,
  log: Logger,
): () => void {
  const stops: (() => void)[] = [];
  for (const [group, plan] of Object.entries(scene.signals)) {
    if (plan.kind !== 'external') continue;
    const controllerGroup = plan.controllerGroup ?? group;
    stops.push(
      reader.subscribe(plan.intersectionId, (phases) => {
        for (const p of phases) {
          if (p.group !== controllerGroup) continue;
          try {
            timeline.record(group, p.phase, p.at);
          } catch (err) {
            log.warn({ group, err: errorMessage(err) }, 'signal phase not recorded');
          }
        }
      }),
    );
  }
  return () => {
    for (const stop of stops) stop();
  };
}
