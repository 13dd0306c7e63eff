import path from 'node:path';
import { Kysely, PostgresDialect, sql, type Transaction } from 'kysely';
import pg from 'pg';
import type { Config } from '../core/config.js';
import { AppError, errorMessage } from '../core/errors.js';
import { redactUrl, type Logger } from '../core/logger.js';
import { startEmbeddedPostgres } from './embedded-postgres.js';
import { withPreparedStatements } from './prepared-statements.js';
import type { DB } from './schema.js';

export {
  startEmbeddedPostgres,
  type EmbeddedPostgres,
  type EmbeddedPostgresOptions,
} from './embedded-postgres.js';

/**
 * Opening the database: a pg Pool behind Kysely's PostgresDialect, either on the server named by
 * DATABASE_URL or on the embedded PostgreSQL (PGlite) this process starts under DATA_DIR/pg.
 */

export interface Database {
  db: Kysely<DB>;
  /** Connection URL. It may carry a password: never log it (core/logger's redactUrl). */
  url: string;
  /** True when this process started the embedded PostgreSQL and stops it on close. */
  embedded: boolean;
  /** Ends the pool (and the embedded server, when there is one). Idempotent. */
  close(): Promise<void>;
}

export type DatabaseConfig = Pick<
  Config,
  'DATABASE_URL' | 'DATABASE_POOL_MAX' | 'EMBEDDED_DB_PORT' | 'dataDir'
>;

export interface OpenByUrlOptions {
  /** Logs pool errors (a server restart kills idle connections) and failed queries at debug level. */
  log?: Logger;
  /** application_name shown in pg_stat_activity (default 'phat-nguoi'). */
  applicationName?: string | undefined;
  /** How long to wait for a connection, including waiting for a free one in a full pool (default 30 s). */
  connectionTimeoutMs?: number;
  /** Close connections idle this long (default 30 s); 0 keeps them open for the pool's life. */
  idleTimeoutMs?: number;
  /**
   * Send the statements declared in db/prepared-statements.ts as named ones (default true). Not on the
   * embedded PostgreSQL: its connections share one session, where a second connection's prepare of the
   * same name fails ("already exists").
   */
  preparedStatements?: boolean;
}

/** The directory under DATA_DIR where the embedded cluster lives. */
export function embeddedDataDir(config: Pick<Config, 'dataDir'>): string {
  return path.join(config.dataDir, 'pg');
}

/**
 * With DATABASE_URL: a pool of DATABASE_POOL_MAX connections to that server, checked with one query so
 * that a wrong URL fails at boot. Without: starts the embedded PostgreSQL under `${dataDir}/pg`, served
 * on 127.0.0.1:EMBEDDED_DB_PORT, with a pool of one (PGlite runs one query at a time and resets
 * connections beyond its limit).
 */
export async function openDatabase(
  config: DatabaseConfig,
  log: Logger,
  options: {
    applicationName?: string;
    /** How long to wait for a PostgreSQL that does not answer yet (default 30 s); 0: fail at once. */
    waitMs?: number;
  } = {},
): Promise<Database> {
  const applicationName = options.applicationName;
  if (config.DATABASE_URL !== undefined) {
    const database = openDatabaseByUrl(config.DATABASE_URL, config.DATABASE_POOL_MAX, {
      log,
      applicationName,
    });
    // A role started while PostgreSQL restarts (a deploy, a failover) waits for it rather than exiting.
    const deadline = Date.now() + (options.waitMs ?? 30_000);
    for (let delay = 250; ; delay = Math.min(delay * 2, 2000)) {
      try {
        await sql`select 1`.execute(database.db);
        break;
      } catch (err) {
        if (Date.now() + delay > deadline) {
          await database.close();
          throw new AppError(
            'dependency_down',
            `PostgreSQL at ${redactUrl(config.DATABASE_URL)} cannot be reached: ${errorMessage(err)}`,
            { cause: err },
          );
        }
        log.warn({ err: errorMessage(err), retryInMs: delay }, 'waiting for PostgreSQL');
        await new Promise((r) => setTimeout(r, delay));
      }
    }
    log.info(
      { database: redactUrl(config.DATABASE_URL), poolMax: config.DATABASE_POOL_MAX },
      'database opened',
    );
    return database;
  }

  // One pooled connection, kept open (idle timeout 0); the server accepts a second so that a
  // connection being replaced (its close not yet processed by the server) is not refused.
  const server = await startEmbeddedPostgres({
    dataDir: embeddedDataDir(config),
    port: config.EMBEDDED_DB_PORT,
    log,
    maxConnections: 2,
  });
  const database = openDatabaseByUrl(server.url, 1, {
    log,
    applicationName,
    idleTimeoutMs: 0,
    preparedStatements: false,
  });
  let closing: Promise<void> | undefined;
  return {
    db: database.db,
    url: server.url,
    embedded: true,
    close: () => {
      closing ??= database.close().finally(() => server.stop());
      return closing;
    },
  };
}

/**
 * A Kysely instance on a pg Pool of `poolMax` connections to `url`. Connects lazily. bigint columns are
 * parsed to numbers (an error, not a silent rounding, beyond 2^53 - 1).
 */
export function openDatabaseByUrl(url: string, poolMax: number, options: OpenByUrlOptions = {}): Database {
  if (!Number.isInteger(poolMax) || poolMax < 1) {
    throw new AppError('config_invalid', `database pool size must be a positive integer, not ${poolMax}`, {
      permanent: true,
    });
  }
  const log = options.log?.child({ module: 'database' });
  const pool = new pg.Pool({
    connectionString: url,
    max: poolMax,
    application_name: options.applicationName ?? 'phat-nguoi',
    connectionTimeoutMillis: options.connectionTimeoutMs ?? 30_000,
    idleTimeoutMillis: options.idleTimeoutMs ?? 30_000,
    types: { getTypeParser },
  });
  pool.on('error', (err) => {
    // An idle connection died (server restart, network). The pool replaces it on next use.
    log?.warn({ err: errorMessage(err) }, 'idle database connection failed');
  });
  // A connection in use can die too: between two statements of a transaction the server's "terminating
  // connection" (57P01, a restart) arrives as an 'error' event on the client, which would otherwise crash
  // the process. The statement that follows fails instead (the job is retried), and the pool drops the
  // dead client when it is released.
  pool.on('connect', (client) => {
    client.on('error', (err) => log?.warn({ err: errorMessage(err) }, 'database connection failed in use'));
  });
  const db = new Kysely<DB>({
    // Statements declared in db/prepared-statements.ts go as named ones (parsed and planned once).
    dialect: new PostgresDialect({
      pool: options.preparedStatements === false ? pool : withPreparedStatements(pool),
    }),
    log: (event) => {
      if (event.level === 'error') {
        // SQL text only: parameters may carry plates and other personal data.
        log?.debug(
          { sql: event.query.sql, ms: event.queryDurationMillis, err: errorMessage(event.error) },
          'query failed',
        );
      }
    },
  });
  let closing: Promise<void> | undefined;
  return {
    db,
    url,
    embedded: false,
    close: () => {
      closing ??= db.destroy();
      return closing;
    },
  };
}

/**
 * Runs `fn` in a transaction and hands it the transaction to pass to repositories. Commits when `fn`
 * resolves, rolls back when it throws.
 */
export function inTransaction<T>(
  db: Kysely<DB>,
  fn: (trx: Transaction<DB>) => Promise<T>,
  options: { isolation?: 'read committed' | 'repeatable read' | 'serializable' } = {},
): Promise<T> {
  const builder = db.transaction();
  return (options.isolation ? builder.setIsolationLevel(options.isolation) : builder).execute(fn);
}

function parseInt8(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n))
    throw new RangeError(`bigint value ${value} is beyond Number.MAX_SAFE_INTEGER`);
  return n;
}

const getTypeParser = ((oid: number, format?: 'text' | 'binary') => {
  if (oid === pg.types.builtins.INT8 && (format === undefined || format === 'text')) return parseInt8;
  return pg.types.getTypeParser(oid, format);
}) as typeof pg.types.getTypeParser;
