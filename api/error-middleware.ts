import type { NextFunction, Request, Response } from 'express';
import type { Logger } from 'pino';
import { ZodError } from 'zod';
import { errorMessage, isAppError } from '../core/errors.js';

/** The one error middleware: AppError → its status and {error:{code,message}}; anything else → 500. */
export function errorMiddleware(log: Logger) {
  return (err: unknown, req: Request, res: Response, _next: NextFunction) => {
    if (isAppError(err)) {
      if (err.status >= 500) log.error({ err: errorMessage(err), path: req.path }, 'request failed');
      res.status(err.status).json({ error: { code: err.code, message: err.message } });
      return;
    }
    if (err instanceof ZodError) {
      res.status(400).json({
        error: {
          code: 'bad_request',
          message: err.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '),
        },
      });
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
