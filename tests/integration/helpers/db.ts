/**
 * Test databases on the PostgreSQL server at TEST_DATABASE_URL (default: the local one).
 *
 * Each test file gets its own database, cloned from a migrated template (CREATE DATABASE ... TEMPLATE),
 * which takes a fraction of a second instead of running the migrations again. The template's name
 * carries a fingerprint of db/migrations (names and contents), so a changed migration gets a new
 * template and runs with different migrations never share one. Building is serialised by an advisory
 * lock, so concurrent test runs (other engineers, other checkouts) are safe; the template refuses
 * connections (ALLOW_CONNECTIONS false), because a connection to it would make cloning fail.
 */
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { createLogger } from '../../../core/logger.js';
import { openDatabaseByUrl, type Database } from '../../../db/database.js';
import { migrateToLatest } from '../../../db/migrator.js';

export const TEST_DATABASE_URL =
  process.env['TEST_DATABASE_URL'] ?? 'postgres://root@127.0.0.1:5432/postgres';

const MIGRATIONS_DIR = fileURLToPath(new URL('../../../db/migrations/', import.meta.url));
const TEMPLATE_PREFIX = 'pn_template_';
const TEST_PREFIX = 'pn_test_';
/** Templates of other migration sets older than this are dropped. */
const TEMPLATE_MAX_AGE_MS = 60 * 60 * 1000;
/** pg_advisory_lock key serialising template builds ("pn" + "tmpl"). */
const BUILD_LOCK_KEY = 0x706e746d706c;

export interface TestDatabase {
  db: Database['db'];
  url: string;
  name: string;
  /** Closes the pool and drops the database (idempotent). */
  drop(): Promise<void>;
}

const silent = createLogger({ level: 'silent' });

export function urlForDatabase(name: string, base = TEST_DATABASE_URL): string {
  const u = new URL(base);
  u.pathname = `/${name}`;
  return u.toString();
}

function quoteIdent(name: string): string {
  if (!/^[a-z0-9_]+$/.test(name)) throw new Error(`unexpected database name ${name}`);
  return `"${name}"`;
}

async function withAdmin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL, application_name: 'pn-test-admin' });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** sha256 over the names and contents of db/migrations/*.ts. */
export function migrationFingerprint(): string {
  const hash = createHash('sha256');
  for (const file of fs
    .readdirSync(MIGRATIONS_DIR)
    .filter((f) => f.endsWith('.ts'))
    .sort()) {
    hash
      .update(file)
      .update('\0')
      .update(fs.readFileSync(MIGRATIONS_DIR + file))
      .update('\0');
  }
  return hash.digest('hex');
}

export function templateName(fingerprint = migrationFingerprint()): string {
  return `${TEMPLATE_PREFIX}${fingerprint.slice(0, 16)}`;
}

async function databaseExists(client: pg.Client, name: string): Promise<boolean> {
  const r = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
  return r.rowCount === 1;
}

/** Builds the migrated template for the current migrations unless it exists; returns its name. */
export async function ensureTestTemplate(): Promise<string> {
  const fingerprint = migrationFingerprint();
  const name = templateName(fingerprint);
  return withAdmin(async (admin) => {
    if (await databaseExists(admin, name)) return name;
    await admin.query('SELECT pg_advisory_lock($1)', [BUILD_LOCK_KEY]);
    try {
      if (await databaseExists(admin, name)) return name;
      const build = `${name}_b${process.pid}`;
      await admin.query(`DROP DATABASE IF EXISTS ${quoteIdent(build)} WITH (FORCE)`);
      await admin.query(`CREATE DATABASE ${quoteIdent(build)} TEMPLATE template0 ENCODING 'UTF8'`);
      const database = openDatabaseByUrl(urlForDatabase(build), 1, { applicationName: 'pn-test-template' });
      try {
        await migrateToLatest(database.db, silent);
      } finally {
        await database.close();
      }
      await admin.query(`ALTER DATABASE ${quoteIdent(build)} RENAME TO ${quoteIdent(name)}`);
      await admin.query(`ALTER DATABASE ${quoteIdent(name)} WITH IS_TEMPLATE true ALLOW_CONNECTIONS false`);
      await admin.query(
        `COMMENT ON DATABASE ${quoteIdent(name)} IS ${pg.escapeLiteral(
          JSON.stringify({ fingerprint, builtAt: new Date().toISOString() }),
        )}`,
      );
      await dropOldTemplates(admin, name);
      return name;
    } finally {
      await admin.query('SELECT pg_advisory_unlock($1)', [BUILD_LOCK_KEY]);
    }
  });
}

async function dropOldTemplates(admin: pg.Client, keep: string): Promise<void> {
  const r = await admin.query<{ datname: string; comment: string | null }>(
    `SELECT datname, shobj_description(oid, 'pg_database') AS comment FROM pg_database
     WHERE datname LIKE $1 AND datname <> $2`,
    [`${TEMPLATE_PREFIX}%`, keep],
  );
  for (const { datname, comment } of r.rows) {
    if (/_b\d+$/.test(datname)) continue; // a build in progress (or dead: dropStaleTestDatabases handles it)
    let builtAt = 0;
    try {
      builtAt = Date.parse((JSON.parse(comment ?? '{}') as { builtAt?: string }).builtAt ?? '') || 0;
    } catch {
      builtAt = 0; // unreadable comment: treat as old
    }
    if (Date.now() - builtAt < TEMPLATE_MAX_AGE_MS) continue;
    await admin.query(`ALTER DATABASE ${quoteIdent(datname)} WITH IS_TEMPLATE false`);
    await admin.query(`DROP DATABASE IF EXISTS ${quoteIdent(datname)}`).catch(() => {
      // in use by a clone being made right now: leave it for the next run
    });
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Drops test databases (and half-built templates) whose creating process is gone. */
export async function dropStaleTestDatabases(): Promise<string[]> {
  return withAdmin(async (admin) => {
    const r = await admin.query<{ datname: string }>(
      `SELECT datname FROM pg_database WHERE datname LIKE $1 OR datname ~ $2`,
      [`${TEST_PREFIX}%`, `^${TEMPLATE_PREFIX}[0-9a-f]+_b[0-9]+$`],
    );
    const dropped: string[] = [];
    for (const { datname } of r.rows) {
      const pid = Number(/^pn_test_(\d+)_/.exec(datname)?.[1] ?? /_b(\d+)$/.exec(datname)?.[1]);
      if (!Number.isInteger(pid) || pidAlive(pid)) continue;
      await admin.query(`DROP DATABASE IF EXISTS ${quoteIdent(datname)} WITH (FORCE)`);
      dropped.push(datname);
    }
    return dropped;
  });
}

async function createDatabase(template: string): Promise<TestDatabase> {
  const name = `${TEST_PREFIX}${process.pid}_${randomBytes(4).toString('hex')}`;
  await withAdmin(async (admin) => {
    for (let attempt = 1; ; attempt++) {
      try {
        await admin.query(`CREATE DATABASE ${quoteIdent(name)} TEMPLATE ${quoteIdent(template)}`);
        return;
      } catch (err) {
        // 55006: the template is being accessed (a concurrent clone or build); wait and retry.
        if ((err as { code?: string }).code !== '55006' || attempt >= 20) throw err;
        await new Promise((resolve) => setTimeout(resolve, 100 * attempt));
      }
    }
  });
  const url = urlForDatabase(name);
  const database = openDatabaseByUrl(url, 5, { applicationName: 'pn-test' });
  let dropping: Promise<void> | undefined;
  return {
    db: database.db,
    url,
    name,
    drop: () => {
      dropping ??= (async () => {
        await database.close();
        await withAdmin((admin) => admin.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`));
      })();
      return dropping;
    },
  };
}

/** A fresh database with the latest schema, cloned from the migrated template. */
export async function createTestDatabase(): Promise<TestDatabase> {
  return createDatabase(await ensureTestTemplate());
}

/** A fresh, empty database (no migrations run), for testing the migrations themselves. */
export async function createEmptyTestDatabase(): Promise<TestDatabase> {
  return createDatabase('template0');
}
