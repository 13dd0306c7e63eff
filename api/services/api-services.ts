import type { Redis } from 'ioredis';
import { errorMessage } from '../../core/errors.js';
import type { Database } from '../../db/database.js';
import { pingDatabase } from '../../db/health.js';
import { appendAudit } from '../../db/repositories/audit.repository.js';
import { listCameras } from '../../db/repositories/camera.repository.js';
import { getReviewClaim, listReviews } from '../../db/repositories/review.repository.js';
import {
  countViolations,
  getViolationById,
  listViolations,
  type ViolationWithEvidence,
} from '../../db/repositories/violation.repository.js';
import { readCameraStatuses, readLastSeen, type CameraStatus } from '../../pipeline/camera-status.js';

/** A camera down for longer than this raises an alert on the dashboard. */
export const CAMERA_DOWN_ALERT_MS = 30_000;
import type { EvidenceStore } from '../../violations/evidence-store.js';
import { inScope, type Viewer } from '../principal.js';
import { createAuthService, DEFAULT_AUTH_POLICY } from './auth.service.js';
import { createFleetMetrics } from './metrics.service.js';
import {
  createReviewService,
  DEFAULT_REVIEW_POLICY,
  toClaimView,
  toRepositoryScope,
  toReviewView,
  type ReviewPolicy,
} from './review.service.js';
import type { ApiServices, AuthPolicy, CameraView, DependencyHealth } from './types.js';
import { toViolationView } from './views.js';

export interface ApiServiceDeps {
  db: Database['db'];
  redis: Redis;
  queuePrefix: string;
  store: EvidenceStore;
  /** Sessions, lockout and password hashing (defaults: DEFAULT_AUTH_POLICY). */
  auth?: Partial<AuthPolicy>;
  /** Review leases and the second-review threshold (defaults: DEFAULT_REVIEW_POLICY). */
  review?: Partial<ReviewPolicy>;
}

/** The API's services over PostgreSQL (through db/ repositories), Redis (camera state) and the evidence store. */
export function createApiServices(deps: ApiServiceDeps): ApiServices {
  const { db, redis, queuePrefix, store } = deps;
  const auth = createAuthService(db, { ...DEFAULT_AUTH_POLICY, ...deps.auth });
  const review = createReviewService(db, { ...DEFAULT_REVIEW_POLICY, ...deps.review });

  /** The violation if it exists and lies in the viewer's scope (out of scope reads as missing). */
  const violationFor = async (id: number, viewer: Viewer): Promise<ViolationWithEvidence | undefined> => {
    const v = await getViolationById(db, id);
    return v && inScope(viewer.scope, { code: v.cameraCode, unit: v.cameraUnit }) ? v : undefined;
  };

  const camerasWithState = async (): Promise<CameraView[]> => {
    const cameras = await listCameras(db);
    let statuses = new Map<string, CameraStatus>();
    let lastSeen = new Map<string, number>();
    try {
      const ids = cameras.map((c) => String(c.id));
      [statuses, lastSeen] = await Promise.all([
        readCameraStatuses(redis, queuePrefix, ids),
        readLastSeen(redis, queuePrefix, ids),
      ]);
    } catch {
      // Redis down: every camera reads as down; /health reports Redis itself.
    }
    const now = Date.now();
    return cameras.map((c) => {
      const s = statuses.get(String(c.id));
      const state = s?.state ?? 'down';
      const since = s ? s.stateSince : (lastSeen.get(String(c.id)) ?? null);
      return {
        id: c.id,
        code: c.code,
        name: c.name,
        location: c.location,
        enabled: c.enabled,
        state,
        stateSince: since ? new Date(since).toISOString() : null,
        alert: state === 'down' && (since === null || now - since > CAMERA_DOWN_ALERT_MS),
        reason: s ? (s.reason ?? null) : 'no ingest worker reports this camera',
        lastFrameAt: s?.lastFrameAt ? new Date(s.lastFrameAt).toISOString() : null,
        fpsReceived: s?.fpsReceived ?? 0,
        framesReceived: s?.framesReceived ?? 0,
        framesProcessed: s?.framesProcessed ?? 0,
        framesDropped: s?.framesDropped ?? 0,
        restarts: s?.restarts ?? 0,
        inferenceMs: s?.inferenceMs ?? null,
        violationsFlagged: s?.violationsFlagged ?? 0,
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

  const fleetMetrics = createFleetMetrics(camerasWithState);

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

    async listViolations(q, viewer) {
      const scope = toRepositoryScope(viewer.scope);
      const filter = {
        ...(scope !== undefined ? { scope } : {}),
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
      // Plates are personal data: every read of them is recorded, with the ids shown.
      await appendAudit(db, {
        actor: viewer.actor,
        action: 'violation.list',
        entityType: 'violation',
        details: { ids: page.items.map((v) => v.id) },
      });
      return { items: page.items.map((v) => toViolationView(v, [])), total, nextCursor: page.nextCursor };
    },

    async getViolation(id, viewer) {
      const v = await violationFor(id, viewer);
      if (!v) return undefined;
      const [reviews, claim] = await Promise.all([listReviews(db, id), getReviewClaim(db, id)]);
      await appendAudit(db, {
        actor: viewer.actor,
        action: 'violation.view',
        entityType: 'violation',
        entityId: id,
      });
      return {
        ...toViolationView(v, v.evidence),
        reviews: reviews.map(toReviewView),
        claim: claim ? toClaimView(claim, viewer.userId) : null,
      };
    },

    async readEvidence(violationId, sha256, viewer) {
      const v = await violationFor(violationId, viewer);
      const asset = v?.evidence.find((e) => e.sha256 === sha256);
      if (!asset) return undefined;
      const bytes = await store.read(asset.storageUri);
      await appendAudit(db, {
        actor: viewer.actor,
        action: 'evidence.view',
        entityType: 'violation',
        entityId: violationId,
        details: { kind: asset.kind, sha256 },
      });
      return { mediaType: asset.mediaType, bytes };
    },

    async metrics() {
      await fleetMetrics.refresh();
      return { contentType: fleetMetrics.registry.contentType, body: await fleetMetrics.registry.metrics() };
    },

    auth,
    review,
  };
}
