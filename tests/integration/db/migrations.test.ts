import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../../core/logger.js';
import { MIGRATIONS } from '../../../db/migrations/index.js';
import { knownMigrations, migrateDown, migrateToLatest, migrationStatus } from '../../../db/migrator.js';
import {
  EVIDENCE_KINDS,
  NOTICE_STATES,
  PLATE_COLORS,
  REVIEW_DECISIONS,
  USER_ROLES,
  VIOLATION_STATUSES,
  type DB,
  type DbExecutor,
} from '../../../db/schema.js';
import { createEmptyTestDatabase, createTestDatabase, type TestDatabase } from '../helpers/db.js';

const log = createLogger({ level: 'silent' });
const TABLES: (keyof DB)[] = [
  'camera',
  'scene_config',
  'violation',
  'evidence_asset',
  'plate_read',
  'app_user',
  'user_role',
  'review',
  'sanction_rule',
  'notice',
  'audit_log',
  'audit_log_head',
  'user_session',
  'api_token',
  'review_claim',
  'payment',
  'vehicle_registration',
  'police_unit',
  'public_holiday',
  'signal_phase_report',
];

async function userTables(db: DbExecutor): Promise<string[]> {
  const r = await sql<{ table_name: string }>`
    SELECT table_name FROM information_schema.tables
    WHERE table_schema = 'public' AND table_name NOT LIKE 'kysely_%' ORDER BY table_name`.execute(db);
  return r.rows.map((row) => row.table_name);
}

async function userFunctions(db: DbExecutor): Promise<string[]> {
  const r = await sql<{ proname: string }>`
    SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
    WHERE n.nspname = 'public' ORDER BY p.proname`.execute(db);
  return r.rows.map((row) => row.proname);
}

describe('migration map', () => {
  it('names exactly the migration files in db/migrations, in order', () => {
    const dir = fileURLToPath(new URL('../../../db/migrations/', import.meta.url));
    const files = fs
      .readdirSync(dir)
      .filter((f) => f !== 'index.ts')
      .sort();
    for (const f of files) expect(f).toMatch(/^\d{4}_\d{2}_\d{2}_\d{6}_[a-z0-9_]+\.ts$/);
    expect(files.map((f) => f.replace(/\.ts$/, ''))).toEqual(Object.keys(MIGRATIONS));
    expect(knownMigrations()).toEqual(Object.keys(MIGRATIONS));
  });
});

describe('migrations on a fresh database', () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createEmptyTestDatabase();
  });
  afterAll(async () => {
    await t?.drop();
  });

  it('go all the way up, all the way down, and up again', async () => {
    const up = await migrateToLatest(t.db, log);
    expect(up.applied).toEqual(knownMigrations());
    expect(up.pending).toEqual([]);
    expect(up.current).toBe(knownMigrations().at(-1));
    expect(await userTables(t.db)).toEqual([...TABLES].sort());

    const down = await migrateDown(t.db, log, 'all');
    expect(down.applied).toEqual([...knownMigrations()].reverse());
    expect(down.current).toBeNull();
    expect(await userTables(t.db)).toEqual([]);
    expect(await userFunctions(t.db)).toEqual([]);

    const again = await migrateToLatest(t.db, log);
    expect(again.applied).toEqual(knownMigrations());
    expect(await userTables(t.db)).toEqual([...TABLES].sort());
    const seeded = await t.db
      .selectFrom('sanction_rule')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    expect(seeded.n).toBeGreaterThan(50);
  });

  it('does nothing when already at the latest', async () => {
    const summary = await migrateToLatest(t.db, log);
    expect(summary.applied).toEqual([]);
    expect(summary.current).toBe(knownMigrations().at(-1));
  });

  it('reverts one step at a time and reports the rest as pending', async () => {
    const summary = await migrateDown(t.db, log, 1);
    expect(summary.applied).toEqual([knownMigrations().at(-1)]);
    expect(summary.pending).toEqual([knownMigrations().at(-1)]);
    const state = await migrationStatus(t.db);
    expect(state.filter((s) => s.executedAt === null).map((s) => s.name)).toEqual([knownMigrations().at(-1)]);
    await migrateToLatest(t.db, log);
  });

  it('refuses a step count that is not a positive integer', async () => {
    await expect(migrateDown(t.db, log, 0)).rejects.toThrow(/positive integer/);
  });
});

describe('enumerations shared by the types and the CHECK constraints', () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase();
  });
  afterAll(async () => {
    await t?.drop();
  });

  // Each list in db/schema.ts must be accepted by its constraint, and a value outside it refused.
  const cases: [string, string, readonly string[]][] = [
    ['violation', 'status', VIOLATION_STATUSES],
    ['evidence_asset', 'kind', EVIDENCE_KINDS],
    ['violation', 'plate_color', PLATE_COLORS],
    ['review', 'decision', REVIEW_DECISIONS],
    ['notice', 'state', NOTICE_STATES],
    ['user_role', 'role', USER_ROLES],
  ];
  it.each(cases)('%s.%s accepts every listed value and nothing else', async (table, column, values) => {
    const constraint = await sql<{ def: string }>`
      SELECT pg_get_constraintdef(c.oid) AS def FROM pg_constraint c
      JOIN pg_class t ON t.oid = c.conrelid
      WHERE t.relname = ${table} AND c.contype = 'c' AND pg_get_constraintdef(c.oid) LIKE ${`%(${column} = ANY%`}`.execute(
      t.db,
    );
    expect(constraint.rows).toHaveLength(1);
    const listed = [...constraint.rows[0]!.def.matchAll(/'([a-z_]+)'::text/g)].map((m) => m[1]);
    expect(listed.sort()).toEqual([...values].sort());
  });
});
