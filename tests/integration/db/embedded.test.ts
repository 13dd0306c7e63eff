import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../core/config.js';
import { AppError } from '../../../core/errors.js';
import { createLogger } from '../../../core/logger.js';
import {
  openDatabase,
  openDatabaseByUrl,
  startEmbeddedPostgres,
  type EmbeddedPostgres,
} from '../../../db/database.js';
import { migrateToLatest } from '../../../db/migrator.js';
import { appendAudit, verifyAuditChain } from '../../../db/repositories/audit.repository.js';
import { addAsset } from '../../../db/repositories/evidence.repository.js';
import { findSanction } from '../../../db/repositories/sanction-rule.repository.js';
import {
  getViolationById,
  listViolations,
  recordViolation,
} from '../../../db/repositories/violation.repository.js';
import { cameraWithScene } from './fixtures.js';

const log = createLogger({ level: 'silent' });

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

let root: string;
beforeAll(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'pn-embedded-'));
});
afterAll(() => {
  fs.rmSync(root, { recursive: true, force: true });
});

describe('embedded PostgreSQL (PGlite over a socket)', () => {
  let server: EmbeddedPostgres;
  let dataDir: string;

  beforeAll(async () => {
    dataDir = path.join(root, 'shared', 'pg');
    server = await startEmbeddedPostgres({ dataDir, port: 0, log, maxConnections: 3 });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('runs the migrations and a real round trip through pg and Kysely', async () => {
    expect(server.url).toMatch(/^postgres:\/\/postgres@127\.0\.0\.1:\d+\/postgres$/);
    const database = openDatabaseByUrl(server.url, 1);
    try {
      const version = await sql<{ v: string }>`SELECT version() AS v`.execute(database.db);
      expect(version.rows[0]?.v).toMatch(/PGlite/);
      const summary = await migrateToLatest(database.db, log);
      expect(summary.pending).toEqual([]);

      const camera = await cameraWithScene(database.db, 'EMB-1');
      const v = {
        cameraId: camera.id,
        trackKey: 'e-1',
        ruleCode: 'red_light',
        observedAt: new Date('2026-11-20T10:00:00.123Z'),
        vehicleClass: 'car',
        sceneConfigVersion: 1,
        plate: '29MĐ101353',
        details: { redForMs: 2100 },
      };
      const first = await recordViolation(database.db, v);
      expect(await recordViolation(database.db, v)).toEqual({ id: first.id, created: false });
      await addAsset(database.db, {
        violationId: first.id,
        kind: 'still_at',
        mediaType: 'image/jpeg',
        sha256: 'c'.repeat(64),
        sizeBytes: 4096,
        storageUri: 'evidence/c',
      });
      const stored = await getViolationById(database.db, first.id);
      expect(stored).toMatchObject({
        plate: '29MĐ101353',
        observedAt: v.observedAt,
        details: { redForMs: 2100 },
      });
      expect(stored?.evidence.map((e) => e.sizeBytes)).toEqual([4096]);
      expect((await listViolations(database.db, { limit: 5 })).items).toHaveLength(1);

      for (let i = 0; i < 3; i++) {
        await appendAudit(database.db, {
          actor: 'user:1',
          action: 'violation.view',
          entityType: 'violation',
          entityId: first.id,
          details: { i },
        });
      }
      expect(await verifyAuditChain(database.db)).toMatchObject({ ok: true, checked: 3 });
      await expect(sql`UPDATE audit_log SET actor = 'x'`.execute(database.db)).rejects.toThrow(/refused/);
      await expect(sql`TRUNCATE audit_log`.execute(database.db)).rejects.toThrow(/refused/);

      expect(
        (await findSanction(database.db, 'speeding', 'car', new Date('2025-05-05'), { speedExcessKmh: 36 }))
          ?.citation,
      ).toBe('6.7.a');
    } finally {
      await database.close();
    }
  });

  it('serves several clients at once, as the API and worker processes share it', async () => {
    const clients = Array.from({ length: 3 }, () => openDatabaseByUrl(server.url, 1));
    try {
      const camera = await cameraWithScene(clients[0]!.db, 'EMB-2');
      const results = await Promise.all(
        Array.from({ length: 30 }, (_, i) => {
          const c = clients[i % clients.length]!;
          return recordViolation(c.db, {
            cameraId: camera.id,
            trackKey: `shared-${i % 10}`,
            ruleCode: 'stop_line',
            observedAt: new Date(Date.UTC(2026, 10, 20, 11, 0, i)),
            vehicleClass: 'motorbike',
            sceneConfigVersion: 1,
          }).then(async (r) => {
            await appendAudit(c.db, {
              actor: `client:${i % 3}`,
              action: 'violation.flagged',
              entityType: 'violation',
              entityId: r.id,
            });
            return r;
          });
        }),
      );
      expect(results.filter((r) => r.created)).toHaveLength(10);
      expect(new Set(results.map((r) => r.id)).size).toBe(10);
      expect(await verifyAuditChain(clients[1]!.db)).toMatchObject({ ok: true, checked: 33 });
    } finally {
      await Promise.all(clients.map((c) => c.close()));
    }
  });

  it('refuses to open a data directory another server holds', async () => {
    const err = await startEmbeddedPostgres({ dataDir, port: 0, log }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe('conflict');
    expect((err as AppError).message).toMatch(/already open in process/);
  });

  it('keeps the data across a stop and a restart', async () => {
    await server.stop();
    expect(fs.existsSync(`${dataDir}.lock`)).toBe(false);
    server = await startEmbeddedPostgres({ dataDir, port: 0, log });
    const database = openDatabaseByUrl(server.url, 1);
    try {
      expect((await migrateToLatest(database.db, log)).applied).toEqual([]);
      const n = await database.db
        .selectFrom('violation')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow();
      expect(n.n).toBe(11);
      expect((await verifyAuditChain(database.db)).ok).toBe(true);
    } finally {
      await database.close();
    }
  });
});

describe('openDatabase without DATABASE_URL', () => {
  it('starts the embedded database under DATA_DIR/pg with a pool of one, and stops it on close', async () => {
    const dataRoot = path.join(root, 'app-data');
    const config = loadConfig({ DATA_DIR: dataRoot, EMBEDDED_DB_PORT: String(await freePort()) });
    const database = await openDatabase(config, log);
    try {
      expect(database.embedded).toBe(true);
      expect(fs.existsSync(path.join(dataRoot, 'pg', 'PG_VERSION'))).toBe(true);
      expect(fs.existsSync(path.join(dataRoot, 'pg.lock'))).toBe(true);
      await migrateToLatest(database.db, log);
      // A transaction and queries outside it queue on the single connection instead of failing.
      const [inside, outside] = await Promise.all([
        database.db
          .transaction()
          .execute(async (trx) => (await sql<{ n: number }>`SELECT 1 AS n`.execute(trx)).rows[0]?.n),
        sql<{ n: number }>`SELECT 2 AS n`.execute(database.db).then((r) => r.rows[0]?.n),
      ]);
      expect([inside, outside]).toEqual([1, 2]);
    } finally {
      await database.close();
    }
    expect(fs.existsSync(path.join(dataRoot, 'pg.lock'))).toBe(false);
  });

  it('fails with a clear message when EMBEDDED_DB_PORT is taken, and leaves the directory usable', async () => {
    const blocker = net.createServer();
    const port = await new Promise<number>((resolve) =>
      blocker.listen(0, '127.0.0.1', () => resolve((blocker.address() as net.AddressInfo).port)),
    );
    const dataRoot = path.join(root, 'busy-port');
    try {
      const err = await openDatabase(
        loadConfig({ DATA_DIR: dataRoot, EMBEDDED_DB_PORT: String(port) }),
        log,
      ).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AppError);
      expect((err as AppError).message).toContain(`EMBEDDED_DB_PORT ${port} is already in use`);
      expect(fs.existsSync(path.join(dataRoot, 'pg.lock'))).toBe(false);
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });

  it('takes over a lock left by a process that died', async () => {
    const dataDir = path.join(root, 'stale', 'pg');
    fs.mkdirSync(path.dirname(dataDir), { recursive: true });
    fs.writeFileSync(
      `${dataDir}.lock`,
      JSON.stringify({ pid: 2 ** 22 + 12345, startedAt: '2026-01-01T00:00:00Z' }),
    );
    const server = await startEmbeddedPostgres({ dataDir, port: 0, log });
    await server.stop();
    expect(fs.existsSync(`${dataDir}.lock`)).toBe(false);
  });
});
