import { AppError } from '../../core/errors.js';
import { mapDbErrors } from '../pg-errors.js';
import type { DbExecutor, JsonObject, PlateReadRow } from '../schema.js';

/**
 * Plate reads: every OCR result on a track, with the model that produced it. A plate is personal data
 * (Decree 13/2023): reads not attached to a violation are for short-term tracking and are the first
 * thing retention deletes.
 */

export interface PlateRead {
  id: number;
  violationId: number | null;
  cameraId: number;
  trackKey: string;
  plate: string;
  confidence: number;
  modelName: string;
  modelVersion: string;
  readAt: Date;
  details: JsonObject;
}

export interface NewPlateRead {
  violationId?: number | null;
  cameraId: number;
  trackKey: string;
  /** Compact form: uppercase letters and digits, Đ kept. */
  plate: string;
  confidence: number;
  modelName: string;
  modelVersion: string;
  readAt: Date;
  details?: JsonObject;
}

function toPlateRead(row: PlateReadRow): PlateRead {
  return {
    id: row.id,
    violationId: row.violation_id,
    cameraId: row.camera_id,
    trackKey: row.track_key,
    plate: row.plate,
    confidence: row.confidence,
    modelName: row.model_name,
    modelVersion: row.model_version,
    readAt: row.read_at,
    details: row.details,
  };
}

export async function addPlateRead(db: DbExecutor, read: NewPlateRead): Promise<PlateRead> {
  if (!(read.confidence >= 0 && read.confidence <= 1)) {
    throw new AppError('bad_request', 'plate read confidence must be within [0, 1]', { permanent: true });
  }
  const row = await mapDbErrors('plate read insert', () =>
    db
      .insertInto('plate_read')
      .values({
        violation_id: read.violationId ?? null,
        camera_id: read.cameraId,
        track_key: read.trackKey,
        plate: read.plate,
        confidence: read.confidence,
        model_name: read.modelName,
        model_version: read.modelVersion,
        read_at: read.readAt,
        details: JSON.stringify(read.details ?? {}),
      })
      .returningAll()
      .executeTakeFirstOrThrow(),
  );
  return toPlateRead(row);
}

/** The reads of one track, oldest first. */
export async function listPlateReadsForTrack(
  db: DbExecutor,
  cameraId: number,
  trackKey: string,
): Promise<PlateRead[]> {
  const rows = await db
    .selectFrom('plate_read')
    .selectAll()
    .where('camera_id', '=', cameraId)
    .where('track_key', '=', trackKey)
    .orderBy('read_at')
    .orderBy('id')
    .execute();
  return rows.map(toPlateRead);
}

/** The reads attached to a violation, best first. */
export async function listPlateReadsForViolation(db: DbExecutor, violationId: number): Promise<PlateRead[]> {
  const rows = await db
    .selectFrom('plate_read')
    .selectAll()
    .where('violation_id', '=', violationId)
    .orderBy('confidence', 'desc')
    .orderBy('id')
    .execute();
  return rows.map(toPlateRead);
}

/** Attaches a track's unattached reads to the violation recorded for it; returns how many. */
export async function attachPlateReadsToViolation(
  db: DbExecutor,
  link: { cameraId: number; trackKey: string; violationId: number },
): Promise<number> {
  const result = await db
    .updateTable('plate_read')
    .set({ violation_id: link.violationId })
    .where('camera_id', '=', link.cameraId)
    .where('track_key', '=', link.trackKey)
    .where('violation_id', 'is', null)
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}
