import type { KeyObject } from 'node:crypto';
import type { Redis } from 'ioredis';
import { AppError, errorMessage } from '../../core/errors.js';
import type { Database } from '../../db/database.js';
import { pingDatabase } from '../../db/health.js';
import { appendAudit } from '../../db/repositories/audit.repository.js';
import { listCameras } from '../../db/repositories/camera.repository.js';
import { getReviewClaim, listReviews } from '../../db/repositories/review.repository.js';
import {
  countViolations,
  countViolationsSinceByCamera,
  getViolationById,
  listViolations,
  type ViolationWithEvidence,
} from '../../db/repositories/violation.repository.js';
import { readCameraStatuses, readLastSeen, type CameraStatus } from '../../pipeline/camera-status.js';
import { violationQueueStats } from '../../pipeline/queue-stats.js';

/** A camera down for longer than this raises an alert on the dashboard. */
export const CAMERA_DOWN_ALERT_MS = 30_000;
import type { EvidenceStore } from '../../violations/evidence-store.js';
import { checkEvidenceRows } from '../../violations/evidence-rows.js';
import { verifyEvidence } from '../../violations/evidence-verify.js';
import { createCaseService, type CaseServiceOptions } from '../../fines/case.service.js';
import { inScope, type Viewer } from '../principal.js';
import { createAuthService, DEFAULT_AUTH_POLICY } from './auth.service.js';
import { createFleetMetrics } from './metrics.service.js';
import {
  createPublicLookupService,
  DEFAULT_PUBLIC_LOOKUP_POLICY,
  publicLookupSecret,
  type PublicLookupPolicy,
} from './public-lookup.service.js';
import {
  createReviewService,
  DEFAULT_REVIEW_POLICY,
  toClaimView,
  toRepositoryScope,
  toReviewView,
  type ReviewPolicy,
} from './review.service.js';
import { createSceneService, type SceneServiceOptions } from './scene.service.js';
import { createHolidayService } from './holiday.service.js';
import { createSignalService } from './signal.service.js';
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
  /** Fine cases: the vehicle registry (default: the local table), the lookup URL printed on notices. */
  cases?: CaseServiceOptions;
  /** The citizen lookup (defaults: DEFAULT_PUBLIC_LOOKUP_POLICY and a random per-process secret). */
  publicLookup?: Partial<PublicLookupPolicy>;
  /**
   * The key evidence manifests must be signed with (the public half of EVIDENCE_SIGNING_KEY); without it
   * a signature is checked against the manifest's own key only (integrity, not who signed).
   */
  evidencePublicKey?: KeyObject;
  /** Snapshot waiting (defaults: DEFAULT_SCENE_SERVICE_OPTIONS). */
  scenes?: Partial<SceneServiceOptions>;
}

/** The API's services over PostgreSQL (through db/ repositories), Redis (camera state) and the evidence store. */
export function createApiServices(deps: ApiServiceDeps): ApiServices {
  const { db, redis, queuePrefix, store } = deps;
  const auth = createAuthService(db, { ...DEFAULT_AUTH_POLICY, ...deps.auth });
  const review = createReviewService(db, { ...DEFAULT_REVIEW_POLICY, ...deps.review });
  const cases = createCaseService(db, deps.cases);
  const publicLookup = createPublicLookupService({
    db,
    redis,
    keyPrefix: queuePrefix,
    store,
    policy: {
      ...DEFAULT_PUBLIC_LOOKUP_POLICY,
      secret: publicLookupSecret(undefined).secret,
      ...deps.publicLookup,
    },
  });

  /** The violation if it exists and lies in the viewer's scope (out of scope reads as missing). */
  const violationFor = async (id: number, viewer: Viewer): Promise<ViolationWithEvidence | undefined> => {
    const v = await getViolationById(db, id);
    return v && inScope(viewer.scope, { code: v.cameraCode, unit: v.cameraUnit }) ? v : undefined;
  };

  const camerasWithState = async (): Promise<CameraView[]> => {
    const [cameras, lastHour] = await Promise.all([
      listCameras(db),
      countViolationsSinceByCamera(db, new Date(Date.now() - 3_600_000)),
    ]);
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
        violationsLastHour: lastHour.get(c.id) ?? 0,
        lagMs: s?.lagMs ?? null,
        pendingEvidence: s?.pendingEvidence ?? 0,
        plateAttempts: s?.plateAttempts ?? null,
        platesRead: s?.platesRead ?? null,
        detector: s?.detector
          ? {
              model: s.detector.model,
              provider: s.detector.provider,
              requestedProvider: s.detector.requestedProvider,
              maxBatch: s.detector.maxBatch,
            }
          : null,
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
  const readQueue = violationQueueStats(redis, queuePrefix);

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

    async queueStats() {
      try {
        return await readQueue();
      } catch {
        return null; // Redis down: /health says so
      }
    },

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

    async verifyEvidence(violationId, viewer) {
      const v = await violationFor(violationId, viewer);
      if (!v) return undefined;
      const manifest = v.evidence.find((e) => e.kind === 'manifest');
      if (!manifest) throw new AppError('evidence_invalid', `violation ${violationId} has no manifest`);
      const result = checkEvidenceRows(
        await verifyEvidence({
          manifest: manifest.sha256,
          evidenceDir: store.root,
          ...(deps.evidencePublicKey ? { publicKey: deps.evidencePublicKey } : {}),
        }),
        v.evidence,
      );
      await appendAudit(db, {
        actor: viewer.actor,
        action: 'evidence.verify',
        entityType: 'violation',
        entityId: violationId,
        details: { ok: result.ok, problems: result.problems.length },
      });
      return {
        ok: result.ok,
        checkedAt: new Date().toISOString(),
        manifestSha256: result.manifestSha256,
        signature: result.signature,
        files: result.files,
        ...(result.clip ? { clip: result.clip } : {}),
        problems: result.problems,
      };
    },

    auth,
    review,
    cases,
    publicLookup,
    signals: createSignalService({ db, redis, queuePrefix }),
    holidays: createHolidayService(db),
    scenes: createSceneService({
      db,
      redis,
      queuePrefix,
      ...(deps.scenes ? { options: deps.scenes } : {}),
    }),
  };
}
