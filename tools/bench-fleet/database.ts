/**
 * A throwaway, migrated database for one benchmark run: a new database on the PostgreSQL server at
 * TEST_DATABASE_URL (default the local one), dropped at the end, or the embedded PGlite in a temporary
 * directory. Its name starts `pn_test_<pid>_` like the integration tests' databases, so the tests'
 * clean-up drops it if this process dies before it could.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { Logger } from '../../core/logger.js';
import { openDatabaseByUrl, startEmbeddedPostgres, type Database } from '../../db/database.js';
import { migrateToLatest } from '../../db/migrator.js';
import type { DbChoice } from './args.js';

export interface BenchDatabase {
  database: Database;
  /** URL for other processes (ingest children). */
  url: string;
  kind: 'postgres' | 'embedded';
  /** Closes the pool and removes the database (idempotent). */
  drop(): Promise<void>;
}

export const ADMIN_URL = process.env['TEST_DATABASE_URL'] ?? 'postgres://root@127.0.0.1:5432/postgres';

async function postgresAnswers(): Promise<boolean> {
  const client = new pg.Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false; // unreachable or refused: the caller falls back to the embedded database
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function admin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: ADMIN_URL, application_name: 'pn-bench-admin' });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export async function createBenchDatabase(opts: {
  choice: DbChoice;
  log: Logger;
  /** Connections this process needs; the embedded server gets this plus `extraClients`. */
  poolMax: number;
  extraClients?: number;
}): Promise<BenchDatabase> {
  const usePostgres = opts.choice === 'postgres' || (opts.choice === 'auto' && (await postgresAnswers()));
  if (usePostgres) {
    const name = `pn_test_${process.pid}_bench${randomBytes(3).toString('hex')}`;
    await admin((c) => c.query(`CREATE DATABASE "${name}" TEMPLATE template0 ENCODING 'UTF8'`));
    const u = new URL(ADMIN_URL);
    u.pathname = `/${name}`;
    const url = u.toString();
    const database = openDatabaseByUrl(url, opts.poolMax, { applicationName: 'pn-bench', log: opts.log });
    let dropping: Promise<void> | undefined;
    const drop = () => {
      dropping ??= (async () => {
        await database.close();
        await admin((c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
      })();
      return dropping;
    };
    try {
      await migrateToLatest(database.db, opts.log);
    } catch (err) {
      await drop();
      throw err;
    }
    opts.log.info({ database: name }, 'throwaway database ready');
    return { database, url, kind: 'postgres', drop };
  }

  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pn-bench-pg-'));
  const extra = opts.extraClients ?? 0;
  const server = await startEmbeddedPostgres({
    dataDir: dir,
    port: 0,
    log: opts.log,
    maxConnections: 2 + extra, // one spare, so that a connection being replaced is not refused
  });
  // PGlite runs one query at a time and resets connections beyond its limit: a pool of one here.
  const database = openDatabaseByUrl(server.url, 1, { applicationName: 'pn-bench', log: opts.log });
  let dropping: Promise<void> | undefined;
  const drop = () => {
    dropping ??= (async () => {
      await database.close();
      await server.stop();
      await fs.rm(dir, { recursive: true, force: true });
    })();
    return dropping;
  };
  try {
    await migrateToLatest(database.db, opts.log);
  } catch (err) {
    await drop();
    throw err;
  }
  opts.log.info({ dataDir: dir }, 'embedded database ready');
  return { database, url: server.url, kind: 'embedded', drop };
}
