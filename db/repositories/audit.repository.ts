import { sql } from 'kysely';
import { AppError } from '../../core/errors.js';
import { AUDIT_GENESIS_HASH, auditCanonical, auditHash } from '../audit-canonical.js';
import { mapDbErrors } from '../pg-errors.js';
import type { AuditLogRow, DbExecutor, JsonObject } from '../schema.js';

/**
 * The append-only audit log. The database assigns id (gapless), time, prev_hash and hash in a trigger
 * and refuses UPDATE, DELETE and TRUNCATE; verifyAuditChain recomputes the chain here, independently of
 * the trigger, to detect rows changed or removed behind the triggers' back (a superuser disabling them,
 * a restored backup, direct file edits).
 *
 * Append in the same transaction as the change it records. The append locks the chain's head row until
 * that transaction ends, so audited transactions should be short.
 */

export interface AuditEntry {
  /** Who: 'user:42', 'system:worker', 'citizen:lookup'... */
  actor: string;
  /** What, dotted lowercase: 'violation.approve', 'camera.update', 'notice.view'. */
  action: string;
  entityType: string;
  entityId?: string | number | null;
  /** Context; no secrets (it is kept forever and shown to auditors). */
  details?: JsonObject;
}

export interface AuditRecord {
  id: number;
  at: Date;
  actor: string;
  action: string;
  entityType: string;
  entityId: string | null;
  details: JsonObject;
  prevHash: string;
  hash: string;
}

export type AuditChainVerification =
  | { ok: true; checked: number; lastId: number; lastHash: string }
  | {
      ok: false;
      checked: number;
      /** The first row that does not follow from the previous one (for head_mismatch: the head's id). */
      brokenAtId: number;
      reason: 'id_gap' | 'prev_hash_mismatch' | 'hash_mismatch' | 'head_mismatch';
      expected: string;
      actual: string;
    };

function toAuditRecord(row: AuditLogRow): AuditRecord {
  return {
    id: row.id,
    at: row.at,
    actor: row.actor,
    action: row.action,
    entityType: row.entity_type,
    entityId: row.entity_id,
    details: row.details,
    prevHash: row.prev_hash,
    hash: row.hash,
  };
}

export async function appendAudit(
  db: DbExecutor,
  entry: AuditEntry,
): Promise<{ id: number; at: Date; hash: string }> {
  const entityId = entry.entityId === undefined || entry.entityId === null ? null : String(entry.entityId);
  return mapDbErrors(`audit ${entry.action} append`, () =>
    db
      .insertInto('audit_log')
      .values({
        actor: entry.actor,
        action: entry.action,
        entity_type: entry.entityType,
        entity_id: entityId,
        details: JSON.stringify(entry.details ?? {}),
      })
      .returning(['id', 'at', 'hash'])
      .executeTakeFirstOrThrow(),
  );
}

/** Entries about one entity, oldest first. */
export async function listAuditForEntity(
  db: DbExecutor,
  entityType: string,
  entityId: string | number,
  options: { limit?: number; afterId?: number } = {},
): Promise<AuditRecord[]> {
  const rows = await db
    .selectFrom('audit_log')
    .selectAll()
    .where('entity_type', '=', entityType)
    .where('entity_id', '=', String(entityId))
    .where('id', '>', options.afterId ?? 0)
    .orderBy('id')
    .limit(options.limit ?? 100)
    .execute();
  return rows.map(toAuditRecord);
}

/**
 * Walks the whole chain in id order: ids must run 1, 2, 3... without gaps, each prev_hash must be the
 * previous row's hash (zeros for the first), each hash must be sha256(prev_hash || canonical row), and
 * the head row must point at the last one. Runs in one REPEATABLE READ, read-only snapshot (unless
 * given a transaction) so that concurrent appends do not disturb it. Reports the first broken link.
 */
export async function verifyAuditChain(
  db: DbExecutor,
  options: { batchSize?: number } = {},
): Promise<AuditChainVerification> {
  const batchSize = options.batchSize ?? 1000;
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new AppError('bad_request', 'batchSize must be a positive integer', { permanent: true });
  }
  if (db.isTransaction) return verify(db, batchSize);
  return db
    .transaction()
    .setIsolationLevel('repeatable read')
    .setAccessMode('read only')
    .execute((trx) => verify(trx, batchSize));
}

async function verify(db: DbExecutor, batchSize: number): Promise<AuditChainVerification> {
  let lastId = 0;
  let lastHash = AUDIT_GENESIS_HASH;
  let checked = 0;
  for (;;) {
    const rows = await db
      .selectFrom('audit_log')
      .select([
        'id',
        'at',
        'actor',
        'action',
        'entity_type',
        'entity_id',
        sql<string>`details::text`.as('details_text'),
        'prev_hash',
        'hash',
      ])
      .where('id', '>', lastId)
      .orderBy('id')
      .limit(batchSize)
      .execute();
    for (const row of rows) {
      const broken = (
        reason: 'id_gap' | 'prev_hash_mismatch' | 'hash_mismatch',
        expected: string,
        actual: string,
      ): AuditChainVerification => ({ ok: false, checked, brokenAtId: row.id, reason, expected, actual });
      if (row.id !== lastId + 1) return broken('id_gap', String(lastId + 1), String(row.id));
      if (row.prev_hash !== lastHash) return broken('prev_hash_mismatch', lastHash, row.prev_hash);
      const canonical = auditCanonical({
        id: row.id,
        at: row.at,
        actor: row.actor,
        action: row.action,
        entityType: row.entity_type,
        entityId: row.entity_id,
        detailsText: row.details_text,
      });
      const expected = auditHash(row.prev_hash, canonical);
      if (row.hash !== expected) return broken('hash_mismatch', expected, row.hash);
      lastId = row.id;
      lastHash = row.hash;
      checked++;
    }
    if (rows.length < batchSize) break;
  }
  const head = await db.selectFrom('audit_log_head').select(['last_id', 'last_hash']).executeTakeFirst();
  if (!head || head.last_id !== lastId || head.last_hash !== lastHash) {
    return {
      ok: false,
      checked,
      brokenAtId: head?.last_id ?? 0,
      reason: 'head_mismatch',
      expected: `${lastId}:${lastHash}`,
      actual: head ? `${head.last_id}:${head.last_hash}` : 'no head row',
    };
  }
  return { ok: true, checked, lastId, lastHash };
}
