import { AppError } from '../../core/errors.js';
import { mapDbErrors } from '../pg-errors.js';
import type { AppUserRow, DbExecutor, UserRole } from '../schema.js';

/**
 * Staff accounts and roles. Usernames are stored lowercase. Only findUserForLogin returns the password
 * hash; nothing here logs.
 */

export interface RoleGrant {
  role: UserRole;
  /** '*' (everything) or a scope the API interprets, e.g. 'district:hoan-kiem'. */
  scope: string;
}

export interface User {
  id: number;
  username: string;
  displayName: string;
  unit: string | null;
  disabled: boolean;
  failedLogins: number;
  lockedUntil: Date | null;
  lastLoginAt: Date | null;
  roles: RoleGrant[];
  createdAt: Date;
  updatedAt: Date;
}

export interface UserWithCredentials extends User {
  /** Secret. Never log it. */
  passwordHash: string;
}

export interface NewUser {
  username: string;
  /** An encoded hash (e.g. scrypt/argon2 PHC string) made by the auth service, never a password. */
  passwordHash: string;
  displayName: string;
  unit?: string | null;
  roles?: readonly (UserRole | RoleGrant)[];
}

export function normalizeUsername(username: string): string {
  return username.trim().toLowerCase();
}

type PublicUserRow = Omit<AppUserRow, 'password_hash'>;

const PUBLIC_COLUMNS = [
  'id',
  'username',
  'display_name',
  'unit',
  'disabled',
  'failed_logins',
  'locked_until',
  'last_login_at',
  'created_at',
  'updated_at',
] as const;

function toUser(row: PublicUserRow, roles: RoleGrant[]): User {
  return {
    id: row.id,
    username: row.username,
    displayName: row.display_name,
    unit: row.unit,
    disabled: row.disabled,
    failedLogins: row.failed_logins,
    lockedUntil: row.locked_until,
    lastLoginAt: row.last_login_at,
    roles,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

async function rolesOf(db: DbExecutor, userId: number): Promise<RoleGrant[]> {
  const rows = await db
    .selectFrom('user_role')
    .select(['role', 'scope'])
    .where('user_id', '=', userId)
    .orderBy('role')
    .orderBy('scope')
    .execute();
  return rows.map((r) => ({ role: r.role, scope: r.scope }));
}

/** Creates the user with its roles (atomically: in a transaction of its own unless given one). */
export async function createUser(db: DbExecutor, input: NewUser): Promise<User> {
  const grants = (input.roles ?? []).map((r) => (typeof r === 'string' ? { role: r, scope: '*' } : r));
  const run = async (trx: DbExecutor): Promise<User> => {
    const row = await mapDbErrors(`user ${normalizeUsername(input.username)} insert`, () =>
      trx
        .insertInto('app_user')
        .values({
          username: normalizeUsername(input.username),
          password_hash: input.passwordHash,
          display_name: input.displayName,
          unit: input.unit ?? null,
        })
        .returning(PUBLIC_COLUMNS)
        .executeTakeFirstOrThrow(),
    );
    if (grants.length > 0) {
      await mapDbErrors('user role insert', () =>
        trx
          .insertInto('user_role')
          .values(grants.map((g) => ({ user_id: row.id, role: g.role, scope: g.scope })))
          .onConflict((oc) => oc.doNothing())
          .execute(),
      );
    }
    return toUser(row, await rolesOf(trx, row.id));
  };
  return db.isTransaction ? run(db) : db.transaction().execute(run);
}

export async function findUserByUsername(db: DbExecutor, username: string): Promise<User | undefined> {
  const row = await db
    .selectFrom('app_user')
    .select(PUBLIC_COLUMNS)
    .where('username', '=', normalizeUsername(username))
    .executeTakeFirst();
  return row && toUser(row, await rolesOf(db, row.id));
}

/** The user with its password hash, for the login check only. */
export async function findUserForLogin(
  db: DbExecutor,
  username: string,
): Promise<UserWithCredentials | undefined> {
  const row = await db
    .selectFrom('app_user')
    .selectAll()
    .where('username', '=', normalizeUsername(username))
    .executeTakeFirst();
  return row && { ...toUser(row, await rolesOf(db, row.id)), passwordHash: row.password_hash };
}

export async function getUserById(db: DbExecutor, id: number): Promise<User | undefined> {
  const row = await db.selectFrom('app_user').select(PUBLIC_COLUMNS).where('id', '=', id).executeTakeFirst();
  return row && toUser(row, await rolesOf(db, row.id));
}

/**
 * Counts a failed login atomically; once `maxFailures` consecutive failures are reached the account is
 * locked for `lockMs`. Undefined when there is no such user.
 */
export async function recordLoginFailure(
  db: DbExecutor,
  id: number,
  policy: { maxFailures: number; lockMs: number },
): Promise<{ failedLogins: number; lockedUntil: Date | null } | undefined> {
  if (!Number.isInteger(policy.maxFailures) || policy.maxFailures < 1 || !(policy.lockMs > 0)) {
    throw new AppError('bad_request', 'login lock policy needs maxFailures >= 1 and lockMs > 0', {
      permanent: true,
    });
  }
  const row = await db
    .updateTable('app_user')
    .set((eb) => ({
      failed_logins: eb('failed_logins', '+', 1),
      locked_until: eb
        .case()
        .when(eb('failed_logins', '+', 1), '>=', policy.maxFailures)
        .then(new Date(Date.now() + policy.lockMs))
        .else(eb.ref('locked_until'))
        .end(),
    }))
    .where('id', '=', id)
    .returning(['failed_logins', 'locked_until'])
    .executeTakeFirst();
  return row && { failedLogins: row.failed_logins, lockedUntil: row.locked_until };
}

/** Resets the failure count and lock, and stamps the login time. */
export async function recordLoginSuccess(db: DbExecutor, id: number): Promise<void> {
  await db
    .updateTable('app_user')
    .set({ failed_logins: 0, locked_until: null, last_login_at: new Date() })
    .where('id', '=', id)
    .execute();
}

export async function setPasswordHash(db: DbExecutor, id: number, passwordHash: string): Promise<boolean> {
  const result = await mapDbErrors('password update', () =>
    db.updateTable('app_user').set({ password_hash: passwordHash }).where('id', '=', id).executeTakeFirst(),
  );
  return result.numUpdatedRows > 0n;
}

export async function setUserDisabled(db: DbExecutor, id: number, disabled: boolean): Promise<boolean> {
  const result = await db.updateTable('app_user').set({ disabled }).where('id', '=', id).executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

/** Grants a role (no-op when already granted). */
export async function grantRole(db: DbExecutor, userId: number, grant: RoleGrant): Promise<void> {
  await mapDbErrors('role grant', () =>
    db
      .insertInto('user_role')
      .values({ user_id: userId, role: grant.role, scope: grant.scope })
      .onConflict((oc) => oc.doNothing())
      .execute(),
  );
}

/** Revokes a role; false when it was not granted. */
export async function revokeRole(db: DbExecutor, userId: number, grant: RoleGrant): Promise<boolean> {
  const result = await db
    .deleteFrom('user_role')
    .where('user_id', '=', userId)
    .where('role', '=', grant.role)
    .where('scope', '=', grant.scope)
    .executeTakeFirst();
  return result.numDeletedRows > 0n;
}

/** Every user with their roles, ordered by username (no password hashes). */
export async function listUsers(db: DbExecutor): Promise<User[]> {
  const rows = await db.selectFrom('app_user').select(PUBLIC_COLUMNS).orderBy('username').execute();
  if (rows.length === 0) return [];
  const grants = await db
    .selectFrom('user_role')
    .select(['user_id', 'role', 'scope'])
    .where(
      'user_id',
      'in',
      rows.map((r) => r.id),
    )
    .orderBy('role')
    .orderBy('scope')
    .execute();
  const byUser = new Map<number, RoleGrant[]>();
  for (const g of grants) {
    const list = byUser.get(g.user_id) ?? [];
    list.push({ role: g.role, scope: g.scope });
    byUser.set(g.user_id, list);
  }
  return rows.map((row) => toUser(row, byUser.get(row.id) ?? []));
}

/** Clears a login lock and the failure count (an admin's unlock); false when there is no such user. */
export async function unlockUser(db: DbExecutor, id: number): Promise<boolean> {
  const result = await db
    .updateTable('app_user')
    .set({ failed_logins: 0, locked_until: null })
    .where('id', '=', id)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}
