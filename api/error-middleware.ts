import type { NextFunction, Request, Response } from 'express';
import type { Logger } from 'pino';
import { ZodError } from 'zod';
import { errorMessage, isAppError } from '../core/errors.js';

const MAX_ISSUES = 5;
const MAX_MESSAGE = 500;

/**
 * A validation failure as one line naming the fields: `query.limit: Too big…; body.reason: Invalid option…`.
 * At most a few issues and a few hundred characters (a fuzzed body must not produce a megabyte of
 * error); zod's messages name types and limits, never the values sent.
 */
export function zodMessage(err: ZodError, where?: string): string {
  const parts = err.issues.slice(0, MAX_ISSUES).map((i) => {
    const path = [where, ...i.path.map(String)].filter((p) => p !== undefined && p !== '').join('.');
    return `${path || 'body'}: ${i.message}`;
  });
  if (err.issues.length > MAX_ISSUES) parts.push(`and ${err.issues.length - MAX_ISSUES} more`);
  const message = parts.join('; ');
  return message.length > MAX_MESSAGE ? `${message.slice(0, MAX_MESSAGE - 1)}…` : message;
}

/** The one error middleware: AppError → its status and {error:{code,message}}; anything else → 500. */
export function errorMiddleware(log: Logger) {
  return (err: unknown, req: Request, res: Response, _next: NextFunction) => {
    if (isAppError(err)) {
      if (err.status >= 500) log.error({ err: errorMessage(err), path: req.path }, 'request failed');
      const retryAfter = err.details?.['retryAfterSeconds'];
      if (err.code === 'rate_limited' && typeof retryAfter === 'number')
        res.setHeader('Retry-After', String(retryAfter));
      res.status(err.status).json({ error: { code: err.code, message: err.message } });
      return;
    }
    if (err instanceof ZodError) {
      res.status(400).json({ error: { code: 'bad_request', message: zodMessage(err) } });
      return;
    }
    const status = (err as { status?: number; type?: string }).status;
    if (status && status >= 400 && status < 500) {
      // body-parser errors (malformed JSON, too large) carry a status.
      res.status(status).json({ error: { code: 'bad_request', message: 'malformed request' } });
      return;
    }
    log.error({ err: errorMessage(err), path: req.path }, 'unhandled error');
    res.status(500).json({ error: { code: 'internal', message: 'internal error' } });
  };
}
