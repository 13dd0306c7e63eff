/**
 * A role started while PostgreSQL is restarting waits for it (a deploy, a failover, the dependency-restart
 * fault test) instead of exiting, and still fails clearly when it never comes.
 */
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { AppError } from '../../../core/errors.js';
import { loadConfig } from '../../../core/config.js';
import { createLogger } from '../../../core/logger.js';
import { openDatabase } from '../../../db/database.js';
import { TEST_DATABASE_URL } from '../helpers/db.js';

const log = createLogger({ level: 'silent' });
const target = new URL(TEST_DATABASE_URL);

async function freePort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const { port } = probe.address() as net.AddressInfo;
  await new Promise((r) => probe.close(r));
  return port;
}

/** A TCP relay to the test PostgreSQL that starts listening on `port` only after `delayMs`. */
function lateRelay(port: number, delayMs: number): { ready: Promise<void>; close: () => Promise<void> } {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(target.port || 5432), target.hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => undefined);
    }
    client.pipe(upstream).pipe(client);
  });
  const ready = new Promise<void>((resolve) =>
    setTimeout(() => server.listen(port, '127.0.0.1', () => resolve()), delayMs),
  );
  return {
    ready,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

const urlOnPort = (port: number) => {
  const u = new URL(TEST_DATABASE_URL);
  u.port = String(port);
  return u.toString();
};

describe('opening PostgreSQL', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0)) await c();
  });

  it('waits for a server that comes up after the role started', async () => {
    const port = await freePort();
    const relay = lateRelay(port, 1500);
    cleanups.push(relay.close);
    const started = Date.now();
    const database = await openDatabase(loadConfig({ DATABASE_URL: urlOnPort(port) }), log, {
      waitMs: 20_000,
    });
    cleanups.push(() => database.close());
    expect(Date.now() - started).toBeGreaterThanOrEqual(1400);
    await relay.ready;
  });

  it('gives up with dependency_down once the wait is over', async () => {
    const port = await freePort();
    const started = Date.now();
    const err = await openDatabase(loadConfig({ DATABASE_URL: urlOnPort(port) }), log, {
      waitMs: 1200,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe('dependency_down');
    expect((err as AppError).message).toContain('cannot be reached');
    expect(Date.now() - started).toBeGreaterThanOrEqual(700);
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});
