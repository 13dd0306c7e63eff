/**
 * `npm run migrate [-- latest | status | down [N|all]]`
 *
 * Brings the database schema to the latest migration (the default), shows which migrations ran, or
 * reverts the last N (default 1). Run before the API and workers start. With DATABASE_URL it migrates
 * that server; without, the embedded PostgreSQL under DATA_DIR (started for the run, then stopped).
 * Exits 0 on success, 1 on failure (with the reason), 2 on a usage error.
 */
import { loadConfig } from '../core/config.js';
import { errorMessage } from '../core/errors.js';
import { createLogger, redactUrl } from '../core/logger.js';
import { openDatabase, type Database } from '../db/database.js';
import { migrateDown, migrateToLatest, migrationStatus, type MigrationSummary } from '../db/migrator.js';

type Command = { kind: 'latest' } | { kind: 'status' } | { kind: 'down'; steps: number | 'all' };

const USAGE = 'usage: npm run migrate [-- latest | status | down [N|all]]';

function parseArgs(args: string[]): Command | undefined {
  const [verb = 'latest', arg, ...rest] = args;
  if (rest.length > 0) return undefined;
  if ((verb === 'latest' || verb === 'up' || verb === 'status') && arg === undefined) {
    return verb === 'status' ? { kind: 'status' } : { kind: 'latest' };
  }
  if (verb === 'down') {
    if (arg === undefined) return { kind: 'down', steps: 1 };
    if (arg === 'all') return { kind: 'down', steps: 'all' };
    if (/^[1-9]\d{0,3}$/.test(arg)) return { kind: 'down', steps: Number(arg) };
  }
  return undefined;
}

function printSummary(summary: MigrationSummary): void {
  const verb = summary.direction === 'up' ? 'applied' : 'reverted';
  if (summary.applied.length === 0) {
    process.stdout.write(`migrate: nothing to do; schema at ${summary.current ?? '(no migrations)'}\n`);
  } else {
    process.stdout.write(`migrate: ${verb} ${summary.applied.length}:\n`);
    for (const name of summary.applied) process.stdout.write(`  ${name}\n`);
    process.stdout.write(`migrate: schema at ${summary.current ?? '(no migrations)'}\n`);
  }
  if (summary.pending.length > 0) process.stdout.write(`migrate: ${summary.pending.length} pending\n`);
}

async function main(): Promise<number> {
  const command = parseArgs(process.argv.slice(2));
  if (!command) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  let config;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    process.stderr.write(`migrate: ${errorMessage(err)}\n`);
    return 1;
  }
  const log = createLogger({ name: 'migrate', level: config.LOG_LEVEL });
  const target = config.DATABASE_URL
    ? redactUrl(config.DATABASE_URL)
    : `embedded database in ${config.dataDir}/pg`;

  let database: Database | undefined;
  try {
    database = await openDatabase(config, log);
    if (command.kind === 'status') {
      const state = await migrationStatus(database.db);
      process.stdout.write(`migrate: ${target}\n`);
      for (const m of state) {
        process.stdout.write(
          `  ${m.executedAt ? m.executedAt.toISOString() : 'pending                 '}  ${m.name}\n`,
        );
      }
    } else {
      const summary =
        command.kind === 'latest'
          ? await migrateToLatest(database.db, log)
          : await migrateDown(database.db, log, command.steps);
      printSummary(summary);
    }
    return 0;
  } catch (err) {
    process.stderr.write(`migrate: failed on ${target}: ${errorMessage(err)}\n`);
    log.error({ err: errorMessage(err) }, 'migration failed');
    return 1;
  } finally {
    await database?.close().catch((err: unknown) => {
      process.stderr.write(`migrate: closing the database failed: ${errorMessage(err)}\n`);
    });
  }
}

process.exit(await main());
