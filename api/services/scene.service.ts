import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { AppError } from '../../core/errors.js';
import { inTransaction, type Database } from '../../db/database.js';
import { appendAudit } from '../../db/repositories/audit.repository.js';
import { getCameraById, type Camera } from '../../db/repositories/camera.repository.js';
import {
  addSceneConfigVersion,
  listSceneConfigVersions,
} from '../../db/repositories/scene-config.repository.js';
import type { JsonObject } from '../../db/schema.js';
import { readSnapshot, requestSnapshot, type CameraSnapshot } from '../../pipeline/camera-snapshot.js';
import type { SceneConfig } from '../../violations/scene-config.js';
import { inScope, type Viewer } from '../principal.js';

/**
 * The scene editor's side of the API: a camera's scene configuration versions (a save is a new
 * version, never an edit: violations name the version they were judged under) and the camera's live
 * snapshot, which the ingest worker holding the camera publishes in Redis on request
 * (pipeline/camera-snapshot.ts).
 */

export interface SceneVersionView {
  version: number;
  createdBy: string;
  createdAt: string;
}

export interface SceneView {
  camera: { id: number; code: string; name: string; location: string };
  /** The latest version, or null when the camera has none (rules off). */
  latest: (SceneVersionView & { config: JsonObject }) | null;
  /** Every version, newest first (without their configurations). */
  versions: SceneVersionView[];
}

export interface SnapshotAnswer extends CameraSnapshot {
  /** False when the worker sent no newer frame in time: this is the last one it sent. */
  fresh: boolean;
}

export interface SceneService {
  get(viewer: Viewer, cameraId: number): Promise<SceneView>;
  save(
    viewer: Viewer,
    cameraId: number,
    input: { basedOnVersion: number; config: SceneConfig },
  ): Promise<SceneVersionView & { config: JsonObject }>;
  snapshot(viewer: Viewer, cameraId: number): Promise<SnapshotAnswer>;
}

export interface SceneServiceOptions {
  /** How long a snapshot request waits for a frame newer than the request. */
  snapshotWaitMs: number;
  /** A snapshot younger than this is served at once. */
  snapshotFreshMs: number;
  pollMs: number;
}

export const DEFAULT_SCENE_SERVICE_OPTIONS: SceneServiceOptions = {
  snapshotWaitMs: 8_000,
  snapshotFreshMs: 5_000,
  pollMs: 200,
};

const view = (s: { version: number; createdBy: string; createdAt: Date }): SceneVersionView => ({
  version: s.version,
  createdBy: s.createdBy,
  createdAt: s.createdAt.toISOString(),
});

export function createSceneService(deps: {
  db: Database['db'];
  redis: Redis;
  queuePrefix: string;
  options?: Partial<SceneServiceOptions>;
}): SceneService {
  const { db, redis, queuePrefix } = deps;
  const opts = { ...DEFAULT_SCENE_SERVICE_OPTIONS, ...deps.options };

  /** The camera if it exists and lies in the viewer's scope (out of scope reads as missing). */
  const cameraFor = async (viewer: Viewer, cameraId: number): Promise<Camera> => {
    const camera = await getCameraById(db, cameraId);
    if (!camera || !inScope(viewer.scope, camera)) throw new AppError('not_found', 'no such camera');
    return camera;
  };

  return {
    async get(viewer, cameraId) {
      const camera = await cameraFor(viewer, cameraId);
      const versions = await listSceneConfigVersions(db, camera.id);
      const latest = versions[0];
      return {
        camera: { id: camera.id, code: camera.code, name: camera.name, location: camera.location },
        latest: latest ? { ...view(latest), config: latest.config } : null,
        versions: versions.map(view),
      };
    },

    async save(viewer, cameraId, input) {
      const camera = await cameraFor(viewer, cameraId);
      // The parsed form is stored: every default spelled out, so the version says exactly what the
      // rules will use even if a default changes later.
      const config = JSON.parse(JSON.stringify(input.config)) as JsonObject;
      const saved = await inTransaction(db, async (trx) => {
        const row = await addSceneConfigVersion(trx, {
          cameraId: camera.id,
          config,
          createdBy: viewer.actor,
          basedOnVersion: input.basedOnVersion,
        });
        await appendAudit(trx, {
          actor: viewer.actor,
          action: 'scene_config.create',
          entityType: 'camera',
          entityId: camera.id,
          details: {
            version: row.version,
            basedOnVersion: input.basedOnVersion,
            sha256: createHash('sha256').update(JSON.stringify(config)).digest('hex'),
          },
        });
        return row;
      });
      return { ...view(saved), config: saved.config };
    },

    async snapshot(viewer, cameraId) {
      const camera = await cameraFor(viewer, cameraId);
      const id = String(camera.id);
      const asked = Date.now();
      let last: CameraSnapshot | undefined;
      try {
        await requestSnapshot(redis, queuePrefix, id);
        last = await readSnapshot(redis, queuePrefix, id);
        while (!last || asked - last.capturedAt > opts.snapshotFreshMs) {
          if (Date.now() - asked >= opts.snapshotWaitMs) break;
          await new Promise((r) => setTimeout(r, opts.pollMs));
          last = await readSnapshot(redis, queuePrefix, id);
        }
      } catch (err) {
        throw new AppError('dependency_down', 'camera snapshots are unavailable (Redis)', { cause: err });
      }
      if (!last) {
        throw new AppError(
          'dependency_down',
          `camera ${camera.code} sent no picture: it is down or no ingest worker serves it`,
        );
      }
      // A frame shows passers-by and their plates: each view is recorded.
      await appendAudit(db, {
        actor: viewer.actor,
        action: 'camera.snapshot',
        entityType: 'camera',
        entityId: camera.id,
        details: { capturedAt: new Date(last.capturedAt).toISOString() },
      });
      return { ...last, fresh: asked - last.capturedAt <= opts.snapshotFreshMs };
    },
  };
}
