/**
 * The browser journeys (`npm run test:e2e`), in headless Chromium (Debian's `chromium`, driven by
 * playwright-core) against a real API (createApp listening on a port) over a real PostgreSQL and Redis:
 *
 * - a reviewer signs in, claims a case, sees its evidence verified, approves it with the keyboard, and
 *   opens the printable notice of the fine case the approval opened;
 * - a citizen, on a phone-sized screen, looks up a plate and sees the approved violation;
 * - an operator watches a camera (a simulated RTSP camera read by the real ingest process) go down when
 *   its stream stops and come back when it returns; then draws a stop line on the camera's live
 *   snapshot in the scene editor and saves it as a new version.
 *
 * A screenshot of each journey's end state goes to out/e2e/. Skipped, saying why, without Chromium or
 * playwright-core (scripts/test-e2e.sh installs them), and the operator journey without ffmpeg and
 * GStreamer's RTSP server.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import fs from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import sharp from 'sharp';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../api/app.js';
import { createApiServices } from '../../api/services/api-services.js';
import { createLogger } from '../../core/logger.js';
import { upsertCameraByCode } from '../../db/repositories/camera.repository.js';
import { addAsset } from '../../db/repositories/evidence.repository.js';
import { upsertPoliceUnit } from '../../db/repositories/police-unit.repository.js';
import { addSceneConfigVersion, latestSceneConfig } from '../../db/repositories/scene-config.repository.js';
import { upsertVehicleRegistration } from '../../db/repositories/vehicle-registration.repository.js';
import { recordViolation } from '../../db/repositories/violation.repository.js';
import type { EvidenceKind } from '../../db/schema.js';
import type { SimulatedFleet } from '../../ingest/sim/simulated-fleet.js';
import { evidenceSignerFromKey, signManifest } from '../../violations/evidence-signature.js';
import { EvidenceStore } from '../../violations/evidence-store.js';
import { FAST_SCRYPT, makeUser, REDIS_URL, type TestUser } from '../integration/api/helpers.js';
import { createTestDatabase, type TestDatabase } from '../integration/helpers/db.js';
import { missing as simMissing, simClip, startFleet, stopFleets } from '../integration/ingest/sim-env.js';
import { launchBrowser, type Browser, type Page } from './browser.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const OUT = path.join(ROOT, 'out', 'e2e');

const launched = await launchBrowser();
if (!launched.ok) console.warn(`[e2e] skipped: ${launched.reason}`);
const browser: Browser | undefined = launched.ok ? launched.browser : undefined;

const silent = createLogger({ level: 'silent' });
const signingKey = generateKeyPairSync('ed25519');
const prefix = `pn-e2e-${process.pid}-${Date.now()}`;

let tdb: TestDatabase;
let redis: Redis;
let evidenceDir: string;
let store: EvidenceStore;
let app: ReturnType<typeof createApp>;
let server: ReturnType<ReturnType<typeof createApp>['app']['listen']>;
let base: string;
let cameraId: number;
let reviewer: TestUser;

async function shot(page: Page, name: string): Promise<void> {
  await fs.mkdir(OUT, { recursive: true });
  await page.screenshot({ path: path.join(OUT, `${name}.png`), fullPage: true });
}

/** A synthetic road picture: grey road, white lane marks, a red stop line and a car-sized box. */
async function still(carX: number): Promise<Buffer> {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="960" height="540">
    <rect width="960" height="540" fill="#5a5f66"/>
    <rect x="0" y="300" width="960" height="8" fill="#c0392b"/>
    <rect x="300" y="0" width="6" height="540" fill="#eee"/><rect x="640" y="0" width="6" height="540" fill="#eee"/>
    <rect x="${carX}" y="${500 - carX / 2}" width="140" height="90" fill="#1f4e9c" stroke="#ffd400" stroke-width="4"/>
  </svg>`;
  return sharp(Buffer.from(svg)).jpeg({ quality: 85 }).toBuffer();
}

/** A violation with a real, signed evidence bundle in the store (stills, crops, clip when ffmpeg is here). */
async function violationWithEvidence(plate: string, observedAt: Date): Promise<number> {
  const { id } = await recordViolation(tdb.db, {
    cameraId,
    trackKey: `e2e-${plate}-${observedAt.getTime()}`,
    ruleCode: 'red_light',
    observedAt,
    vehicleClass: 'car',
    sceneConfigVersion: 1,
    plate,
    plateConfidence: 0.97,
    details: {
      redForMs: 2400,
      plateConsensus: {
        agreement: 1,
        support: 4,
        total: 4,
        needsReview: false,
        reviewReasons: [],
        alternatives: [],
      },
    },
  });
  const files: {
    kind: EvidenceKind;
    sha256: string;
    mediaType: string;
    sizeBytes: number;
    storageUri: string;
  }[] = [];
  for (const [kind, x] of [
    ['still_before', 380],
    ['still_at', 400],
    ['still_after', 420],
  ] as const) {
    files.push({ kind, ...(await store.put(await still(x), 'image/jpeg')) });
  }
  const crop = await sharp(await still(400))
    .extract({ left: 400, top: 300, width: 140, height: 90 })
    .jpeg()
    .toBuffer();
  files.push({ kind: 'vehicle_crop', ...(await store.put(crop, 'image/jpeg')) });
  let clipSection: Record<string, unknown> = { status: 'missing', reason: 'no ffmpeg on this machine' };
  if (!simMissing) {
    const clip = await store.put(await fs.readFile(await simClip()), 'video/mp4');
    files.push({ kind: 'clip', ...clip });
    clipSection = { status: 'ok', sha256: clip.sha256, codec: 'h264', durationS: 6 };
  }
  const manifest = signManifest(
    {
      schema: 'phat-nguoi/evidence-manifest@1',
      camera: { id: cameraId, code: 'E2E-CAM', name: 'Ngã tư Thử nghiệm', location: 'TP Thái Nguyên' },
      ruleCode: 'red_light',
      observedAt: observedAt.toISOString(),
      vehicleClass: 'car',
      sceneConfigVersion: 1,
      details: { redForMs: 2400 },
      clip: clipSection,
      files: files.map((f) => ({
        kind: f.kind,
        sha256: f.sha256,
        mediaType: f.mediaType,
        sizeBytes: f.sizeBytes,
      })),
      producedBy: 'e2e',
    },
    evidenceSignerFromKey({ pem: signingKey.privateKey.export({ type: 'pkcs8', format: 'pem' }) }),
  );
  const m = await store.put(Buffer.from(JSON.stringify(manifest, null, 2)), 'application/json');
  for (const f of files) await addAsset(tdb.db, { violationId: id, ...f });
  await addAsset(tdb.db, { violationId: id, kind: 'manifest', ...m });
  return id;
}

async function signIn(page: Page, user: TestUser): Promise<void> {
  await page.getByLabel('Tên đăng nhập').fill(user.user.username);
  await page.getByLabel('Mật khẩu').fill(user.password);
  await page.getByRole('button', { name: 'Đăng nhập' }).click();
}

describe.skipIf(!browser)('browser journeys', () => {
  beforeAll(async () => {
    tdb = await createTestDatabase();
    redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
    evidenceDir = await fs.mkdtemp(path.join(os.tmpdir(), 'pn-e2e-evidence-'));
    store = new EvidenceStore(evidenceDir);
    const services = createApiServices({
      db: tdb.db,
      redis,
      queuePrefix: prefix,
      store,
      auth: { scrypt: FAST_SCRYPT },
      evidencePublicKey: signingKey.publicKey,
      // A light proof of work: the journey checks the page, not the cost of the puzzle.
      publicLookup: {
        pow: { bits: 8, ttlMs: 60_000 },
        lookup: { burst: 100, perMinute: 100 },
        minResponseMs: 0,
      },
    });
    app = createApp({ services, log: silent });
    server = app.app.listen(0, '127.0.0.1');
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

    const camera = await upsertCameraByCode(tdb.db, {
      code: 'E2E-CAM',
      name: 'Ngã tư Thử nghiệm',
      location: 'TP Thái Nguyên',
      unit: 'CSGT-TN',
    });
    cameraId = camera.id;
    await addSceneConfigVersion(tdb.db, { cameraId, config: {}, createdBy: 'e2e' });
    await upsertPoliceUnit(tdb.db, {
      code: 'CSGT-TN',
      name: 'Phòng Cảnh sát giao thông Công an tỉnh Thái Nguyên',
      address: 'Số 1 Đường Thử, TP Thái Nguyên',
      phone: '0208 000 0000',
    });
    reviewer = await makeUser(tdb.db, ['reviewer']);
  });

  afterAll(async () => {
    await browser?.close();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    await redis?.quit();
    await tdb?.drop();
    if (evidenceDir) await fs.rm(evidenceDir, { recursive: true, force: true });
  });

  it('a reviewer approves a case and a notice is produced', async () => {
    await upsertVehicleRegistration(tdb.db, {
      plate: '20A12345',
      vehicleClass: 'car',
      ownerName: 'Nguyễn Văn Thử',
      ownerAddress: 'Số 5 Đường Thử, TP Thái Nguyên',
    });
    const id = await violationWithEvidence('20A12345', new Date(Date.now() - 86_400_000));
    const context = await browser!.newContext({ viewport: { width: 1366, height: 900 } });
    const page = await context.newPage();
    try {
      await page.goto(`${base}/review.html`);
      await signIn(page, reviewer);
      const row = page.locator(`#queue-rows tr[data-id="${id}"]`);
      await row.waitFor();
      await row.getByRole('button', { name: `Nhận xử lý vụ việc ${id}` }).click();
      await page.getByRole('heading', { name: new RegExp(`Vụ việc #${id}`) }).waitFor();
      // Stills before/at/after, the crop, the clip when present, and the verification.
      await expect.poll(() => page.locator('#stills img').count()).toBe(3);
      await expect
        .poll(() =>
          page
            .locator('#stills img')
            .evaluateAll((imgs) =>
              imgs.every((i) => (i as unknown as { naturalWidth: number }).naturalWidth > 0),
            ),
        )
        .toBe(true);
      if (!simMissing) await page.locator('#clip video').waitFor();
      await page.locator('#verify.good').waitFor();
      expect(await page.locator('#verify').textContent()).toContain('Đã xác minh');
      await expect.poll(() => page.locator('#manifest-summary').textContent()).toContain('E2E-CAM');

      // A approves: the keyboard shortcut, as a reviewer works.
      await page.locator('#case').focus();
      await page.keyboard.press('a');
      const notice = page.locator('#notice-link');
      await notice.waitFor();
      expect(await page.locator('#outcome').textContent()).toContain('Đã duyệt');
      await shot(page, 'reviewer-approves');

      const row2 = await tdb.db
        .selectFrom('notice')
        .select(['id', 'state', 'plate'])
        .where('violation_id', '=', id)
        .executeTakeFirstOrThrow();
      expect(row2).toMatchObject({ state: 'draft', plate: '20A12345' });
      expect(await notice.getAttribute('href')).toBe(`/api/cases/${row2.id}/notice`);
      const [popup] = await Promise.all([page.waitForEvent('popup'), notice.click()]);
      await popup.waitForLoadState();
      const text = (await popup.locator('body').textContent()) ?? '';
      expect(text).toContain('20A12345'.slice(0, 3));
      expect(text).toContain('Nguyễn Văn Thử');
      await shot(popup, 'reviewer-notice');
    } finally {
      await context.close();
    }
  }, 120_000);

  it('a supervisor enters Tết in the holiday calendar; a reviewer may not', async () => {
    const supervisor = await makeUser(tdb.db, ['supervisor']);
    const context = await browser!.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    try {
      await page.goto(`${base}/holidays.html`);
      await signIn(page, reviewer);
      await expect.poll(() => page.locator('#status').textContent()).toContain('không có quyền');
      expect(await page.locator('#calendar').isHidden()).toBe(true);

      await signIn(page, supervisor);
      await page.locator('#calendar').waitFor();
      await page.getByLabel('Năm').fill('2027');
      await page.getByRole('button', { name: 'Xem' }).click();
      await expect.poll(() => page.locator('#days tr').count()).toBeGreaterThanOrEqual(4); // the fixed holidays
      await page.getByLabel('Ngày', { exact: true }).fill('2027-02-08');
      await page.getByLabel('Tên ngày nghỉ').fill('Tết Nguyên đán');
      await page.getByRole('button', { name: 'Thêm / đổi tên' }).click();
      const row = page.locator('#days tr', { hasText: '2027-02-08' });
      await row.waitFor();
      expect(await row.textContent()).toContain('Tết Nguyên đán');
      expect((await row.textContent())?.toLowerCase()).toContain('thứ hai'); // a Monday
      await shot(page, 'supervisor-holidays');
      const audit = await tdb.db
        .selectFrom('audit_log')
        .select(['action', 'actor'])
        .where('entity_type', '=', 'public_holiday')
        .where('entity_id', '=', '2027-02-08')
        .execute();
      expect(audit).toEqual([{ action: 'holiday.add', actor: `user:${supervisor.user.id}` }]);

      // English on request, the same page.
      await page.getByRole('button', { name: 'English' }).click();
      await expect.poll(() => page.locator('h1').textContent()).toBe('Public holidays');
      await page.getByRole('button', { name: 'Tiếng Việt' }).click();
    } finally {
      await context.close();
    }
  }, 120_000);

  it('a citizen looks up a plate on a phone', async () => {
    const id = await violationWithEvidence('29B67890', new Date(Date.now() - 2 * 86_400_000));
    expect((await request(app.app).post(`/api/review/${id}/claim`).set(reviewer.bearer)).status).toBe(200);
    const decided = await request(app.app)
      .post(`/api/review/${id}/decision`)
      .set(reviewer.bearer)
      .send({ decision: 'approve' });
    expect(decided.status, decided.text).toBe(200);

    const context = await browser!.newContext({
      viewport: { width: 390, height: 844 },
      isMobile: true,
      hasTouch: true,
      deviceScaleFactor: 2,
    });
    const page = await context.newPage();
    try {
      await page.goto(`${base}/lookup.html`);
      await page.getByLabel('Biển số xe', { exact: true }).first().fill('29B-678.90');
      await page.getByRole('button', { name: 'Tra cứu' }).click();
      await page.locator('#results').waitFor({ state: 'visible', timeout: 60_000 });
      await expect.poll(() => page.locator('#items > li').count()).toBe(1);
      const item = (await page.locator('#items').textContent()) ?? '';
      expect(item).toMatch(/đèn tín hiệu/i);
      // Nothing of the owner reaches the public page.
      expect(await page.locator('body').textContent()).not.toContain('Nguyễn Văn Thử');
      // Usable on a phone: nothing wider than the screen.
      expect(await page.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
      await shot(page, 'citizen-lookup');
    } finally {
      await context.close();
    }
  }, 120_000);

  describe.skipIf(simMissing)('with a simulated camera and the ingest process', () => {
    let fleet: SimulatedFleet;
    let ingest: ChildProcess;
    let dataDir: string;
    let ingestLog = '';
    let operator: TestUser;

    beforeAll(async () => {
      operator = await makeUser(tdb.db, ['operator']);
      dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'pn-e2e-ingest-'));
      const clip = await simClip();
      fleet = await startFleet({ count: 1, port: 0, clip });
      await upsertCameraByCode(tdb.db, {
        code: 'E2E-CAM',
        name: 'Ngã tư Thử nghiệm',
        rtspUrl: fleet.urls[0]!,
      });
      ingest = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'apps', 'ingest.ts')], {
        cwd: ROOT,
        env: {
          ...process.env,
          NODE_ENV: 'test',
          DATABASE_URL: tdb.url,
          DATABASE_POOL_MAX: '2',
          REDIS_URL,
          QUEUE_PREFIX: prefix,
          DATA_DIR: dataDir,
          LOG_LEVEL: 'info',
          INGEST_FPS: '2',
          INGEST_WIDTH: '640',
          INGEST_STALL_TIMEOUT_MS: '4000',
          INGEST_BACKOFF_MIN_MS: '500',
          INGEST_BACKOFF_MAX_MS: '3000',
          INGEST_MAX_RESTARTS_PER_MINUTE: '60',
          INGEST_LEASE_MS: '6000',
          DETECTOR_PLATES: 'off',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const keep = (d: Buffer) => {
        ingestLog = (ingestLog + d.toString()).slice(-20_000);
      };
      ingest.stdout!.on('data', keep);
      ingest.stderr!.on('data', keep);
    }, 120_000);

    afterAll(async () => {
      if (ingest && ingest.exitCode === null) {
        const exited = new Promise((r) => ingest.once('exit', r));
        ingest.kill('SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
        if (ingest.exitCode === null) ingest.kill('SIGKILL');
      }
      await stopFleets();
      if (dataDir) await fs.rm(dataDir, { recursive: true, force: true });
    });

    const row = (page: Page) => page.locator('#cams tr', { hasText: 'E2E-CAM' });

    it('an operator sees a camera go down when its stream stops and come back', async () => {
      const context = await browser!.newContext({ viewport: { width: 1366, height: 700 } });
      const page = await context.newPage();
      try {
        await page.goto(`${base}/`);
        await row(page)
          .locator('td.up', { hasText: 'Hoạt động' })
          .waitFor({ timeout: 90_000 })
          .catch((err: unknown) => {
            throw new Error(`${String(err)}\n--- ingest log ---\n${ingestLog}`);
          });

        process.kill(fleet.pid, 'SIGKILL');
        await fleet.exited;
        await row(page).locator('td.down', { hasText: 'Mất tín hiệu' }).waitFor({ timeout: 30_000 });
        await shot(page, 'operator-camera-down');

        fleet = await startFleet({ count: 1, port: fleet.port, clip: await simClip() });
        await row(page).locator('td.up', { hasText: 'Hoạt động' }).waitFor({ timeout: 60_000 });
        expect(await page.locator('#alerts').isHidden()).toBe(true);
        await shot(page, 'operator-camera-back');
      } finally {
        await context.close();
      }
    }, 240_000);

    it("an operator draws a stop line on the camera's live snapshot and saves a new version", async () => {
      const context = await browser!.newContext({ viewport: { width: 1366, height: 1000 } });
      const page = await context.newPage();
      try {
        await page.goto(`${base}/scene.html`);
        await signIn(page, operator);
        await page.getByLabel('Camera', { exact: true }).selectOption(String(cameraId));
        await page.getByRole('button', { name: 'Mở', exact: true }).click();
        // The live picture comes from the ingest worker through Redis.
        await expect
          .poll(
            () =>
              page
                .locator('#snapshot')
                .evaluate((i) => (i as unknown as { naturalWidth: number }).naturalWidth),
            {
              timeout: 30_000,
            },
          )
          .toBe(640);
        expect(await page.locator('#snapshot-info').textContent()).toContain('Ảnh lúc');

        await page.getByRole('button', { name: 'Vạch dừng' }).click();
        const box = (await page.locator('#overlay').boundingBox())!;
        const at = (x: number, y: number) => page.mouse.click(box.x + box.width * x, box.y + box.height * y);
        await at(0.2, 0.6);
        await at(0.8, 0.62);
        await at(0.5, 0.3);
        await expect.poll(() => page.locator('#objects li').count()).toBe(1);
        await page.getByRole('button', { name: 'Lưu thành phiên bản mới' }).click();
        await page.locator('#save-result.good').waitFor();
        await shot(page, 'operator-scene-editor');

        const saved = await latestSceneConfig(tdb.db, cameraId);
        expect(saved!.version).toBe(2);
        const line = (
          saved!.config['stopLines'] as { a: { x: number; y: number }; towards: { y: number } }[]
        )[0]!;
        expect(line.a.x).toBeCloseTo(0.2, 1);
        expect(line.a.y).toBeCloseTo(0.6, 1);
        expect(line.towards.y).toBeCloseTo(0.3, 1);
      } finally {
        await context.close();
      }
    }, 120_000);
  });
});
