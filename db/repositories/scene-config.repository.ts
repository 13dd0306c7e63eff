import { sql } from 'kysely';
import { AppError } from '../../core/errors.js';
import { mapDbErrors } from '../pg-errors.js';
import type { DbExecutor, JsonObject, SceneConfigRow } from '../schema.js';

/**
 * Scene configuration versions of a camera (stop lines, lanes, signal regions...). Versions are
 * immutable (the database refuses UPDATE); a change is a new version numbered one above the latest.
 */

export interface SceneConfig {
  id: number;
  cameraId: number;
  version: number;
  config: JsonObject;
  createdBy: string;
  createdAt: Date;
}

export interface NewSceneConfig {
  cameraId: number;
  config: JsonObject;
  createdBy: string;
  /**
   * Optimistic concurrency: the version the editor started from (0 for a camera with none). When the
   * latest version is no longer this one, the call fails with a conflict instead of overwriting it.
   */
  basedOnVersion?: number;
}

function toSceneConfig(row: SceneConfigRow): SceneConfig {
  return {
    id: row.id,
    cameraId: row.camera_id,
    version: row.version,
    config: row.config,
    createdBy: row.created_by,
    createdAt: row.created_at,
  };
}

const MAX_ATTEMPTS = 5;

export async function addSceneConfigVersion(db: DbExecutor, input: NewSceneConfig): Promise<SceneConfig> {
  if (typeof input.config !== 'object' || input.config === null || Array.isArray(input.config)) {
    throw new AppError('bad_request', 'scene config must be a JSON object', { permanent: true });
  }
  const config = JSON.stringify(input.config);
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    const version =
      input.basedOnVersion !== undefined
        ? sql<number>`${input.basedOnVersion + 1}::integer`
        : sql<number>`(SELECT coalesce(max(version), 0) + 1 FROM scene_config WHERE camera_id = ${input.cameraId})`;
    // ON CONFLICT DO NOTHING rather than catching the unique violation: an error would abort the
    // caller's transaction, an empty result does not.
    const row = await mapDbErrors('scene config insert', () =>
      db
        .insertInto('scene_config')
        .values({ camera_id: input.cameraId, version, config, created_by: input.createdBy })
        .onConflict((oc) => oc.columns(['camera_id', 'version']).doNothing())
        .returningAll()
        .executeTakeFirst(),
    );
    if (row) return toSceneConfig(row);
    if (input.basedOnVersion !== undefined) {
      throw new AppError(
        'conflict',
        `scene config of camera ${input.cameraId} changed since version ${input.basedOnVersion}`,
        { permanent: true, details: { cameraId: input.cameraId, basedOnVersion: input.basedOnVersion } },
      );
    }
  }
  throw new AppError('conflict', `scene config of camera ${input.cameraId}: concurrent writers, try again`, {
    details: { cameraId: input.cameraId },
  });
}

export async function latestSceneConfig(db: DbExecutor, cameraId: number): Promise<SceneConfig | undefined> {
  const row = await db
    .selectFrom('scene_config')
    .selectAll()
    .where('camera_id', '=', cameraId)
    .orderBy('version', 'desc')
    .limit(1)
    .executeTakeFirst();
  return row && toSceneConfig(row);
}

export async function getSceneConfigVersion(
  db: DbExecutor,
  cameraId: number,
  version: number,
): Promise<SceneConfig | undefined> {
  const row = await db
    .selectFrom('scene_config')
    .selectAll()
    .where('camera_id', '=', cameraId)
    .where('version', '=', version)
    .executeTakeFirst();
  return row && toSceneConfig(row);
}

/** Every version of a camera's scene configuration, newest first. */
export async function listSceneConfigVersions(db: DbExecutor, cameraId: number): Promise<SceneConfig[]> {
  const rows = await db
    .selectFrom('scene_config')
    .selectAll()
    .where('camera_id', '=', cameraId)
    .orderBy('version', 'desc')
    .execute();
  return rows.map(toSceneConfig);
}
