import { sql } from 'kysely';
import { AppError } from '../../core/errors.js';
import { mapDbErrors } from '../pg-errors.js';
import type { CameraRow, DbExecutor } from '../schema.js';

/**
 * Cameras. The stream URL (rtsp_url) carries credentials: only the functions whose names say
 * "StreamUrl" return it, and no function here logs anything.
 */

export interface Camera {
  id: number;
  code: string;
  name: string;
  location: string;
  lat: number | null;
  lon: number | null;
  enabled: boolean;
  timezone: string;
  /** The police unit responsible for the camera; user_role.scope 'unit:<unit>' refers to it. */
  unit: string | null;
  /** Whether a stream URL is configured (the URL itself is not included). */
  hasStreamUrl: boolean;
  createdAt: Date;
  updatedAt: Date;
}

export interface CameraWithStreamUrl extends Camera {
  /** Secret: may embed a password. Never log it. */
  rtspUrl: string | null;
}

export interface CameraInput {
  code: string;
  name: string;
  location?: string;
  lat?: number | null;
  lon?: number | null;
  /** undefined keeps the stored URL on update; null clears it. */
  rtspUrl?: string | null;
  enabled?: boolean;
  /** IANA zone, default Asia/Ho_Chi_Minh. */
  timezone?: string;
  /** undefined keeps the stored unit on update; null clears it. */
  unit?: string | null;
}

export interface CameraListFilter {
  enabled?: boolean;
  codes?: readonly string[];
}

const PUBLIC_COLUMNS = [
  'id',
  'code',
  'name',
  'location',
  'lat',
  'lon',
  'enabled',
  'timezone',
  'unit',
  'created_at',
  'updated_at',
] as const;

const hasStreamUrl = sql<boolean>`rtsp_url IS NOT NULL`.as('has_stream_url');

type PublicRow = Pick<CameraRow, (typeof PUBLIC_COLUMNS)[number]> & { has_stream_url: boolean };

function toCamera(row: PublicRow): Camera {
  return {
    id: row.id,
    code: row.code,
    name: row.name,
    location: row.location,
    lat: row.lat,
    lon: row.lon,
    enabled: row.enabled,
    timezone: row.timezone,
    unit: row.unit,
    hasStreamUrl: row.has_stream_url,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function validate(input: CameraInput): void {
  if (input.timezone !== undefined) {
    try {
      new Intl.DateTimeFormat('en', { timeZone: input.timezone });
    } catch {
      throw new AppError('bad_request', `camera ${input.code}: unknown time zone`, { permanent: true });
    }
  }
  if ((input.lat === undefined || input.lat === null) !== (input.lon === undefined || input.lon === null)) {
    throw new AppError('bad_request', `camera ${input.code}: lat and lon go together`, { permanent: true });
  }
}

/**
 * Inserts the camera or updates the one with the same code. Fields left undefined keep their stored
 * value on update (and take the column default on insert).
 */
export async function upsertCameraByCode(db: DbExecutor, input: CameraInput): Promise<Camera> {
  validate(input);
  const values = {
    code: input.code,
    name: input.name,
    location: input.location,
    lat: input.lat,
    lon: input.lon,
    rtsp_url: input.rtspUrl,
    enabled: input.enabled,
    timezone: input.timezone,
    unit: input.unit,
  };
  const row = await mapDbErrors(`camera ${input.code} upsert`, () =>
    db
      .insertInto('camera')
      .values(values)
      .onConflict((oc) =>
        oc.column('code').doUpdateSet((eb) => ({
          name: eb.ref('excluded.name'),
          ...(input.location !== undefined && { location: eb.ref('excluded.location') }),
          ...(input.lat !== undefined && { lat: eb.ref('excluded.lat') }),
          ...(input.lon !== undefined && { lon: eb.ref('excluded.lon') }),
          ...(input.rtspUrl !== undefined && { rtsp_url: eb.ref('excluded.rtsp_url') }),
          ...(input.enabled !== undefined && { enabled: eb.ref('excluded.enabled') }),
          ...(input.timezone !== undefined && { timezone: eb.ref('excluded.timezone') }),
          ...(input.unit !== undefined && { unit: eb.ref('excluded.unit') }),
        })),
      )
      .returning([...PUBLIC_COLUMNS, hasStreamUrl])
      .executeTakeFirstOrThrow(),
  );
  return toCamera(row);
}

/** Cameras ordered by code, without stream URLs. */
export async function listCameras(db: DbExecutor, filter: CameraListFilter = {}): Promise<Camera[]> {
  let query = db
    .selectFrom('camera')
    .select([...PUBLIC_COLUMNS, hasStreamUrl])
    .orderBy('code');
  if (filter.enabled !== undefined) query = query.where('enabled', '=', filter.enabled);
  if (filter.codes !== undefined) {
    if (filter.codes.length === 0) return [];
    query = query.where('code', 'in', [...filter.codes]);
  }
  return (await query.execute()).map(toCamera);
}

/** Cameras with their stream URLs, for the ingest process only. Never log the result. */
export async function listCamerasWithStreamUrls(
  db: DbExecutor,
  filter: CameraListFilter = {},
): Promise<CameraWithStreamUrl[]> {
  let query = db
    .selectFrom('camera')
    .select([...PUBLIC_COLUMNS, hasStreamUrl, 'rtsp_url'])
    .orderBy('code');
  if (filter.enabled !== undefined) query = query.where('enabled', '=', filter.enabled);
  if (filter.codes !== undefined) {
    if (filter.codes.length === 0) return [];
    query = query.where('code', 'in', [...filter.codes]);
  }
  return (await query.execute()).map((row) => ({ ...toCamera(row), rtspUrl: row.rtsp_url }));
}

export async function getCameraByCode(db: DbExecutor, code: string): Promise<Camera | undefined> {
  const row = await db
    .selectFrom('camera')
    .select([...PUBLIC_COLUMNS, hasStreamUrl])
    .where('code', '=', code)
    .executeTakeFirst();
  return row && toCamera(row);
}

export async function getCameraById(db: DbExecutor, id: number): Promise<Camera | undefined> {
  const row = await db
    .selectFrom('camera')
    .select([...PUBLIC_COLUMNS, hasStreamUrl])
    .where('id', '=', id)
    .executeTakeFirst();
  return row && toCamera(row);
}

/** One camera with its stream URL, for the ingest process only. Never log the result. */
export async function getCameraWithStreamUrl(
  db: DbExecutor,
  code: string,
): Promise<CameraWithStreamUrl | undefined> {
  const row = await db
    .selectFrom('camera')
    .select([...PUBLIC_COLUMNS, hasStreamUrl, 'rtsp_url'])
    .where('code', '=', code)
    .executeTakeFirst();
  return row && { ...toCamera(row), rtspUrl: row.rtsp_url };
}

/** Enables or disables a camera; undefined when there is no such camera. */
export async function setCameraEnabled(
  db: DbExecutor,
  id: number,
  enabled: boolean,
): Promise<Camera | undefined> {
  const row = await db
    .updateTable('camera')
    .set({ enabled })
    .where('id', '=', id)
    .returning([...PUBLIC_COLUMNS, hasStreamUrl])
    .executeTakeFirst();
  return row && toCamera(row);
}
