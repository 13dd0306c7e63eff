/**
 * What both benchmark modes set up: the simulated cameras (one or more GStreamer RTSP servers), the
 * throwaway database with one camera row and scene per simulated camera, a unique queue prefix, and the
 * clean-up of all of it in reverse order.
 */
import type { Redis } from 'ioredis';
import type { Logger } from '../../core/logger.js';
import { errorMessage } from '../../core/errors.js';
import { upsertCameraByCode } from '../../db/repositories/camera.repository.js';
import { addSceneConfigVersion } from '../../db/repositories/scene-config.repository.js';
import type { JsonObject } from '../../db/schema.js';
import { startSimulatedFleet, type SimulatedFleet } from '../../ingest/sim/simulated-fleet.js';
import { parseSceneConfig, type SceneConfig } from '../../violations/scene-config.js';
import type { Database } from '../../db/database.js';

/** Mount points one RTSP server serves at most: its Python loop pushes every access unit of every client. */
export const MOUNTS_PER_SERVER = 128;

export interface BenchCameras {
  urls: string[];
  /** Process ids of the RTSP servers (their CPU is the simulated cameras', not the system's). */
  pids: number[];
  stop(): Promise<void>;
}

/** Serves `count` cameras looping `clip`, split over ceil(count / MOUNTS_PER_SERVER) servers. */
export async function startBenchCameras(opts: {
  count: number;
  clip: string;
  log: Logger;
}): Promise<BenchCameras> {
  const servers = Math.ceil(opts.count / MOUNTS_PER_SERVER);
  const fleets: SimulatedFleet[] = [];
  const stop = async () => {
    await Promise.all(fleets.map((f) => f.stop()));
  };
  try {
    let remaining = opts.count;
    for (let left = servers; left > 0; left--) {
      const count = Math.ceil(remaining / left);
      remaining -= count;
      fleets.push(
        await startSimulatedFleet({ count, port: 0, clip: opts.clip, log: opts.log, readyTimeoutMs: 60_000 }),
      );
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { urls: fleets.flatMap((f) => f.urls), pids: fleets.map((f) => f.pid), stop };
}

/**
 * The scene of every benchmark camera: a stop line across the frame at 55 % of its height counting
 * crossings downwards, under a signal that is always red, so every car driving down the shared clip past
 * the line is a red-light violation (two per 30 s loop, at about 16 s and 26 s; the same scene as
 * tests/integration/pipeline/frame-to-violation.test.ts).
 */
export function benchScene(): SceneConfig {
  return parseSceneConfig({
    stopLines: [
      { id: 'SL-1', a: { x: 0.05, y: 0.55 }, b: { x: 0.95, y: 0.55 }, towards: { x: 0.5, y: 0.95 } },
    ],
    signals: { main: { kind: 'fixed-time', greenS: 0.001, amberS: 0.001, redS: 86_400 } },
    minScore: 0.24,
    anchor: 'center',
  });
}

export interface BenchCameraRow {
  id: number;
  code: string;
  name: string;
  url: string;
  sceneVersion: number;
}

/** Registers the simulated cameras (codes BF-001…) with the bench scene. */
export async function registerCameras(
  db: Database['db'],
  urls: readonly string[],
  scene: SceneConfig,
): Promise<BenchCameraRow[]> {
  const rows: BenchCameraRow[] = [];
  for (const [i, url] of urls.entries()) {
    const code = `BF-${String(i + 1).padStart(3, '0')}`;
    const camera = await upsertCameraByCode(db, { code, name: `Bench camera ${i + 1}`, rtspUrl: url });
    const version = await addSceneConfigVersion(db, {
      cameraId: camera.id,
      config: scene as unknown as JsonObject,
      createdBy: 'bench-fleet',
    });
    rows.push({ id: camera.id, code, name: camera.name, url, sceneVersion: version.version });
  }
  return rows;
}

/** A queue prefix no one else uses. */
export function uniquePrefix(): string {
  return `pn-bench-${process.pid}-${Date.now().toString(36)}`;
}

/** Deletes every Redis key under `prefix` (queues, leases, camera status). */
export async function deletePrefix(redis: Redis, prefix: string): Promise<number> {
  let cursor = '0';
  let deleted = 0;
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) deleted += await redis.del(...keys);
  } while (cursor !== '0');
  return deleted;
}

/** Runs closers in reverse order of registration, logging (not throwing) their failures. */
export class Closers {
  private readonly list: { name: string; fn: () => Promise<unknown> | unknown }[] = [];
  constructor(private readonly log: Logger) {}
  add(name: string, fn: () => Promise<unknown> | unknown): void {
    this.list.push({ name, fn });
  }
  async closeAll(): Promise<void> {
    for (const { name, fn } of this.list.splice(0).reverse()) {
      try {
        await fn();
      } catch (err) {
        this.log.warn({ closer: name, err: errorMessage(err) }, 'clean-up step failed');
      }
    }
  }
}
