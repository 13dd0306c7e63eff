/**
 * Cameras cut off for 5 s and for 60 s, with real processes: the ingest app (apps/ingest.ts, its own
 * process) reads two simulated RTSP cameras, each served by its own GStreamer server; one server is
 * killed and later restarted on the same port. What the operator sees comes from the real API
 * (`/api/cameras`, from the statuses the ingest process publishes in Redis): the camera goes down at
 * once, raises the alert only after 30 s, comes back up on its own; the other camera never stops.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { upsertCameraByCode } from '../../../db/repositories/camera.repository.js';
import { addSceneConfigVersion } from '../../../db/repositories/scene-config.repository.js';
import type { SimulatedFleet } from '../../../ingest/sim/simulated-fleet.js';
import { createTestApp, REDIS_URL, type TestApp } from '../api/helpers.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { startIngestProcess, type IngestProcess } from '../helpers/ingest-process.js';
import { missing, simClip, startFleet, stopFleets, until as untilFast } from '../ingest/sim-env.js';

/** Polls the API four times a second. */
const until = (predicate: () => Promise<boolean>, ms: number, what: string) =>
  untilFast(predicate, ms, what, 250);

interface CameraRow {
  code: string;
  state: 'starting' | 'up' | 'down';
  alert: boolean;
  framesReceived: number;
  restarts: number;
  reason: string | null;
}

describe.skipIf(missing)('a camera cut off and restored, end to end', () => {
  let tdb: TestDatabase;
  let api: TestApp;
  let ingest: IngestProcess | undefined;
  let dataDir: string;
  let clip: string;
  const fleets: Record<string, SimulatedFleet> = {};
  const prefix = `pn-test-cut-${process.pid}-${Date.now()}`;

  const cameras = async (): Promise<Record<string, CameraRow>> => {
    const res = await request(api.app.app).get('/api/cameras').expect(200);
    const items = (res.body as { items: CameraRow[] }).items;
    return Object.fromEntries(items.map((c) => [c.code, c]));
  };
  const camera = async (code: string) => (await cameras())[code]!;

  beforeAll(async () => {
    tdb = await createTestDatabase();
    api = await createTestApp(tdb.db, { queuePrefix: prefix });
    dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'pn-camera-cut-'));
    clip = await simClip();
    for (const code of ['CUT-A', 'CUT-B']) {
      const fleet = await startFleet({ count: 1, port: 0, clip });
      fleets[code] = fleet;
      const cam = await upsertCameraByCode(tdb.db, { code, name: code, rtspUrl: fleet.urls[0]! });
      await addSceneConfigVersion(tdb.db, { cameraId: cam.id, config: {}, createdBy: 'test' });
    }
    ingest = startIngestProcess({
      databaseUrl: tdb.url,
      redisUrl: REDIS_URL,
      queuePrefix: prefix,
      dataDir,
      extra: { INGEST_WIDTH: '320' },
    });
    await until(
      async () => {
        const all = await cameras();
        return all['CUT-A']?.state === 'up' && all['CUT-B']?.state === 'up';
      },
      60_000,
      'both cameras up',
    ).catch((err: unknown) => {
      throw new Error(`${String(err)}\n--- ingest log ---\n${ingest!.output()}`);
    });
  }, 90_000);

  afterAll(async () => {
    await ingest?.stop();
    await stopFleets();
    await api?.close();
    await tdb?.drop();
    if (dataDir) await fs.rm(dataDir, { recursive: true, force: true });
  });

  /** Kills the camera's RTSP server, waits `ms`, starts it again on the same port. */
  async function cut(code: string, ms: number, during?: () => Promise<void>): Promise<void> {
    const fleet = fleets[code]!;
    process.kill(fleet.pid, 'SIGKILL');
    await fleet.exited;
    const started = Date.now();
    await until(async () => (await camera(code)).state === 'down', 10_000, `${code} reported down`);
    if (during) await during();
    await new Promise((r) => setTimeout(r, Math.max(0, ms - (Date.now() - started))));
    fleets[code] = await startFleet({ count: 1, port: fleet.port, clip });
  }

  it('a 5 s cut: down at once, no alert, back up by itself; the other camera keeps streaming', async () => {
    const before = await cameras();
    await cut('CUT-A', 5_000, async () => {
      const a = await camera('CUT-A');
      expect(a.alert).toBe(false);
      expect(a.reason).toEqual(expect.any(String));
    });
    await until(async () => (await camera('CUT-A')).state === 'up', 30_000, 'CUT-A back up');
    const after = await cameras();
    expect(after['CUT-A']!.alert).toBe(false);
    expect(after['CUT-A']!.restarts).toBeGreaterThan(before['CUT-A']!.restarts);
    expect(after['CUT-B']!.state).toBe('up');
    expect(after['CUT-B']!.restarts).toBe(before['CUT-B']!.restarts);
    expect(after['CUT-B']!.framesReceived).toBeGreaterThan(before['CUT-B']!.framesReceived + 10);
  }, 90_000);

  it('a 60 s cut: the alert after 30 s, then up again with the alert cleared', async () => {
    const bBefore = (await camera('CUT-B')).framesReceived;
    await cut('CUT-A', 60_000, async () => {
      await new Promise((r) => setTimeout(r, 20_000));
      expect((await camera('CUT-A')).alert).toBe(false);
      await until(async () => (await camera('CUT-A')).alert, 20_000, 'the 30 s alert');
      expect((await camera('CUT-A')).state).toBe('down');
    });
    await until(async () => (await camera('CUT-A')).state === 'up', 30_000, 'CUT-A back up after 60 s');
    const after = await cameras();
    expect(after['CUT-A']!.alert).toBe(false);
    expect(after['CUT-B']!.state).toBe('up');
    // 2 analysed fps for more than 60 s.
    expect(after['CUT-B']!.framesReceived).toBeGreaterThan(bBefore + 100);
  }, 150_000);
});
