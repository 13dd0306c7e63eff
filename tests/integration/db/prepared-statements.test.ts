/**
 * Named prepared statements (db/prepared-statements.ts) on a real PostgreSQL: a declared statement is
 * parsed once per connection and reused, with its parameters each time; other queries are untouched. The
 * embedded PostgreSQL, whose connections share one session, does not use them.
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { CompiledQuery, sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../core/config.js';
import { createLogger } from '../../../core/logger.js';
import { openDatabase, openDatabaseByUrl, type Database } from '../../../db/database.js';
import { migrateToLatest } from '../../../db/migrator.js';
import { preparedStatement, preparedStatementName } from '../../../db/prepared-statements.js';
import { findPublicViolations } from '../../../db/repositories/public-lookup.repository.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';

let tdb: TestDatabase;
let one: Database;

/** The named statements prepared on the pool's single connection. */
async function prepared(db: Database['db']): Promise<{ name: string; calls: number }[]> {
  const { rows } = await sql<{ name: string; calls: string | number | null }>`
    SELECT name, generic_plans + custom_plans AS calls FROM pg_prepared_statements ORDER BY name`.execute(db);
  return rows.map((r) => ({ name: r.name, calls: Number(r.calls) }));
}

beforeAll(async () => {
  tdb = await createTestDatabase();
  one = openDatabaseByUrl(tdb.url, 1); // one connection, so its session state can be read back
});

afterAll(async () => {
  await one?.close();
  await tdb?.drop();
});

describe('prepared statements', () => {
  it('prepare a declared statement once per connection and reuse it with new parameters', async () => {
    const square = preparedStatement('pn_test_square', 'SELECT $1::int * $1::int AS v');
    expect(preparedStatementName('SELECT $1::int * $1::int AS v')).toBe('pn_test_square');
    expect(await prepared(one.db)).toEqual([]);
    const answers: number[] = [];
    for (const n of [2, 3, 4]) {
      const { rows } = await one.db.executeQuery<{ v: number }>(square([n]));
      answers.push(rows[0]!.v);
    }
    expect(answers).toEqual([4, 9, 16]);
    // An undeclared query (even the same text under Kysely's raw form elsewhere) is not prepared.
    await one.db.executeQuery(CompiledQuery.raw('SELECT $1::int + 1 AS v', [1]));
    const statements = await prepared(one.db);
    expect(statements.map((s) => s.name)).toEqual(['pn_test_square']);
    expect(statements[0]!.calls).toBe(3);
  });

  it('refuse a name declared twice with different texts', () => {
    preparedStatement('pn_test_twice', 'SELECT 1');
    expect(() => preparedStatement('pn_test_twice', 'SELECT 1')).not.toThrow();
    expect(() => preparedStatement('pn_test_twice', 'SELECT 2')).toThrow(/another text/);
    expect(() => preparedStatement('Bad-Name', 'SELECT 3')).toThrow(/pn_/);
  });

  it('serve the citizen lookup from one prepared statement', async () => {
    for (const plate of ['30A12345', '99Z00000', '30A12345']) {
      await findPublicViolations(one.db, { comparablePlate: plate, vehicleClass: 'car', limit: 50 });
    }
    const listing = (await prepared(one.db)).find((s) => s.name === 'pn_public_listing');
    expect(listing?.calls).toBe(3);
  });
});

describe('the embedded PostgreSQL', () => {
  it('serves the lookup without named statements (its connections share one session)', async () => {
    const dataRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'pn-prepared-embedded-'));
    const port = await new Promise<number>((resolve, reject) => {
      const s = net.createServer();
      s.once('error', reject);
      s.listen(0, '127.0.0.1', () => {
        const { port: p } = s.address() as net.AddressInfo;
        s.close(() => resolve(p));
      });
    });
    const log = createLogger({ level: 'silent' });
    const database = await openDatabase(
      loadConfig({ DATA_DIR: dataRoot, EMBEDDED_DB_PORT: String(port) }),
      log,
    );
    try {
      expect(database.embedded).toBe(true);
      await migrateToLatest(database.db, log);
      for (let i = 0; i < 3; i++)
        await findPublicViolations(database.db, {
          comparablePlate: '30A12345',
          vehicleClass: 'car',
          limit: 50,
        });
      // Another connection to the same server sees the shared session: nothing was prepared by name,
      // so a second client (a replaced connection, another process) can run the lookup too.
      const other = new pg.Client({ connectionString: database.url });
      await other.connect();
      try {
        const { rows } = await other.query<{ name: string }>('SELECT name FROM pg_prepared_statements');
        expect(rows.map((r) => r.name)).not.toContain('pn_public_listing');
      } finally {
        await other.end();
      }
    } finally {
      await database.close();
      fs.rmSync(dataRoot, { recursive: true, force: true });
    }
  }, 120_000);
});
