import { sql } from 'kysely';
import { mapDbErrors } from '../pg-errors.js';
import type { ApiTokenRow, DbExecutor } from '../schema.js';

/**
 * Personal access tokens of API clients. A token acts as its user (roles, scopes, disabled state). Only
 * sha256 of the secret is stored; the secret is shown once, when it is made.
 */

export interface ApiToken {
  id: number;
  userId: number;
  name: string;
  /** The first characters of the secret ('pnat_' + 6), to recognise a token in a list. */
  tokenPrefix: string;
  createdBy: string;
  createdAt: Date;
  expiresAt: Date | null;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}

export interface NewApiToken {
  userId: number;
  name: string;
  /** sha256 (hex) of the secret. */
  tokenHash: string;
  tokenPrefix: string;
  /** Actor making it: 'user:1', 'system:cli'. */
  createdBy: string;
  expiresAt?: Date | null;
}

const COLUMNS = [
  'id',
  'user_id',
  'name',
  'token_prefix',
  'created_by',
  'created_at',
  'expires_at',
  'last_used_at',
  'revoked_at',
] as const;

function toApiToken(row: Omit<ApiTokenRow, 'token_hash'>): ApiToken {
  return {
    id: row.id,
    userId: row.user_id,
    name: row.name,
    tokenPrefix: row.token_prefix,
    createdBy: row.created_by,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    lastUsedAt: row.last_used_at,
    revokedAt: row.revoked_at,
  };
}

export async function createApiToken(db: DbExecutor, t: NewApiToken): Promise<ApiToken> {
  const row = await mapDbErrors('api token insert', () =>
    db
      .insertInto('api_token')
      .values({
        user_id: t.userId,
        name: t.name,
        token_hash: t.tokenHash,
        token_prefix: t.tokenPrefix,
        created_by: t.createdBy,
        expires_at: t.expiresAt ?? null,
      })
      .returning(COLUMNS)
      .executeTakeFirstOrThrow(),
  );
  return toApiToken(row);
}

/** The token with this hash if it is neither revoked nor expired (by the database clock). */
export async function findLiveApiToken(db: DbExecutor, tokenHash: string): Promise<ApiToken | undefined> {
  const row = await db
    .selectFrom('api_token')
    .select(COLUMNS)
    .where('token_hash', '=', tokenHash)
    .where('revoked_at', 'is', null)
    .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', sql<Date>`now()`)]))
    .executeTakeFirst();
  return row && toApiToken(row);
}

/** Stamps last use, at most once per `minIntervalMs`. */
export async function touchApiToken(db: DbExecutor, id: number, minIntervalMs: number): Promise<void> {
  const secs = Math.max(0, Math.floor(minIntervalMs / 1000));
  await db
    .updateTable('api_token')
    .set({ last_used_at: sql<Date>`now()` })
    .where('id', '=', id)
    .where((eb) =>
      eb.or([
        eb('last_used_at', 'is', null),
        eb('last_used_at', '<=', sql<Date>`now() - make_interval(secs => ${secs})`),
      ]),
    )
    .execute();
}

export async function getApiToken(db: DbExecutor, id: number): Promise<ApiToken | undefined> {
  const row = await db.selectFrom('api_token').select(COLUMNS).where('id', '=', id).executeTakeFirst();
  return row && toApiToken(row);
}

/** A user's tokens, newest first, revoked ones included. */
export async function listApiTokens(db: DbExecutor, userId: number): Promise<ApiToken[]> {
  const rows = await db
    .selectFrom('api_token')
    .select(COLUMNS)
    .where('user_id', '=', userId)
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .execute();
  return rows.map(toApiToken);
}

/** Revokes a token; undefined when there is no such token or it was revoked already. */
export async function revokeApiToken(db: DbExecutor, id: number): Promise<ApiToken | undefined> {
  const row = await db
    .updateTable('api_token')
    .set({ revoked_at: sql<Date>`now()` })
    .where('id', '=', id)
    .where('revoked_at', 'is', null)
    .returning(COLUMNS)
    .executeTakeFirst();
  return row && toApiToken(row);
}
