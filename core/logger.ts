import { pino, type Logger } from 'pino';

/**
 * Paths that never reach a log: credentials, camera URLs (they carry passwords), owner data.
 * Child loggers inherit the redaction.
 */
export const REDACT_PATHS = [
  'password',
  '*.password',
  'passwordHash',
  '*.passwordHash',
  'token',
  '*.token',
  'authorization',
  '*.authorization',
  'req.headers.authorization',
  'req.headers.cookie',
  'rtspUrl',
  '*.rtspUrl',
  'url',
  '*.url',
  'databaseUrl',
  'EVIDENCE_SIGNING_KEY',
  '*.EVIDENCE_SIGNING_KEY',
  'signingKey',
  '*.signingKey',
  'redisUrl',
  'owner',
  '*.owner',
  'ownerName',
  '*.ownerName',
  'ownerAddress',
  '*.ownerAddress',
  'nationalId',
  '*.nationalId',
];

export interface LoggerOptions {
  level?: string;
  name?: string;
}

let root: Logger | undefined;

export function createLogger(options: LoggerOptions = {}): Logger {
  return pino({
    name: options.name ?? 'phat-nguoi',
    level: options.level ?? process.env['LOG_LEVEL'] ?? 'info',
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
  });
}

/** The process-wide root logger; modules take child loggers from it. */
export function logger(): Logger {
  root ??= createLogger();
  return root;
}

export function setRootLogger(l: Logger): void {
  root = l;
}

/** Removes user:password@ from a URL so that it can be shown or logged. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.username || u.password) {
      u.username = u.username ? '***' : '';
      u.password = u.password ? '***' : '';
    }
    return u.toString();
  } catch {
    return '[unparseable url]';
  }
}

export type { Logger };
