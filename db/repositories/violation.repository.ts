import type { ExpressionBuilder, SelectQueryBuilder } from 'kysely';
import { AppError } from '../../core/errors.js';
import { decodeCursor, encodeCursor } from '../cursor.js';
import { mapDbErrors } from '../pg-errors.js';
import type { DB, DbExecutor, JsonObject, PlateColor, ViolationRow, ViolationStatus } from '../schema.js';
import { toEvidenceAsset, type EvidenceAsset } from './evidence.repository.js';

/**
 * Violations. (camera_id, track_key, rule_code) is the exactly-once key: recording the same violation
 * twice (a job delivered again) returns the first one's id with created = false.
 */

export interface Violation {
  id: number;
  cameraId: number;
  trackKey: string;
  ruleCode: string;
  observedAt: Date;
  status: ViolationStatus;
  /** Compact form (uppercase letters and digits, Đ kept), or null when unread. */
  plate: string | null;
  plateColor: PlateColor | null;
  plateConfidence: number | null;
  vehicleClass: string;
  sceneConfigVersion: number;
  details: JsonObject;
  createdAt: Date;
  updatedAt: Date;
}

export interface ViolationListItem extends Violation {
  cameraCode: string;
  /** The police unit responsible for the camera. */
  cameraUnit: string | null;
}

export interface ViolationWithEvidence extends ViolationListItem {
  evidence: EvidenceAsset[];
}

export interface NewViolation {
  cameraId: number;
  trackKey: string;
  ruleCode: string;
  observedAt: Date;
  vehicleClass: string;
  sceneConfigVersion: number;
  plate?: string | null;
  plateColor?: PlateColor | null;
  plateConfidence?: number | null;
  details?: JsonObject;
}

/**
 * The cameras a user may see: those with one of these codes or belonging to one of these units.
 * Absent means every camera.
 */
export interface ViolationScope {
  cameraCodes: readonly string[];
  units: readonly string[];
}

export interface ViolationFilter {
  cameraId?: number;
  scope?: ViolationScope;
  ruleCode?: string;
  status?: ViolationStatus | readonly ViolationStatus[];
  plate?: string;
  /** observed_at >= from */
  from?: Date;
  /** observed_at < to */
  to?: Date;
}

export interface ViolationPageRequest extends ViolationFilter {
  /** 1..500, default 50. */
  limit?: number;
  /** nextCursor of the previous page. */
  cursor?: string;
}

export interface ViolationPage {
  items: ViolationListItem[];
  /** Cursor of the next page, or null on the last one. */
  nextCursor: string | null;
}

function toViolation(row: ViolationRow): Violation {
  return {
    id: row.id,
    cameraId: row.camera_id,
    trackKey: row.track_key,
    ruleCode: row.rule_code,
    observedAt: row.observed_at,
    status: row.status,
    plate: row.plate,
    plateColor: row.plate_color,
    plateConfidence: row.plate_confidence,
    vehicleClass: row.vehicle_class,
    sceneConfigVersion: row.scene_config_version,
    details: row.details,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/** Maps a violation row joined with its camera's code and unit (as camera_code, camera_unit). */
export function toViolationListItem(
  row: ViolationRow & { camera_code: string; camera_unit: string | null },
): ViolationListItem {
  return { ...toViolation(row), cameraCode: row.camera_code, cameraUnit: row.camera_unit };
}

/**
 * Inserts the violation unless one with the same (camera, track, rule) exists; either way returns its
 * id. Under concurrent recording of the same key exactly one caller gets created = true.
 */
export async function recordViolation(
  db: DbExecutor,
  v: NewViolation,
): Promise<{ id: number; created: boolean }> {
  if (Number.isNaN(v.observedAt.getTime())) {
    throw new AppError('bad_request', 'violation observedAt is an invalid Date', { permanent: true });
  }
  const inserted = await mapDbErrors(`violation ${v.ruleCode} insert`, () =>
    db
      .insertInto('violation')
      .values({
        camera_id: v.cameraId,
        track_key: v.trackKey,
        rule_code: v.ruleCode,
        observed_at: v.observedAt,
        vehicle_class: v.vehicleClass,
        scene_config_version: v.sceneConfigVersion,
        plate: v.plate ?? null,
        plate_color: v.plateColor ?? null,
        plate_confidence: v.plateConfidence ?? null,
        details: JSON.stringify(v.details ?? {}),
      })
      .onConflict((oc) => oc.columns(['camera_id', 'track_key', 'rule_code']).doNothing())
      .returning('id')
      .executeTakeFirst(),
  );
  if (inserted) return { id: inserted.id, created: true };

  // ON CONFLICT DO NOTHING waited for a concurrent inserter to commit; in READ COMMITTED this new
  // statement sees its row.
  const existing = await db
    .selectFrom('violation')
    .select('id')
    .where('camera_id', '=', v.cameraId)
    .where('track_key', '=', v.trackKey)
    .where('rule_code', '=', v.ruleCode)
    .executeTakeFirst();
  if (!existing) {
    throw new AppError(
      'conflict',
      'violation recorded concurrently and not visible to this transaction; retry',
      {
        details: { cameraId: v.cameraId, ruleCode: v.ruleCode },
      },
    );
  }
  return { id: existing.id, created: false };
}

type ViolationQuery = SelectQueryBuilder<DB, 'violation' | 'camera', object>;

/** The scope condition on a query joined with camera (false when the scope names nothing). */
export function scopeCondition(eb: ExpressionBuilder<DB, 'camera'>, scope: ViolationScope) {
  const terms = [];
  if (scope.cameraCodes.length > 0) terms.push(eb('camera.code', 'in', [...scope.cameraCodes]));
  if (scope.units.length > 0) terms.push(eb('camera.unit', 'in', [...scope.units]));
  return terms.length === 0 ? eb.val(false) : eb.or(terms);
}

function applyFilter(query: ViolationQuery, filter: ViolationFilter): ViolationQuery {
  let q = query;
  if (filter.scope !== undefined) {
    const scope = filter.scope;
    q = q.where((eb) => scopeCondition(eb, scope));
  }
  if (filter.cameraId !== undefined) q = q.where('violation.camera_id', '=', filter.cameraId);
  if (filter.ruleCode !== undefined) q = q.where('violation.rule_code', '=', filter.ruleCode);
  if (filter.status !== undefined) {
    const statuses = typeof filter.status === 'string' ? [filter.status] : [...filter.status];
    if (statuses.length === 0) q = q.where((eb: ExpressionBuilder<DB, 'violation'>) => eb.val(false));
    else q = q.where('violation.status', 'in', statuses);
  }
  if (filter.plate !== undefined) q = q.where('violation.plate', '=', filter.plate);
  if (filter.from !== undefined) q = q.where('violation.observed_at', '>=', filter.from);
  if (filter.to !== undefined) q = q.where('violation.observed_at', '<', filter.to);
  return q;
}

function baseQuery(db: DbExecutor): ViolationQuery {
  return db.selectFrom('violation').innerJoin('camera', 'camera.id', 'violation.camera_id');
}

/** A page of violations, newest observation first (ties by id), with a keyset cursor for the next. */
export async function listViolations(
  db: DbExecutor,
  request: ViolationPageRequest = {},
): Promise<ViolationPage> {
  const limit = request.limit ?? 50;
  if (!Number.isInteger(limit) || limit < 1 || limit > 500) {
    throw new AppError('bad_request', 'limit must be an integer from 1 to 500', { permanent: true });
  }
  let query = applyFilter(baseQuery(db), request);
  if (request.cursor !== undefined) {
    const after = decodeCursor(request.cursor);
    query = query.where((eb) =>
      eb(eb.refTuple('violation.observed_at', 'violation.id'), '<', eb.tuple(after.at, after.id)),
    );
  }
  const rows = await query
    .selectAll('violation')
    .select(['camera.code as camera_code', 'camera.unit as camera_unit'])
    .orderBy('violation.observed_at', 'desc')
    .orderBy('violation.id', 'desc')
    .limit(limit + 1)
    .execute();
  const items = rows.slice(0, limit).map(toViolationListItem);
  const last = items.at(-1);
  return {
    items,
    nextCursor: rows.length > limit && last ? encodeCursor({ at: last.observedAt, id: last.id }) : null,
  };
}

/** How many violations match (for queue sizes and page counts). */
export async function countViolations(db: DbExecutor, filter: ViolationFilter = {}): Promise<number> {
  const row = await applyFilter(baseQuery(db), filter)
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** Violations observed since `since`, per camera id (cameras with none are absent). */
export async function countViolationsSinceByCamera(
  db: DbExecutor,
  since: Date,
): Promise<Map<number, number>> {
  const rows = await db
    .selectFrom('violation')
    .select((eb) => ['camera_id', eb.fn.countAll<number>().as('n')])
    .where('observed_at', '>=', since)
    .groupBy('camera_id')
    .execute();
  return new Map(rows.map((r) => [Number(r.camera_id), Number(r.n)]));
}

export async function getViolationById(
  db: DbExecutor,
  id: number,
): Promise<ViolationWithEvidence | undefined> {
  const row = await baseQuery(db)
    .selectAll('violation')
    .select(['camera.code as camera_code', 'camera.unit as camera_unit'])
    .where('violation.id', '=', id)
    .executeTakeFirst();
  if (!row) return undefined;
  const assets = await db
    .selectFrom('evidence_asset')
    .selectAll()
    .where('violation_id', '=', id)
    .orderBy('kind')
    .execute();
  return { ...toViolationListItem(row), evidence: assets.map(toEvidenceAsset) };
}

/**
 * Moves a violation to `to` if its status is one of `from` (compare-and-set: of two reviewers
 * claiming the same violation, one gets it). Undefined when the violation is missing or not in `from`.
 */
export async function updateViolationStatus(
  db: DbExecutor,
  id: number,
  transition: { from: ViolationStatus | readonly ViolationStatus[]; to: ViolationStatus },
): Promise<Violation | undefined> {
  const from = typeof transition.from === 'string' ? [transition.from] : [...transition.from];
  if (from.length === 0) return undefined;
  const row = await db
    .updateTable('violation')
    .set({ status: transition.to })
    .where('id', '=', id)
    .where('status', 'in', from)
    .returningAll()
    .executeTakeFirst();
  return row && toViolation(row);
}

/** Records a corrected or late plate read. Undefined when there is no such violation. */
export async function setViolationPlate(
  db: DbExecutor,
  id: number,
  plate: { plate: string | null; plateColor?: PlateColor | null; plateConfidence?: number | null },
): Promise<Violation | undefined> {
  const row = await mapDbErrors('violation plate update', () =>
    db
      .updateTable('violation')
      .set({
        plate: plate.plate,
        plate_confidence: plate.plate === null ? null : (plate.plateConfidence ?? null),
        ...(plate.plateColor !== undefined && { plate_color: plate.plateColor }),
      })
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirst(),
  );
  return row && toViolation(row);
}
