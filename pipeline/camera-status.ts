import type { Redis } from 'ioredis';

/**
 * Live camera state, written by whichever ingest worker holds the camera and read by the API (health,
 * camera list, metrics, dashboard). Each record expires: a camera whose worker died reads as down.
 */
export interface CameraStatus {
  cameraId: string;
  code: string;
  state: 'starting' | 'up' | 'down';
  reason?: string | undefined;
  lastFrameAt: number | null;
  framesReceived: number;
  framesProcessed: number;
  framesDropped: number;
  restarts: number;
  fpsReceived: number;
  workerId: string;
  updatedAt: number;
}

const key = (prefix: string, cameraId: string) => `${prefix}:camera-status:${cameraId}`;

export async function publishCameraStatuses(
  redis: Redis,
  prefix: string,
  statuses: readonly CameraStatus[],
  ttlSeconds = 15,
): Promise<void> {
  if (statuses.length === 0) return;
  const multi = redis.multi();
  for (const s of statuses) multi.set(key(prefix, s.cameraId), JSON.stringify(s), 'EX', ttlSeconds);
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
