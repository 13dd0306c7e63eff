import type { Redis } from 'ioredis';
import { errorMessage } from '../../core/errors.js';
import type { Database } from '../../db/database.js';
import { pingDatabase } from '../../db/health.js';
import { listCameras } from '../../db/repositories/camera.repository.js';
import {
  countViolations,
  getViolationById,
  listViolations,
} from '../../db/repositories/violation.repository.js';
import type { ViolationListItem } from '../../db/repositories/violation.repository.js';
import type { EvidenceAsset } from '../../db/repositories/evidence.repository.js';
import { readCameraStatuses, type CameraStatus } from '../../pipeline/camera-status.js';
import type { EvidenceStore } from '../../violations/evidence-store.js';
import { createFleetMetrics } from './metrics.service.js';
import type { ApiServices, CameraView, DependencyHealth, ViolationView } from './types.js';

export interface ApiServiceDeps {
  db: Database['db'];
  redis: Redis;
  queuePrefix: string;
  store: EvidenceStore;
}

/** The API's services over PostgreSQL (through db/ repositories), Redis (camera state) and the evidence store. */
export function createApiServices(deps: ApiServiceDeps): ApiServices {
  const { db, redis, queuePrefix, store } = deps;

  const camerasWithState = async (): Promise<CameraView[]> => {
    const cameras = await listCameras(db);
    let statuses = new Map<string, CameraStatus>();
    try {
      statuses = await readCameraStatuses(
        redis,
        queuePrefix,
        cameras.map((c) => String(c.id)),
      );
    } catch {
      // Redis down: every camera reads as down; /health reports Redis itself.
    }
    return cameras.map((c) => {
      const s = statuses.get(String(c.id));
      return {
        id: c.id,
        code: c.code,
        name: c.name,
        location: c.location,
        enabled: c.enabled,
        state: s?.state ?? 'down',
        reason: s ? (s.reason ?? null) : 'no ingest worker reports this camera',
        lastFrameAt: s?.lastFrameAt ? new Date(s.lastFrameAt).toISOString() : null,
        fpsReceived: s?.fpsReceived ?? 0,
        framesReceived: s?.framesReceived ?? 0,
        framesProcessed: s?.framesProcessed ?? 0,
        framesDropped: s?.framesDropped ?? 0,
        restarts: s?.restarts ?? 0,
      };
    });
  };

  const pingRedis = async (): Promise<DependencyHealth> => {
    const started = performance.now();
    try {
      await redis.ping();
      return { ok: true, latencyMs: Math.round(performance.now() - started) };
    } catch (err) {
      return { ok: false, error: errorMessage(err) };
    }
  };

  const fleetMetrics = createFleetMetrics(async () => {
    const cameras = await listCameras(db);
    const statuses = await readCameraStatuses(
      redis,
      queuePrefix,
      cameras.map((c) => String(c.id)),
    );
    return cameras.map(
      (c) =>
        statuses.get(String(c.id)) ?? {
          cameraId: String(c.id),
          code: c.code,
          state: 'down',
          lastFrameAt: null,
          framesReceived: 0,
          framesProcessed: 0,
          framesDropped: 0,
          restarts: 0,
          fpsReceived: 0,
          workerId: '',
          updatedAt: 0,
        },
    );
  });

  return {
    async health() {
      const [database, redisHealth] = await Promise.all([pingDatabase(db), pingRedis()]);
      const cameras = database.ok
        ? (await camerasWithState()).map((c) => ({ code: c.code, state: c.state }))
        : [];
      const dbHealth: DependencyHealth = database.ok
        ? { ok: true, latencyMs: database.latencyMs }
        : { ok: false, error: database.error };
      const down = !database.ok || !redisHealth.ok;
      const someCameraDown = cameras.some((c) => c.state !== 'up');
      return {
        status: down ? 'down' : someCameraDown ? 'degraded' : 'ok',
        database: dbHealth,
        redis: redisHealth,
        cameras,
      };
    },

    listCameras: camerasWithState,

    async listViolations(q) {
      const filter = {
        ...(q.cameraId !== undefined ? { cameraId: q.cameraId } : {}),
        ...(q.ruleCode !== undefined ? { ruleCode: q.ruleCode } : {}),
        ...(q.status !== undefined ? { status: q.status as never } : {}),
        ...(q.from !== undefined ? { from: q.from } : {}),
        ...(q.to !== undefined ? { to: q.to } : {}),
      };
      const [page, total] = await Promise.all([
        listViolations(db, { ...filter, limit: q.limit, ...(q.cursor ? { cursor: q.cursor } : {}) }),
        countViolations(db, filter),
      ]);
      return { items: page.items.map((v) => toView(v, [])), total, nextCursor: page.nextCursor };
    },

    async getViolation(id) {
      const v = await getViolationById(db, id);
      return v ? toView(v, v.evidence) : undefined;
    },

    async readEvidence(violationId, sha256) {
      const v = await getViolationById(db, violationId);
      const asset = v?.evidence.find((e) => e.sha256 === sha256);
      if (!asset) return undefined;
      return { mediaType: asset.mediaType, bytes: await store.read(asset.storageUri) };
    },

    async metrics() {
      await fleetMetrics.refresh();
      return { contentType: fleetMetrics.registry.contentType, body: await fleetMetrics.registry.metrics() };
    },
  };
}

function toView(v: ViolationListItem, evidence: EvidenceAsset[]): ViolationView {
  return {
    id: v.id,
    cameraId: v.cameraId,
    cameraCode: v.cameraCode,
    ruleCode: v.ruleCode,
    status: v.status,
    observedAt: v.observedAt.toISOString(),
    vehicleClass: v.vehicleClass,
    plate: v.plate,
    sceneConfigVersion: v.sceneConfigVersion,
    details: v.details,
    evidence: evidence.map((e) => ({
      kind: e.kind,
      mediaType: e.mediaType,
      sha256: e.sha256,
      sizeBytes: e.sizeBytes,
      url: `/api/violations/${v.id}/evidence/${e.sha256}`,
    })),
    createdAt: v.createdAt.toISOString(),
  };
}
