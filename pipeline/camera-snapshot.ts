import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import sharp from 'sharp';
import { errorMessage } from '../core/errors.js';

/**
 * A camera's latest frame as a small JPEG, for the scene editor, on demand: the API marks a camera as
 * wanted (a key with a short expiry) and whichever ingest worker holds the camera publishes a JPEG of
 * its decoded frames every few seconds while the mark lives. The API never opens the camera's stream
 * (it never sees the stream URL, and many cameras allow few concurrent clients), and a fleet nobody is
 * editing encodes nothing.
 */

const wantedKey = (prefix: string, cameraId: string) => `${prefix}:camera-snapshot-wanted:${cameraId}`;
const snapshotKey = (prefix: string, cameraId: string) => `${prefix}:camera-snapshot:${cameraId}`;

/** How long a request keeps the worker publishing. */
export const SNAPSHOT_WANTED_MS = 60_000;
/** A published snapshot is kept this long (a camera that stops is shown with its last frame, dated). */
export const SNAPSHOT_TTL_MS = 10 * 60_000;

export interface CameraSnapshot {
  jpeg: Buffer;
  /** When the frame left the decoder (epoch ms). */
  capturedAt: number;
  width: number;
  height: number;
}

/** Asks the worker holding the camera to publish snapshots for the next `ms`. */
export async function requestSnapshot(
  redis: Redis,
  prefix: string,
  cameraId: string,
  ms = SNAPSHOT_WANTED_MS,
): Promise<void> {
  await redis.set(wantedKey(prefix, cameraId), '1', 'PX', ms);
}

export async function isSnapshotWanted(redis: Redis, prefix: string, cameraId: string): Promise<boolean> {
  return (await redis.exists(wantedKey(prefix, cameraId))) === 1;
}

export async function publishSnapshot(
  redis: Redis,
  prefix: string,
  cameraId: string,
  snapshot: CameraSnapshot,
  ttlMs = SNAPSHOT_TTL_MS,
): Promise<void> {
  const key = snapshotKey(prefix, cameraId);
  await redis
    .multi()
    .hset(key, {
      jpeg: snapshot.jpeg,
      capturedAt: String(snapshot.capturedAt),
      width: String(snapshot.width),
      height: String(snapshot.height),
    })
    .pexpire(key, ttlMs)
    .exec();
}

/** The latest snapshot of the camera, or undefined when none was published (or it expired). */
export async function readSnapshot(
  redis: Redis,
  prefix: string,
  cameraId: string,
): Promise<CameraSnapshot | undefined> {
  const h = await redis.hgetallBuffer(snapshotKey(prefix, cameraId));
  const jpeg = h['jpeg'];
  const capturedAt = Number(h['capturedAt']?.toString());
  const width = Number(h['width']?.toString());
  const height = Number(h['height']?.toString());
  if (!jpeg || jpeg.length === 0 || !Number.isFinite(capturedAt) || !(width > 0) || !(height > 0)) {
    return undefined;
  }
  return { jpeg, capturedAt, width, height };
}

export interface SnapshotPublisherOptions {
  redis: Redis;
  prefix: string;
  cameraId: string;
  log: Logger;
  /** At most one snapshot this often while wanted. */
  intervalMs?: number;
  /** How often the worker asks Redis whether anyone wants snapshots of this camera. */
  checkMs?: number;
  /** Frames wider than this are scaled down. */
  maxWidth?: number;
  quality?: number;
}

/**
 * Runs beside a camera's pipeline in the ingest process: `offer` every decoded frame; while a
 * snapshot is wanted, one frame every `intervalMs` is encoded and published. Never throws and never
 * holds a frame: a failure is logged at debug and the next frame tries again.
 */
export class SnapshotPublisher {
  private wanted = false;
  private lastCheck = 0;
  private lastPublish = 0;
  private checking = false;
  private busy = false;
  private readonly intervalMs: number;
  private readonly checkMs: number;
  private readonly maxWidth: number;
  private readonly quality: number;
  /** Snapshots published so far. */
  published = 0;

  constructor(private readonly opts: SnapshotPublisherOptions) {
    this.intervalMs = opts.intervalMs ?? 2_000;
    this.checkMs = opts.checkMs ?? 1_000;
    this.maxWidth = opts.maxWidth ?? 960;
    this.quality = opts.quality ?? 80;
  }

  offer(frame: { data: Buffer; width: number; height: number; capturedAt: number }): void {
    const now = Date.now();
    if (!this.checking && now - this.lastCheck >= this.checkMs) {
      this.checking = true;
      this.lastCheck = now;
      isSnapshotWanted(this.opts.redis, this.opts.prefix, this.opts.cameraId)
        .then((wanted) => {
          this.wanted = wanted;
        })
        .catch((err: unknown) => this.opts.log.debug({ err: errorMessage(err) }, 'snapshot check failed'))
        .finally(() => {
          this.checking = false;
        });
    }
    if (!this.wanted || this.busy || now - this.lastPublish < this.intervalMs) return;
    this.busy = true;
    this.lastPublish = now;
    // A copy: the frame's buffer belongs to the pipeline once this returns.
    const pixels = Buffer.from(frame.data);
    void this.encodeAndPublish(pixels, frame.width, frame.height, frame.capturedAt).finally(() => {
      this.busy = false;
    });
  }

  private async encodeAndPublish(data: Buffer, width: number, height: number, capturedAt: number) {
    try {
      let image = sharp(data, { raw: { width, height, channels: 3 } });
      let outW = width;
      let outH = height;
      if (width > this.maxWidth) {
        outW = this.maxWidth;
        outH = Math.round((height * this.maxWidth) / width);
        image = image.resize(outW, outH);
      }
      const jpeg = await image.jpeg({ quality: this.quality }).toBuffer();
      await publishSnapshot(this.opts.redis, this.opts.prefix, this.opts.cameraId, {
        jpeg,
        capturedAt,
        width: outW,
        height: outH,
      });
      this.published += 1;
    } catch (err) {
      this.opts.log.debug({ err: errorMessage(err) }, 'snapshot not published');
    }
  }
}
