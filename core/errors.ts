/**
 * The one application error. Everything the API or a job handler reports on purpose is an AppError;
 * anything else is an internal fault and is reported without its internals.
 */
export type ErrorCode =
  | 'bad_request'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'rate_limited'
  | 'challenge_failed'
  | 'dependency_down'
  | 'config_invalid'
  | 'model_invalid'
  | 'stream_failed'
  | 'evidence_invalid'
  | 'internal';

const STATUS: Record<ErrorCode, number> = {
  bad_request: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  /** Too many requests from one client: the answer carries Retry-After. */
  rate_limited: 429,
  /** A public request's proof of work is missing, expired, already used or wrong: get a new challenge. */
  challenge_failed: 400,
  dependency_down: 503,
  config_invalid: 500,
  model_invalid: 500,
  stream_failed: 502,
  evidence_invalid: 422,
  internal: 500,
};

export interface AppErrorOptions {
  /** A permanent error will fail the same way when retried (BullMQ: UnrecoverableError). */
  permanent?: boolean;
  cause?: unknown;
  details?: Record<string, unknown>;
}

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly permanent: boolean;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, options: AppErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.status = STATUS[code];
    this.permanent = options.permanent ?? false;
    this.details = options.details;
  }
}

export function isAppError(err: unknown): err is AppError {
  return err instanceof AppError;
}

/** The message of anything thrown, for logs. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
