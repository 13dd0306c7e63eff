/**
 * Integration tests run against the real PostgreSQL and Redis given by TEST_DATABASE_URL and REDIS_URL
 * (defaults: the local servers). Fails fast, with the command to start them, when one is down. Then it
 * drops test databases left by crashed runs and builds the migrated template test databases are cloned
 * from (tests/integration/helpers/db.ts), once, before any test file starts.
 */
import net from 'node:net';
import { dropStaleTestDatabases, ensureTestTemplate } from './helpers/db.js';

function reachable(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    socket.setTimeout(2000);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

export default async function setup(): Promise<void> {
  const pg = new URL(process.env['TEST_DATABASE_URL'] ?? 'postgres://root@127.0.0.1:5432/postgres');
  const redis = new URL(process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379');
  if (!(await reachable(pg.hostname, Number(pg.port || 5432)))) {
    throw new Error(
      `PostgreSQL does not answer at ${pg.hostname}:${pg.port || 5432}. Start it: ` +
        'pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start',
    );
  }
  if (!(await reachable(redis.hostname, Number(redis.port || 6379)))) {
    throw new Error(
      `Redis does not answer at ${redis.hostname}:${redis.port || 6379}. Start it: ` +
        'redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no',
    );
  }
  await dropStaleTestDatabases();
  try {
    await ensureTestTemplate();
  } catch (err) {
    throw new Error(`building the migrated test database template failed: ${(err as Error).message}`, {
      cause: err,
    });
  }
}
