import { AppError } from '../../core/errors.js';
import { inTransaction } from '../../db/database.js';
import {
  createApiToken,
  findLiveApiToken,
  getApiToken,
  listApiTokens,
  revokeApiToken,
  touchApiToken,
  type ApiToken,
} from '../../db/repositories/api-token.repository.js';
import { appendAudit } from '../../db/repositories/audit.repository.js';
import {
  createSession,
  deleteEndedSessions,
  findLiveSession,
  revokeSession,
  revokeUserSessions,
  touchSession,
} from '../../db/repositories/session.repository.js';
import {
  findUserForLogin,
  getUserById,
  listUsers,
  recordLoginFailure,
  recordLoginSuccess,
  setPasswordHash,
  setUserDisabled,
  unlockUser,
  type User,
} from '../../db/repositories/user.repository.js';
import type { Db, DbExecutor } from '../../db/schema.js';
import type { Principal } from '../principal.js';
import { DEFAULT_SCRYPT_PARAMS, hashPassword, needsRehash, verifyPassword } from '../security/password.js';
import { csrfTokenFor, newApiTokenSecret, newSecret, sha256Hex } from '../security/secrets.js';
import type { ApiTokenView, AuthPolicy, AuthService, IssuedApiToken, UserView } from './types.js';

/**
 * Sign-in for staff: password login with lockout, PostgreSQL-backed sessions, personal access tokens.
 *
 * Sessions live in PostgreSQL rather than Redis: the login, the lockout counter and the audit entry
 * commit in one transaction with the session; a disabled account or a revoked session ends at once,
 * for every API process; and the Redis of this deployment is a queue store that runs without
 * persistence (a restart there must not sign every officer out), whose producers are meant to fail fast
 * when it is down. The cost is one indexed lookup per request, and a write at most once a minute.
 */

export const DEFAULT_AUTH_POLICY: Readonly<AuthPolicy> = Object.freeze({
  sessionIdleMs: 30 * 60_000,
  sessionMaxAgeMs: 12 * 3_600_000,
  lockoutThreshold: 5,
  lockoutMs: 15 * 60_000,
  scrypt: DEFAULT_SCRYPT_PARAMS,
});

/** The one answer to every refused login: it does not say whether the account exists or is locked. */
export const LOGIN_REFUSED = 'wrong username or password, or the account is locked';

/** Last-use stamps are written at most this often per session or token. */
const TOUCH_INTERVAL_MS = 60_000;

export function toUserView(u: User): UserView {
  return {
    id: u.id,
    username: u.username,
    displayName: u.displayName,
    unit: u.unit,
    roles: u.roles.map((g) => ({ role: g.role, scope: g.scope })),
    disabled: u.disabled,
    lockedUntil: u.lockedUntil && u.lockedUntil.getTime() > Date.now() ? u.lockedUntil.toISOString() : null,
    lastLoginAt: u.lastLoginAt?.toISOString() ?? null,
  };
}

export function toApiTokenView(t: ApiToken): ApiTokenView {
  return {
    id: t.id,
    userId: t.userId,
    name: t.name,
    prefix: t.tokenPrefix,
    createdBy: t.createdBy,
    createdAt: t.createdAt.toISOString(),
    expiresAt: t.expiresAt?.toISOString() ?? null,
    lastUsedAt: t.lastUsedAt?.toISOString() ?? null,
    revokedAt: t.revokedAt?.toISOString() ?? null,
  };
}

/**
 * Makes a personal access token for a user and audits it, in the caller's transaction (or its own).
 * Shared by the admin API and `npm run user:create -- --token`.
 */
export async function issueApiToken(
  db: DbExecutor,
  input: { userId: number; name: string; actor: string; expiresAt?: Date | null },
): Promise<IssuedApiToken> {
  const run = async (trx: DbExecutor): Promise<IssuedApiToken> => {
    const { secret, prefix } = newApiTokenSecret();
    const token = await createApiToken(trx, {
      userId: input.userId,
      name: input.name,
      tokenHash: sha256Hex(secret),
      tokenPrefix: prefix,
      createdBy: input.actor,
      expiresAt: input.expiresAt ?? null,
    });
    await appendAudit(trx, {
      actor: input.actor,
      action: 'api_token.create',
      entityType: 'api_token',
      entityId: token.id,
      details: { userId: input.userId, name: input.name, expiresAt: token.expiresAt?.toISOString() ?? null },
    });
    return { token: toApiTokenView(token), secret };
  };
  return db.isTransaction ? run(db) : db.transaction().execute(run);
}

function principalOf(user: User, kind: 'session' | 'api_token', credentialId: string): Principal {
  return {
    kind,
    credentialId,
    actor: `user:${user.id}`,
    user: { id: user.id, username: user.username, displayName: user.displayName, unit: user.unit },
    grants: user.roles.map((g) => ({ role: g.role, scope: g.scope })),
  };
}

export function createAuthService(db: Db, policy: Readonly<AuthPolicy> = DEFAULT_AUTH_POLICY): AuthService {
  // A hash to check against when there is no account, so that a refusal takes as long either way.
  let dummyHash: Promise<string> | undefined;
  const spendAHash = async (password: string) => {
    dummyHash ??= hashPassword(newSecret(), policy.scrypt);
    await verifyPassword(password, await dummyHash);
  };
  let lastCleanup = 0;

  const refuse = async (
    reason: 'unknown_user' | 'disabled' | 'locked' | 'wrong_password',
    clientIp: string | null,
    userId: number | null,
    extra: Record<string, number | boolean | null> = {},
  ): Promise<never> => {
    await appendAudit(db, {
      actor: 'anonymous',
      action: 'auth.login_refused',
      entityType: 'app_user',
      entityId: userId,
      details: { reason, clientIp, ...extra },
    });
    throw new AppError('unauthorized', LOGIN_REFUSED);
  };

  return {
    policy,

    async login({ username, password, clientIp }) {
      const user = await findUserForLogin(db, username);
      if (!user) {
        await spendAHash(password);
        return refuse('unknown_user', clientIp, null);
      }
      if (user.disabled) {
        await spendAHash(password);
        return refuse('disabled', clientIp, user.id);
      }
      if (user.lockedUntil && user.lockedUntil.getTime() > Date.now()) {
        // Not even checked: a locked account gives no oracle for guessing.
        await spendAHash(password);
        return refuse('locked', clientIp, user.id);
      }
      if (!(await verifyPassword(password, user.passwordHash))) {
        await inTransaction(db, async (trx) => {
          const state = await recordLoginFailure(trx, user.id, {
            maxFailures: policy.lockoutThreshold,
            lockMs: policy.lockoutMs,
          });
          await appendAudit(trx, {
            actor: 'anonymous',
            action: 'auth.login_refused',
            entityType: 'app_user',
            entityId: user.id,
            details: {
              reason: 'wrong_password',
              clientIp,
              failedLogins: state?.failedLogins ?? null,
              locked: !!state?.lockedUntil && state.lockedUntil.getTime() > Date.now(),
            },
          });
        });
        throw new AppError('unauthorized', LOGIN_REFUSED);
      }

      const rehash = needsRehash(user.passwordHash, policy.scrypt)
        ? await hashPassword(password, policy.scrypt)
        : undefined;
      const sessionSecret = newSecret();
      const session = await inTransaction(db, async (trx) => {
        await recordLoginSuccess(trx, user.id);
        if (rehash) await setPasswordHash(trx, user.id, rehash);
        const s = await createSession(trx, {
          userId: user.id,
          tokenHash: sha256Hex(sessionSecret),
          maxAgeMs: policy.sessionMaxAgeMs,
          clientIp,
        });
        await appendAudit(trx, {
          actor: `user:${user.id}`,
          action: 'auth.login',
          entityType: 'user_session',
          entityId: s.id,
          details: { clientIp, expiresAt: s.expiresAt.toISOString(), passwordRehashed: !!rehash },
        });
        return s;
      });
      if (Date.now() - lastCleanup > 3_600_000) {
        lastCleanup = Date.now();
        // Ended sessions are kept a day for the security record, then removed.
        await deleteEndedSessions(db, 24 * 3_600_000);
      }
      const fresh = await getUserById(db, user.id);
      return {
        sessionSecret,
        csrfToken: csrfTokenFor(sessionSecret),
        expiresAt: session.expiresAt,
        user: toUserView(fresh ?? user),
      };
    },

    async logout(principal) {
      if (principal.kind !== 'session' || principal.sessionId === undefined) return;
      const sessionId = principal.sessionId;
      await inTransaction(db, async (trx) => {
        if (await revokeSession(trx, sessionId, 'logout')) {
          await appendAudit(trx, {
            actor: principal.actor,
            action: 'auth.logout',
            entityType: 'user_session',
            entityId: sessionId,
          });
        }
      });
    },

    async principalFromSession(secret) {
      const session = await findLiveSession(db, sha256Hex(secret), policy.sessionIdleMs);
      if (!session) return undefined;
      const user = await getUserById(db, session.userId);
      if (!user || user.disabled) return undefined;
      await touchSession(db, session.id, TOUCH_INTERVAL_MS);
      return {
        ...principalOf(user, 'session', `session:${session.id}`),
        sessionId: session.id,
        csrfToken: csrfTokenFor(secret),
      };
    },

    async principalFromApiToken(secret) {
      const token = await findLiveApiToken(db, sha256Hex(secret));
      if (!token) return undefined;
      const user = await getUserById(db, token.userId);
      if (!user || user.disabled) return undefined;
      await touchApiToken(db, token.id, TOUCH_INTERVAL_MS);
      return principalOf(user, 'api_token', `api_token:${token.id}`);
    },

    async listUsers() {
      return (await listUsers(db)).map(toUserView);
    },

    async unlockUser(actor, userId) {
      return inTransaction(db, async (trx) => {
        if (!(await unlockUser(trx, userId))) return false;
        await appendAudit(trx, { actor, action: 'user.unlock', entityType: 'app_user', entityId: userId });
        return true;
      });
    },

    async setUserDisabled(actor, userId, disabled) {
      return inTransaction(db, async (trx) => {
        if (!(await setUserDisabled(trx, userId, disabled))) return false;
        const sessionsEnded = disabled ? await revokeUserSessions(trx, userId, 'user_disabled') : 0;
        await appendAudit(trx, {
          actor,
          action: disabled ? 'user.disable' : 'user.enable',
          entityType: 'app_user',
          entityId: userId,
          details: { sessionsEnded },
        });
        return true;
      });
    },

    async issueApiToken(actor, userId, input) {
      const user = await getUserById(db, userId);
      if (!user) throw new AppError('not_found', 'no such user');
      if (user.disabled) throw new AppError('conflict', 'the user is disabled');
      const expiresAt =
        input.expiresInDays === undefined ? null : new Date(Date.now() + input.expiresInDays * 86_400_000);
      return issueApiToken(db, { userId, name: input.name, actor, expiresAt });
    },

    async listApiTokens(userId) {
      if (!(await getUserById(db, userId))) throw new AppError('not_found', 'no such user');
      return (await listApiTokens(db, userId)).map(toApiTokenView);
    },

    async revokeApiToken(actor, tokenId) {
      return inTransaction(db, async (trx) => {
        const token = await revokeApiToken(trx, tokenId);
        if (!token) return (await getApiToken(trx, tokenId)) !== undefined;
        await appendAudit(trx, {
          actor,
          action: 'api_token.revoke',
          entityType: 'api_token',
          entityId: tokenId,
          details: { userId: token.userId },
        });
        return true;
      });
    },
  };
}
