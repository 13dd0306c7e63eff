import { createHash } from 'node:crypto';

/**
 * The canonical form of an audit_log row and its chain hash, exactly as the database trigger
 * (migration 2026_11_22_090600_audit_log: audit_log_canonical, audit_log_chain) computes them, so that
 * the chain can be verified outside the database that wrote it.
 *
 * canonical = JSON array of strings, no spaces:
 *   ["v1", id, at (UTC ISO 8601 with milliseconds), actor, action, entity_type, entity_id or null, details]
 * where `details` is the jsonb column's own text form (details::text), taken verbatim.
 * hash = hex(sha256(utf8(prev_hash || canonical))); the first row's prev_hash is 64 zeros.
 *
 * JSON.stringify escapes strings as PostgreSQL's to_json() does (", \, \b \f \n \r \t, other control
 * characters as lowercase \u00xx, everything else verbatim), which is what makes the two agree.
 */

export const AUDIT_GENESIS_HASH = '0'.repeat(64);
export const AUDIT_CANONICAL_VERSION = 'v1';

export interface AuditCanonicalFields {
  id: number;
  at: Date;
  actor: string;
  action: string;
  entityType: string;
  entityId: string | null;
  /** details::text as PostgreSQL prints the jsonb value. */
  detailsText: string;
}

export function auditCanonical(row: AuditCanonicalFields): string {
  if (!Number.isSafeInteger(row.id)) throw new RangeError(`audit id ${row.id} is not a safe integer`);
  if (Number.isNaN(row.at.getTime())) throw new RangeError('audit time is an invalid Date');
  return JSON.stringify([
    AUDIT_CANONICAL_VERSION,
    String(row.id),
    row.at.toISOString(),
    row.actor,
    row.action,
    row.entityType,
    row.entityId,
    row.detailsText,
  ]);
}

export function auditHash(prevHash: string, canonical: string): string {
  return createHash('sha256')
    .update(prevHash + canonical, 'utf8')
    .digest('hex');
}
