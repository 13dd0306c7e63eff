import { sql } from 'kysely';
import { AppError } from '../../core/errors.js';
import { mapDbErrors } from '../pg-errors.js';
import type { DbExecutor, UserSessionRow } from '../schema.js';

/**
 * Browser sessions of staff users. The caller hands in sha256 of the cookie secret, never the secret.
 * Expiry is judged by the database clock (now()), so every API process agrees on it.
 */

export interface UserSession {
  id: number;
  userId: number;
  createdAt: Date;
  lastSeenAt: Date;
  expiresAt: Date;
  revokedAt: Date | null;
  revokeReason: string | null;
}

export interface NewSession {
  userId: number;
  /** sha256 (hex) of the cookie secret. */
  tokenHash: string;
  /** Absolute lifetime. */
  maxAgeMs: number;
  clientIp?: string | null;
}

function toSession(row: Omit<UserSessionRow, 'token_hash' | 'client_ip'>): UserSession {
  return {
    id: row.id,
    userId: row.user_id,
    createdAt: row.created_at,
    lastSeenAt: row.last_seen_at,
    expiresAt: row.expires_at,
    revokedAt: row.revoked_at,
    revokeReason: row.revoke_reason,
  };
}

const COLUMNS = [
  'id',
  'user_id',
  'created_at',
  'last_seen_at',
  'expires_at',
  'revoked_at',
  'revoke_reason',
] as const;

function seconds(ms: number, what: string): number {
  if (!Number.isFinite(ms) || ms < 1000) {
    throw new AppError('bad_request', `${what} must be at least one second`, { permanent: true });
  }
  return Math.floor(ms / 1000);
}

export async function createSession(db: DbExecutor, s: NewSession): Promise<UserSession> {
  const secs = seconds(s.maxAgeMs, 'session lifetime');
  const row = await mapDbErrors('session insert', () =>
    db
      .insertInto('user_session')
      .values({
        user_id: s.userId,
        token_hash: s.tokenHash,
        expires_at: sql<Date>`now() + make_interval(secs => ${secs})`,
        client_ip: s.clientIp ? s.clientIp.slice(0, 64) : null,
      })
      .returning(COLUMNS)
      .executeTakeFirstOrThrow(),
  );
  return toSession(row);
}

/**
 * The live session with this token hash: not revoked, before its absolute expiry, and seen within
 * `idleMs`. Undefined otherwise (the user's state is checked by the caller).
 */
export async function findLiveSession(
  db: DbExecutor,
  tokenHash: string,
  idleMs: number,
): Promise<UserSession | undefined> {
  const idle = seconds(idleMs, 'session idle timeout');
  const row = await db
    .selectFrom('user_session')
    .select(COLUMNS)
    .where('token_hash', '=', tokenHash)
    .where('revoked_at', 'is', null)
    .where('expires_at', '>', sql<Date>`now()`)
    .where('last_seen_at', '>', sql<Date>`now() - make_interval(secs => ${idle})`)
    .executeTakeFirst();
  return row && toSession(row);
}

/** Marks the session as used now, unless that was done less than `minIntervalMs` ago (saves writes). */
export async function touchSession(db: DbExecutor, id: number, minIntervalMs: number): Promise<void> {
  const secs = Math.max(0, Math.floor(minIntervalMs / 1000));
  await db
    .updateTable('user_session')
    .set({ last_seen_at: sql<Date>`now()` })
    .where('id', '=', id)
    .where('last_seen_at', '<=', sql<Date>`now() - make_interval(secs => ${secs})`)
    .execute();
}

/** Ends one session; false when it was already ended or does not exist. */
export async function revokeSession(db: DbExecutor, id: number, reason: string): Promise<boolean> {
  const result = await mapDbErrors('session revoke', () =>
    db
      .updateTable('user_session')
      .set({ revoked_at: sql<Date>`now()`, revoke_reason: reason })
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .executeTakeFirst(),
  );
  return result.numUpdatedRows > 0n;
}

/** Ends every open session of a user (password change, account disabled); returns how many. */
export async function revokeUserSessions(db: DbExecutor, userId: number, reason: string): Promise<number> {
  const result = await mapDbErrors('session revoke', () =>
    db
      .updateTable('user_session')
      .set({ revoked_at: sql<Date>`now()`, revoke_reason: reason })
      .where('user_id', '=', userId)
      .where('revoked_at', 'is', null)
      .executeTakeFirst(),
  );
  return Number(result.numUpdatedRows);
}

/** Deletes sessions that ended (expired or revoked) more than `olderThanMs` ago; returns how many. */
export async function deleteEndedSessions(db: DbExecutor, olderThanMs: number): Promise<number> {
  const secs = Math.max(0, Math.floor(olderThanMs / 1000));
  const cutoff = sql<Date>`now() - make_interval(secs => ${secs})`;
  const result = await db
    .deleteFrom('user_session')
    .where((eb) => eb.or([eb('expires_at', '<', cutoff), eb('revoked_at', '<', cutoff)]))
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}
