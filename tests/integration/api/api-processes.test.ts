/**
 * API_PROCESSES: the real apps/api.ts as several processes on one port (node:cluster). Each serves, a
 * killed one is replaced, SIGTERM stops them all, and a process that fails at start stops the group.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { REDIS_URL } from './helpers.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

let tdb: TestDatabase;
let dataDir: string;
const started: ChildProcess[] = [];

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}

/** True while `pid` runs (not a zombie). */
function alive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** Live API processes forked by `pid`, from /proc. */
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) !== pid || fields[0] === 'Z') continue;
      // The forked API processes run apps/api.ts (a tsx loader may have an esbuild child too).
      if (fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes('apps/api.ts')) out.push(Number(entry));
    } catch {
      // gone
    }
  }
  return out;
}

function startApi(env: Record<string, string>): { child: ChildProcess; exited: Promise<number | null> } {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'apps/api.ts')], {
    cwd: ROOT,
    env: {
      PATH: process.env['PATH'] ?? '',
      HOME: process.env['HOME'] ?? os.tmpdir(),
      NODE_ENV: 'test',
      LOG_LEVEL: 'warn',
      HOST: '127.0.0.1',
      DATABASE_URL: tdb.url,
      DATABASE_POOL_MAX: '2',
      REDIS_URL,
      QUEUE_PREFIX: `pn-test-procs-${process.pid}`,
      DATA_DIR: dataDir,
      ...env,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  child.stderr!.resume();
  started.push(child);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, exited };
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}`);
}

beforeAll(async () => {
  tdb = await createTestDatabase();
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pn-api-procs-'));
});

afterAll(async () => {
  for (const child of started) if (child.exitCode === null) child.kill('SIGKILL');
  await tdb?.drop();
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
});

describe('API_PROCESSES', () => {
  it('serves from several processes on one port, replaces a killed one, and stops them all on SIGTERM', async () => {
    const port = await freePort();
    const { child, exited } = startApi({ PORT: String(port), API_PROCESSES: '2' });
    const health = async () => {
      try {
        return (await fetch(`http://127.0.0.1:${port}/health`)).status === 200 ? true : undefined;
      } catch {
        return undefined;
      }
    };
    await until('the API to answer', health);
    const workers = await until('two API processes', async () => {
      const c = childrenOf(child.pid!);
      return c.length === 2 ? c : undefined;
    });
    // New connections are handed round-robin, so these reach both processes (a route that needs neither
    // the database nor Redis, so a slow dependency cannot fail it).
    const answers = await Promise.all(
      Array.from({ length: 20 }, () =>
        fetch(`http://127.0.0.1:${port}/api/openapi.json`, { headers: { connection: 'close' } }).then(
          (r) => r.status,
        ),
      ),
    );
    expect(answers.every((s) => s === 200)).toBe(true);

    process.kill(workers[0]!, 'SIGKILL');
    const replaced = await until('a replacement process', async () => {
      const c = childrenOf(child.pid!);
      return c.length === 2 && !c.includes(workers[0]!) ? c : undefined;
    });
    expect(replaced).toContain(workers[1]);
    await until('the API to answer after the replacement', health);

    const stopAt = Date.now();
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(Date.now() - stopAt).toBeLessThan(15_000);
    for (const pid of replaced) expect(alive(pid)).toBe(false);
  }, 120_000);

  it('stops the group with a failure when its processes cannot start', async () => {
    const port = await freePort();
    // Production without PUBLIC_LOOKUP_SECRET: every API process refuses to start.
    const { exited } = startApi({ PORT: String(port), API_PROCESSES: '2', NODE_ENV: 'production' });
    expect(await exited).toBe(1);
  }, 120_000);
});
