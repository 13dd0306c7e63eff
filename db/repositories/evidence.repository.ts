import { AppError } from '../../core/errors.js';
import { mapDbErrors } from '../pg-errors.js';
import type { DbExecutor, EvidenceAssetRow, EvidenceKind } from '../schema.js';

/**
 * Evidence assets of a violation: at most one per kind, immutable once written. Recording the same
 * asset again (a retried job) returns the stored one; recording different content under the same kind
 * is a conflict, never an overwrite.
 */

export interface EvidenceAsset {
  id: number;
  violationId: number;
  kind: EvidenceKind;
  mediaType: string;
  /** Lowercase hex SHA-256 of the content. */
  sha256: string;
  sizeBytes: number;
  storageUri: string;
  createdAt: Date;
}

export interface NewEvidenceAsset {
  violationId: number;
  kind: EvidenceKind;
  mediaType: string;
  sha256: string;
  sizeBytes: number;
  storageUri: string;
}

export function toEvidenceAsset(row: EvidenceAssetRow): EvidenceAsset {
  return {
    id: row.id,
    violationId: row.violation_id,
    kind: row.kind,
    mediaType: row.media_type,
    sha256: row.sha256,
    sizeBytes: row.size_bytes,
    storageUri: row.storage_uri,
    createdAt: row.created_at,
  };
}

/** Idempotent on (violation, kind): `created` is false when the same asset was already recorded. */
export async function addAsset(
  db: DbExecutor,
  asset: NewEvidenceAsset,
): Promise<{ asset: EvidenceAsset; created: boolean }> {
  if (!/^[0-9a-f]{64}$/.test(asset.sha256)) {
    throw new AppError('evidence_invalid', 'evidence sha256 must be 64 lowercase hex digits', {
      permanent: true,
    });
  }
  if (!Number.isSafeInteger(asset.sizeBytes) || asset.sizeBytes < 0) {
    throw new AppError('evidence_invalid', 'evidence size must be a non-negative integer', {
      permanent: true,
    });
  }
  const inserted = await mapDbErrors(`evidence ${asset.kind} insert`, () =>
    db
      .insertInto('evidence_asset')
      .values({
        violation_id: asset.violationId,
        kind: asset.kind,
        media_type: asset.mediaType,
        sha256: asset.sha256,
        size_bytes: asset.sizeBytes,
        storage_uri: asset.storageUri,
      })
      .onConflict((oc) => oc.columns(['violation_id', 'kind']).doNothing())
      .returningAll()
      .executeTakeFirst(),
  );
  if (inserted) return { asset: toEvidenceAsset(inserted), created: true };

  const existing = await db
    .selectFrom('evidence_asset')
    .selectAll()
    .where('violation_id', '=', asset.violationId)
    .where('kind', '=', asset.kind)
    .executeTakeFirst();
  if (!existing) {
    // Only possible when the conflicting row is invisible to this snapshot (REPEATABLE READ).
    throw new AppError(
      'conflict',
      `evidence ${asset.kind} of violation ${asset.violationId}: concurrent insert`,
      {
        details: { violationId: asset.violationId, kind: asset.kind },
      },
    );
  }
  if (existing.sha256 !== asset.sha256 || existing.size_bytes !== asset.sizeBytes) {
    throw new AppError(
      'conflict',
      `evidence ${asset.kind} of violation ${asset.violationId} is already recorded with different content`,
      {
        permanent: true,
        details: { violationId: asset.violationId, kind: asset.kind, storedSha256: existing.sha256 },
      },
    );
  }
  return { asset: toEvidenceAsset(existing), created: false };
}

/** The assets of a violation, by kind. */
export async function listAssets(db: DbExecutor, violationId: number): Promise<EvidenceAsset[]> {
  const rows = await db
    .selectFrom('evidence_asset')
    .selectAll()
    .where('violation_id', '=', violationId)
    .orderBy('kind')
    .execute();
  return rows.map(toEvidenceAsset);
}
