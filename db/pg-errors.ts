import { AppError } from '../core/errors.js';

/**
 * PostgreSQL errors as AppErrors: a repository that fails on a constraint reports what the caller did
 * wrong (409, 400) rather than an internal error. The constraint name is kept; values are not (they may
 * be personal data).
 */

interface PgErrorLike {
  code?: unknown;
  constraint?: unknown;
  table?: unknown;
  message?: unknown;
}

export const PG_UNIQUE_VIOLATION = '23505';
export const PG_FOREIGN_KEY_VIOLATION = '23503';
export const PG_CHECK_VIOLATION = '23514';
export const PG_NOT_NULL_VIOLATION = '23502';
export const PG_RESTRICT_VIOLATION = '23001';
export const PG_EXCLUSION_VIOLATION = '23P01';
export const PG_INVALID_TEXT_REPRESENTATION = '22P02';
export const PG_SERIALIZATION_FAILURE = '40001';

/** The SQLSTATE of a pg error, or undefined for anything else. */
export function pgErrorCode(err: unknown): string | undefined {
  const code = (err as PgErrorLike | null)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

export function pgConstraint(err: unknown): string | undefined {
  const constraint = (err as PgErrorLike | null)?.constraint;
  return typeof constraint === 'string' ? constraint : undefined;
}

export function isUniqueViolation(err: unknown, constraint?: string): boolean {
  return (
    pgErrorCode(err) === PG_UNIQUE_VIOLATION && (constraint === undefined || pgConstraint(err) === constraint)
  );
}

/**
 * Maps constraint and immutability errors to an AppError (conflict or bad_request); returns anything
 * else unchanged. `what` names the operation for the message, e.g. 'camera upsert'.
 */
export function toAppError(err: unknown, what: string): unknown {
  const code = pgErrorCode(err);
  if (code === undefined) return err;
  const constraint = pgConstraint(err);
  const on = constraint ? ` (${constraint})` : '';
  const details = { sqlstate: code, constraint };
  switch (code) {
    case PG_UNIQUE_VIOLATION:
      return new AppError('conflict', `${what}: already exists${on}`, {
        permanent: true,
        cause: err,
        details,
      });
    case PG_EXCLUSION_VIOLATION:
    case PG_RESTRICT_VIOLATION:
      return new AppError('conflict', `${what}: refused${on}: ${String((err as PgErrorLike).message)}`, {
        permanent: true,
        cause: err,
        details,
      });
    case PG_FOREIGN_KEY_VIOLATION:
      return new AppError(
        'bad_request',
        `${what}: refers to a row that does not exist or is still referenced${on}`,
        {
          permanent: true,
          cause: err,
          details,
        },
      );
    case PG_CHECK_VIOLATION:
    case PG_NOT_NULL_VIOLATION:
    case PG_INVALID_TEXT_REPRESENTATION:
      return new AppError('bad_request', `${what}: invalid value${on}`, {
        permanent: true,
        cause: err,
        details,
      });
    default:
      return err;
  }
}

/** Runs `fn`, rethrowing database constraint errors as AppErrors. */
export async function mapDbErrors<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw toAppError(err, what);
  }
}
