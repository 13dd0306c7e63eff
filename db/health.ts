import { sql } from 'kysely';
import { errorMessage } from '../core/errors.js';
import type { DbExecutor } from './schema.js';

export type DatabaseHealth = { ok: true; latencyMs: number } | { ok: false; error: string };

/**
 * One round trip (`select 1`), bounded by `timeoutMs`, for readiness probes. Never throws. A timed-out
 * query is abandoned, not cancelled: it still holds its connection until the server answers.
 */
export async function pingDatabase(db: DbExecutor, timeoutMs = 2_000): Promise<DatabaseHealth> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    });
    await Promise.race([sql`select 1`.execute(db), timeout]);
    return { ok: true, latencyMs: Math.round((performance.now() - started) * 10) / 10 };
  } catch (err) {
    return { ok: false, error: errorMessage(err) };
  } finally {
    clearTimeout(timer);
  }
}
