import { Migrator, NO_MIGRATIONS, type Kysely, type MigrationResultSet } from 'kysely';
import { AppError, errorMessage } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { MIGRATIONS } from './migrations/index.js';
import type { DB } from './schema.js';

/**
 * Runs the migrations of db/migrations with Kysely's Migrator. On PostgreSQL all pending migrations run
 * in one transaction under Kysely's advisory lock, so two processes migrating at once do not collide and
 * a failure leaves the schema as it was.
 */

export interface MigrationSummary {
  direction: 'up' | 'down';
  /** Migrations run by this call, in the order they ran. */
  applied: string[];
  /** The latest executed migration afterwards, or null when none is. */
  current: string | null;
  /** Known migrations not executed afterwards. */
  pending: string[];
}

export interface MigrationState {
  name: string;
  executedAt: Date | null;
}

/** Names of every migration this build knows, in order. */
export function knownMigrations(): string[] {
  return Object.keys(MIGRATIONS).sort();
}

function migrator(db: Kysely<DB>): Migrator {
  return new Migrator({
    db,
    provider: { getMigrations: () => Promise.resolve({ ...MIGRATIONS }) },
  });
}

export async function migrationStatus(db: Kysely<DB>): Promise<MigrationState[]> {
  const infos = await migrator(db).getMigrations();
  return infos.map((m) => ({ name: m.name, executedAt: m.executedAt ?? null }));
}

export async function migrateToLatest(db: Kysely<DB>, log: Logger): Promise<MigrationSummary> {
  const result = await migrator(db).migrateToLatest();
  return finish(db, log, 'up', result);
}

/**
 * Reverts the last `steps` executed migrations ('all' reverts every one). Reverting more steps than
 * were executed reverts them all.
 */
export async function migrateDown(
  db: Kysely<DB>,
  log: Logger,
  steps: number | 'all',
): Promise<MigrationSummary> {
  if (steps !== 'all' && (!Number.isInteger(steps) || steps < 1)) {
    throw new AppError(
      'bad_request',
      `migrateDown: steps must be a positive integer or 'all', not ${steps}`,
      {
        permanent: true,
      },
    );
  }
  const m = migrator(db);
  const executed = (await m.getMigrations()).filter((i) => i.executedAt !== undefined).map((i) => i.name);
  if (executed.length === 0) {
    log.info('no migration to revert');
    return finish(db, log, 'down', { results: [] });
  }
  const keep = steps === 'all' ? 0 : Math.max(0, executed.length - steps);
  const target = keep === 0 ? NO_MIGRATIONS : executed[keep - 1]!;
  const result = await m.migrateTo(target);
  return finish(db, log, 'down', result);
}

async function finish(
  db: Kysely<DB>,
  log: Logger,
  direction: 'up' | 'down',
  { error, results = [] }: MigrationResultSet,
): Promise<MigrationSummary> {
  for (const r of results) {
    if (r.status === 'Success') log.info({ migration: r.migrationName, direction }, 'migration applied');
    else if (r.status === 'Error') log.error({ migration: r.migrationName, direction }, 'migration failed');
  }
  if (error !== undefined) {
    const failed = results.find((r) => r.status === 'Error')?.migrationName;
    const where = failed ? `migration ${failed} failed` : 'migrations could not run';
    throw new AppError('internal', `${where} (${direction}): ${errorMessage(error)}`, {
      permanent: true,
      cause: error,
      details: {
        failed,
        direction,
        notExecuted: results.filter((r) => r.status === 'NotExecuted').map((r) => r.migrationName),
      },
    });
  }
  const state = await migrationStatus(db);
  const executed = state.filter((s) => s.executedAt !== null).map((s) => s.name);
  return {
    direction,
    applied: results.filter((r) => r.status === 'Success').map((r) => r.migrationName),
    current: executed.at(-1) ?? null,
    pending: state.filter((s) => s.executedAt === null).map((s) => s.name),
  };
}
