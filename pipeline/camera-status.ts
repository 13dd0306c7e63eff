import type { Redis } from 'ioredis';

/**
 * Live camera state, written by whichever ingest worker holds the camera and read by the API (health,
 * camera list, metrics, dashboard). Each record expires: a camera whose worker died reads as down.
 */
export interface CameraStatus {
  cameraId: string;
  code: string;
  state: 'starting' | 'up' | 'down';
  /** When the camera entered its current state (epoch ms). */
  stateSince: number;
  reason?: string | undefined;
  lastFrameAt: number | null;
  framesReceived: number;
  framesProcessed: number;
  framesDropped: number;
  restarts: number;
  fpsReceived: number;
  /** Mean detector time per frame over the last minute, ms (pre-processing, inference, post-processing). */
  inferenceMs: number | null;
  violationsFlagged: number;
  /** Flags whose plate was read, and those of them with a consensus plate (absent: no reader). */
  plateAttempts?: number | undefined;
  /** Mean age of a frame when its detections are in, ms (see CameraPipeline.lagMs). */
  lagMs?: number | null | undefined;
  /** Flags waiting for their evidence (plate reads, clip, stills) on this camera. */
  pendingEvidence?: number | undefined;
  platesRead?: number | undefined;
  /** The detector serving the camera (absent in records from workers older than this field). */
  detector?: CameraDetectorInfo | undefined;
  workerId: string;
  updatedAt: number;
}

export interface CameraDetectorInfo {
  /** "name/version". */
  model: string;
  /** The execution provider in use: cpu, cuda or tensorrt (cpu after a fallback). */
  provider: string;
  /** What DETECTOR_PROVIDER asked for: differs from `provider` after a fallback. */
  requestedProvider: string;
  /** Most frames per inference call (1: no batching). */
  maxBatch: number;
}

const key = (prefix: string, cameraId: string) => `${prefix}:camera-status:${cameraId}`;
/** Kept without expiry: when a worker dies, how long its cameras have been silent. */
const lastSeenKey = (prefix: string, cameraId: string) => `${prefix}:camera-last-seen:${cameraId}`;

export async function publishCameraStatuses(
  redis: Redis,
  prefix: string,
  statuses: readonly CameraStatus[],
  ttlSeconds = 15,
): Promise<void> {
  if (statuses.length === 0) return;
  const multi = redis.multi();
  for (const s of statuses) {
    multi.set(key(prefix, s.cameraId), JSON.stringify(s), 'EX', ttlSeconds);
    if (s.state === 'up') multi.set(lastSeenKey(prefix, s.cameraId), String(s.updatedAt));
  }
  await multi.exec();
}

export async function readCameraStatuses(
  redis: Redis,
  prefix: string,
  cameraIds: readonly string[],
): Promise<Map<string, CameraStatus>> {
  const out = new Map<string, CameraStatus>();
  if (cameraIds.length === 0) return out;
  const values = await redis.mget(...cameraIds.map((id) => key(prefix, id)));
  values.forEach((value, i) => {
    if (!value) return;
    try {
      out.set(cameraIds[i]!, JSON.parse(value) as CameraStatus);
    } catch {
      // A corrupt record reads as no record: the camera is then reported down, which is the safe side.
      out.delete(cameraIds[i]!);
    }
  });
  return out;
}

/** When each camera was last reported up by any worker (epoch ms), for cameras no worker reports now. */
export async function readLastSeen(
  redis: Redis,
  prefix: string,
  cameraIds: readonly string[],
): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  if (cameraIds.length === 0) return out;
  const values = await redis.mget(...cameraIds.map((id) => lastSeenKey(prefix, id)));
  values.forEach((v, i) => {
    if (v && Number.isFinite(Number(v))) out.set(cameraIds[i]!, Number(v));
  });
  return out;
}
