/**
 * `npm run audit:verify [-- --batch-size N]`
 *
 * Recomputes the audit log's hash chain (db/audit-canonical.ts, independently of the database trigger)
 * and names the first broken link: a changed row, a removed one (an id gap), a re-chained row or a head
 * that does not point at the last row. Exits 0 when the chain is whole, 3 when it is broken, 1 when it
 * could not be checked, 2 on a usage error.
 */
import { parseArgs } from 'node:util';
import { loadConfig } from '../core/config.js';
import { errorMessage } from '../core/errors.js';
import { createLogger, redactUrl } from '../core/logger.js';
import { openDatabase, type Database } from '../db/database.js';
import { verifyAuditChain } from '../db/repositories/audit.repository.js';

const USAGE = 'usage: npm run audit:verify [-- --batch-size N]';

const EXIT_BROKEN = 3;

const REASONS = {
  id_gap: 'an id is missing (a row was deleted) or out of order',
  prev_hash_mismatch: "its prev_hash is not the previous row's hash (rows removed or re-chained)",
  hash_mismatch: 'its contents do not match its hash (the row was changed)',
  head_mismatch:
    'the chain head does not point at the last row (rows removed at the end, or the head was changed)',
} as const;

async function main(): Promise<number> {
  let batchSize = 1000;
  try {
    const { values } = parseArgs({
      args: process.argv.slice(2),
      options: { 'batch-size': { type: 'string' } },
      strict: true,
      allowPositionals: false,
    });
    if (values['batch-size'] !== undefined) {
      if (!/^[1-9]\d{0,5}$/.test(values['batch-size'])) throw new Error('--batch-size: 1 to 999999');
      batchSize = Number(values['batch-size']);
    }
  } catch (err) {
    process.stderr.write(`audit:verify: ${errorMessage(err)}\n${USAGE}\n`);
    return 2;
  }
  let config;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    process.stderr.write(`audit:verify: ${errorMessage(err)}\n`);
    return 1;
  }
  const log = createLogger({ name: 'audit-verify', level: config.LOG_LEVEL });
  const target = config.DATABASE_URL
    ? redactUrl(config.DATABASE_URL)
    : `embedded database in ${config.dataDir}/pg`;
  let database: Database | undefined;
  try {
    database = await openDatabase(config, log);
    const started = performance.now();
    const result = await verifyAuditChain(database.db, { batchSize });
    const ms = Math.round(performance.now() - started);
    if (result.ok) {
      process.stdout.write(
        `audit:verify: chain intact: ${result.checked} entries, last id ${result.lastId}, head ${result.lastHash} (${ms} ms)\n`,
      );
      return 0;
    }
    process.stdout.write(
      [
        `audit:verify: CHAIN BROKEN at id ${result.brokenAtId} (${result.reason}): ${REASONS[result.reason]}`,
        `  expected ${result.expected}`,
        `  found    ${result.actual}`,
        `  ${result.checked} entries before it verified`,
        '',
      ].join('\n'),
    );
    return EXIT_BROKEN;
  } catch (err) {
    process.stderr.write(`audit:verify: could not check ${target}: ${errorMessage(err)}\n`);
    return 1;
  } finally {
    await database?.close().catch((err: unknown) => {
      process.stderr.write(`audit:verify: closing the database failed: ${errorMessage(err)}\n`);
    });
  }
}

process.exit(await main());
