/**
 * The citizen lookup and the owner view on a real PostgreSQL and Redis: what the public sees (and never
 * sees), the proof of work, the rate limit, the blurred thumbnail and the signed media links.
 */
import { createHash, generateKeyPairSync } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import sharp from 'sharp';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../../api/app.js';
import { lookupAnswer, ownerAnswer } from '../../../api/routes/public.routes.js';
import { solveChallenge } from '../../../api/security/proof-of-work.js';
import { createApiServices } from '../../../api/services/api-services.js';
import type { PublicLookupPolicy } from '../../../api/services/public-lookup.service.js';
import { createLogger } from '../../../core/logger.js';
import { upsertPoliceUnit } from '../../../db/repositories/police-unit.repository.js';
import { listAuditForEntity } from '../../../db/repositories/audit.repository.js';
import { upsertCameraByCode } from '../../../db/repositories/camera.repository.js';
import { addAsset } from '../../../db/repositories/evidence.repository.js';
import { addSceneConfigVersion } from '../../../db/repositories/scene-config.repository.js';
import { recordViolation, updateViolationStatus } from '../../../db/repositories/violation.repository.js';
import type { ViolationStatus } from '../../../db/schema.js';
import { evidenceSignerFromKey, signManifest } from '../../../violations/evidence-signature.js';
import { newNoticeCode } from '../../../fines/case-machine.js';
import { EvidenceStore } from '../../../violations/evidence-store.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { REDIS_URL } from './helpers.js';

const SECRET = Buffer.from('test-public-lookup-secret-0123456789abcdef');
const POLICY: Partial<PublicLookupPolicy> = {
  secret: SECRET,
  pow: { bits: 8, ttlMs: 60_000 },
  lookup: { burst: 1000, perMinute: 1000 },
  minResponseMs: 0,
};
const OWNER_NAME = 'Nguyễn Văn Chủ Xe';
/** The offending vehicle's box (normalised) and another vehicle's, on the synthetic still. */
const OFFENDER = { x: 0.1, y: 0.4, w: 0.25, h: 0.3 };
const OTHER = { x: 0.6, y: 0.45, w: 0.25, h: 0.3 };

let tdb: TestDatabase;
let redis: Redis;
let evidenceDir: string;
let store: EvidenceStore;
const apps: ReturnType<typeof createApp>[] = [];
let app: ReturnType<typeof createApp>;
let cameraId: number;
let trackSeq = 0;
const noticeCode = newNoticeCode();

function makeApp(policy: Partial<PublicLookupPolicy> = POLICY): ReturnType<typeof createApp> {
  const services = createApiServices({
    db: tdb.db,
    redis,
    queuePrefix: `pn-test-public-${process.pid}-${Date.now()}-${apps.length}`,
    store,
    publicLookup: policy,
  });
  const made = createApp({ services, log: createLogger({ level: 'silent' }) });
  apps.push(made);
  return made;
}

/** A still with fine detail everywhere (a 4 px checkerboard), so that blur is measurable anywhere. */
async function syntheticStill(): Promise<Buffer> {
  const width = 640;
  const height = 360;
  const data = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const v = ((x >> 3) + (y >> 3)) % 2 === 0 ? 20 : 235;
      data.fill(v, (y * width + x) * 3, (y * width + x) * 3 + 3);
    }
  }
  return sharp(data, { raw: { width, height, channels: 3 } })
    .jpeg({ quality: 95 })
    .toBuffer();
}

async function violation(opts: {
  plate: string;
  vehicleClass: string;
  status: ViolationStatus;
  ruleCode?: string;
  evidence?: boolean;
  details?: Record<string, string | number>;
}): Promise<number> {
  const observedAt = new Date(Date.now() - 2 * 86_400_000 + ++trackSeq * 1000);
  const { id } = await recordViolation(tdb.db, {
    cameraId,
    trackKey: `pub-${trackSeq}`,
    ruleCode: opts.ruleCode ?? 'red_light',
    observedAt,
    vehicleClass: opts.vehicleClass,
    sceneConfigVersion: 1,
    plate: opts.plate,
    plateConfidence: 0.97,
    details: opts.details ?? {},
  });
  if (opts.status !== 'flagged')
    await updateViolationStatus(tdb.db, id, { from: 'flagged', to: opts.status });
  if (opts.evidence) {
    const still = await store.put(await syntheticStill(), 'image/jpeg');
    const signer = evidenceSignerFromKey({
      pem: generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }),
    });
    const manifest = signManifest(
      {
        schema: 'phat-nguoi/evidence-manifest@1',
        stills: [{ role: 'at', capturedAt: observedAt.toISOString() }],
        trajectory: [
          { t: new Date(observedAt.getTime() - 500).toISOString(), box: OTHER, score: 0.9 },
          { t: observedAt.toISOString(), box: OFFENDER, score: 0.9 },
        ],
        files: [
          { kind: 'still_at', sha256: still.sha256, mediaType: 'image/jpeg', sizeBytes: still.sizeBytes },
        ],
      },
      signer,
    );
    const stored = await store.put(Buffer.from(JSON.stringify(manifest, null, 2)), 'application/json');
    await addAsset(tdb.db, { violationId: id, kind: 'still_at', ...still });
    await addAsset(tdb.db, { violationId: id, kind: 'manifest', ...stored });
  }
  return id;
}

async function notice(violationId: number, plate: string, state: 'issued' | 'cancelled', code: string) {
  await tdb.db
    .insertInto('notice')
    .values({
      violation_id: violationId,
      notice_code: code,
      state,
      plate,
      vehicle_class: 'motorbike',
      fine_amount_vnd: 5_000_000,
      fine_min_vnd: 4_000_000,
      fine_max_vnd: 6_000_000,
      points: 4,
      legal_basis: '168/2024/NĐ-CP',
      citation: '7.7.c',
      issued_at: new Date(),
      ...(state === 'cancelled' && { cancelled_at: new Date(), cancel_reason: 'test' }),
    })
    .execute();
}

/** Fetches a challenge and solves it. */
async function solved(target = app): Promise<{ challenge: string; nonce: string }> {
  const res = await request(target.app).get('/api/public/challenge');
  expect(res.status, res.text).toBe(200);
  return { challenge: res.body.challenge, nonce: solveChallenge(res.body.challenge, res.body.bits) };
}

async function lookup(plate: string, vehicleType: string, target = app) {
  return request(target.app)
    .post('/api/public/lookup')
    .send({ plate, vehicleType, ...(await solved(target)) });
}

/** Standard deviation of the luminance inside a normalised box of a JPEG, shrunk by `inset`. */
async function stdevIn(jpeg: Buffer, box: typeof OFFENDER, inset = 0.2): Promise<number> {
  const meta = await sharp(jpeg).metadata();
  const w = meta.width!;
  const h = meta.height!;
  const region = {
    left: Math.round((box.x + box.w * inset) * w),
    top: Math.round((box.y + box.h * inset) * h),
    width: Math.round(box.w * (1 - 2 * inset) * w),
    height: Math.round(box.h * (1 - 2 * inset) * h),
  };
  // stats() reads the input image, so the region is cut out first.
  const cut = await sharp(jpeg).extract(region).greyscale().png().toBuffer();
  const stats = await sharp(cut).stats();
  return stats.channels[0]!.stdev;
}

beforeAll(async () => {
  tdb = await createTestDatabase();
  redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  evidenceDir = await fs.mkdtemp(path.join(os.tmpdir(), 'pn-public-evidence-'));
  store = new EvidenceStore(evidenceDir);
  const camera = await upsertCameraByCode(tdb.db, {
    code: 'TN-PUB',
    name: 'Ngã tư Đồng Quang',
    location: 'Đường Hoàng Văn Thụ × Đường Lương Ngọc Quyến, TP Thái Nguyên',
    unit: 'TN-CSGT',
  });
  cameraId = camera.id;
  await addSceneConfigVersion(tdb.db, { cameraId, config: { stopLines: [] }, createdBy: 'test' });
  await upsertPoliceUnit(tdb.db, {
    code: 'TN-CSGT',
    name: 'Phòng CSGT Công an tỉnh Thái Nguyên',
    address: 'Số 1 Đường Test, TP Thái Nguyên',
    phone: '0208 3 000 000',
  });
  await tdb.db
    .insertInto('vehicle_registration')
    .values({
      plate: '29MĐ101353',
      vehicle_class: 'motorbike',
      owner_name: OWNER_NAME,
      owner_address: 'Số 9 Phố Riêng Tư, Hà Nội',
    })
    .execute();
  app = makeApp();
});

afterAll(async () => {
  await redis?.quit();
  if (evidenceDir) await fs.rm(evidenceDir, { recursive: true, force: true });
  await tdb?.drop();
});

describe('citizen lookup', () => {
  let shownId: number;

  beforeAll(async () => {
    shownId = await violation({
      plate: '29MĐ101353',
      vehicleClass: 'motorbike',
      status: 'approved',
      evidence: true,
    });
    await notice(shownId, '29MĐ101353', 'issued', noticeCode);
    // Never listed: pending review, dismissed, another vehicle type, a cancelled case.
    await violation({ plate: '29MĐ101353', vehicleClass: 'motorbike', status: 'flagged' });
    await violation({ plate: '29MĐ101353', vehicleClass: 'motorbike', status: 'second_review' });
    await violation({ plate: '29MĐ101353', vehicleClass: 'motorbike', status: 'rejected' });
    await violation({ plate: '29MĐ101353', vehicleClass: 'car', status: 'approved' });
    const cancelled = await violation({ plate: '29MĐ101353', vehicleClass: 'motorbike', status: 'approved' });
    await notice(cancelled, '29MĐ101353', 'cancelled', newNoticeCode());
    // Listed without a case yet: a speeding motorbike (the tier comes from the measured excess).
    await violation({
      plate: '29MĐ101353',
      vehicleClass: 'motorcycle',
      status: 'approved',
      ruleCode: 'speeding',
      details: { speedExcessKmh: 12.5 },
    });
  });

  it('lists the approved violations with the public fields, and never owner data', async () => {
    // Typed as a citizen would: separators, lower case, Đ as D.
    const res = await lookup('29-md1 013.53', 'motorbike');
    expect(res.status, res.text).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    const body = lookupAnswer.parse(res.body);
    expect(body.items).toHaveLength(2);
    const [speeding, redLight] = body.items;
    expect(redLight).toMatchObject({
      plate: '29MĐ101353',
      vehicleType: 'motorbike',
      place: { name: 'Ngã tư Đồng Quang', address: expect.stringContaining('Hoàng Văn Thụ') },
      behaviour: {
        code: 'red_light',
        vi: expect.stringMatching(/đèn tín hiệu/),
        en: expect.stringMatching(/red/i),
      },
      status: { code: 'notice_sent' },
      fine: {
        minVnd: 4_000_000,
        maxVnd: 6_000_000,
        points: 4,
        citation: '7.7.c',
        legalBasis: expect.stringContaining('168/2024'),
      },
      detectingUnit: 'TN-CSGT',
      resolvingUnit: { name: 'Phòng CSGT Công an tỉnh Thái Nguyên', phone: '0208 3 000 000' },
      thumbnailUrl: expect.stringMatching(/^\/api\/public\/media\/[A-Za-z0-9_-]+$/),
    });
    expect(speeding).toMatchObject({
      behaviour: { code: 'speeding' },
      status: { code: 'unresolved' },
      fine: { citation: '7.4.a', minVnd: 800_000, maxVnd: 1_000_000 },
      thumbnailUrl: null,
    });
    // No owner, no internal ids, no notice code.
    expect(res.text).not.toContain(OWNER_NAME);
    expect(res.text).not.toContain('Riêng Tư');
    expect(res.text).not.toContain(noticeCode);
    expect(res.text).not.toMatch(/"(id|violationId|trackKey)"/);
  });

  it('answers an unknown plate with the same shape', async () => {
    const known = await lookup('29MĐ101353', 'motorbike');
    const unknown = await lookup('99Z99999', 'motorbike');
    expect(unknown.status).toBe(200);
    expect(Object.keys(unknown.body).sort()).toEqual(Object.keys(known.body).sort());
    expect(lookupAnswer.parse(unknown.body).items).toEqual([]);
    // The car with that plate is not shown to a motorbike lookup, and the other way round.
    const car = await lookup('29MĐ101353', 'car');
    expect(car.body.items).toHaveLength(1);
    expect(car.body.items[0].vehicleType).toBe('car');
  });

  it('pads every answer to the minimum time, found or not', async () => {
    const slow = makeApp({ ...POLICY, minResponseMs: 250 });
    for (const plate of ['29MĐ101353', '88A00000']) {
      const started = performance.now();
      const res = await lookup(plate, 'motorbike', slow);
      expect(res.status).toBe(200);
      expect(performance.now() - started).toBeGreaterThanOrEqual(250);
    }
  });

  it('refuses a missing, malformed, wrong, forged, expired or replayed proof of work', async () => {
    const send = (body: object) => request(app.app).post('/api/public/lookup').send(body);
    const base = { plate: '29MĐ101353', vehicleType: 'motorbike' };
    expect((await send(base)).status).toBe(400);
    const { challenge, nonce } = await solved();
    // A nonce that does not meet the difficulty.
    let bad = 0;
    while (
      createHash('sha256')
        .update(`${challenge}:${bad.toString(36)}`)
        .digest()[0] === 0
    )
      bad++;
    const refused = await send({ ...base, challenge, nonce: bad.toString(36) });
    expect(refused.status).toBe(400);
    expect(refused.body.error.code).toBe('challenge_failed');
    expect(refused.body.error.message).toMatch(/wrong/);
    // Forged: the difficulty lowered in the challenge breaks its mac.
    const forged = challenge.replace(/\.8\./, '.1.');
    const forgedRes = await send({ ...base, challenge: forged, nonce: solveChallenge(forged, 1) });
    expect(forgedRes.body.error.message).toMatch(/forged/);
    // Expired: a challenge from an app whose challenges live 1 ms.
    const shortLived = makeApp({ ...POLICY, pow: { bits: 8, ttlMs: 1 } });
    const old = await solved(shortLived);
    await new Promise((r) => setTimeout(r, 5));
    const expired = await request(shortLived.app)
      .post('/api/public/lookup')
      .send({ ...base, ...old });
    expect(expired.body.error.message).toMatch(/expired/);
    // Used once: the second use of a good solution is refused.
    expect((await send({ ...base, challenge, nonce })).status).toBe(200);
    const replay = await send({ ...base, challenge, nonce });
    expect(replay.status).toBe(400);
    expect(replay.body.error.message).toMatch(/already used/);
    // A challenge issued by another deployment (another secret) is forged here.
    const other = makeApp({ ...POLICY, secret: Buffer.from('another-secret-another-secret-another!!') });
    const foreign = await solved(other);
    expect((await send({ ...base, ...foreign })).body.error.message).toMatch(/forged/);
  });

  it('answers 429 with Retry-After once a client has spent its burst', async () => {
    const limited = makeApp({ ...POLICY, lookup: { burst: 2, perMinute: 1 } });
    const statuses: number[] = [];
    let last;
    for (let i = 0; i < 3; i++) {
      last = await lookup('29MĐ101353', 'motorbike', limited);
      statuses.push(last.status);
    }
    expect(statuses).toEqual([200, 200, 429]);
    expect(last!.body.error.code).toBe('rate_limited');
    expect(Number(last!.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(Number(last!.headers['retry-after'])).toBeLessThanOrEqual(60);
    // Another client (another address, through the trusted loopback proxy) is not limited by it.
    const other = await request(limited.app)
      .post('/api/public/lookup')
      .set('X-Forwarded-For', '203.0.113.9')
      .send({ plate: '29MĐ101353', vehicleType: 'motorbike', ...(await solved(limited)) });
    expect(other.status).toBe(200);
  });

  it('spends no challenge on a request the limit refuses, and charges a token for a refused proof', async () => {
    const limited = makeApp({ ...POLICY, lookup: { burst: 2, perMinute: 1 } });
    const send = (body: object, from?: string) => {
      const req = request(limited.app).post('/api/public/lookup');
      return (from ? req.set('X-Forwarded-For', from) : req).send({
        plate: '29MĐ101353',
        vehicleType: 'motorbike',
        ...body,
      });
    };
    // A wrong nonce is refused (400) and still takes one of the two tokens.
    const first = await solved(limited);
    let bad = 0;
    while (
      createHash('sha256')
        .update(`${first.challenge}:${bad.toString(36)}`)
        .digest()[0] === 0
    )
      bad++;
    expect((await send({ challenge: first.challenge, nonce: bad.toString(36) })).status).toBe(400);
    expect((await send(first)).status).toBe(200);
    // The bucket is empty now: refused with 429 whatever the proof, and the proof is not spent...
    const kept = await solved(limited);
    expect((await send(kept)).status).toBe(429);
    expect((await send({ challenge: kept.challenge, nonce: 'zzzz' })).status).toBe(429);
    // ...so it still works once from a client with tokens left, and only once.
    expect((await send(kept, '203.0.113.20')).status).toBe(200);
    const replay = await send(kept, '203.0.113.20');
    expect(replay.status).toBe(400);
    expect(replay.body.error.message).toMatch(/already used/);
  });

  it('spends a challenge exactly once when many requests race with it', async () => {
    const { challenge, nonce } = await solved();
    const statuses = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        request(app.app)
          .post('/api/public/lookup')
          .set('X-Forwarded-For', `203.0.113.${100 + i}`)
          .send({ plate: '29MĐ101353', vehicleType: 'motorbike', challenge, nonce })
          .then((r) => r.status),
      ),
    );
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    expect(statuses.filter((s) => s === 400)).toHaveLength(11);
  });

  it('serves a thumbnail where only the offending vehicle is sharp', async () => {
    const res = await lookup('29MĐ101353', 'motorbike');
    const url = res.body.items.find((i: { thumbnailUrl: string | null }) => i.thumbnailUrl).thumbnailUrl;
    const thumb = await request(app.app).get(url).buffer(true);
    expect(thumb.status).toBe(200);
    expect(thumb.headers['content-type']).toBe('image/jpeg');
    expect(thumb.headers['cache-control']).toMatch(/^private, max-age=\d+$/);
    const jpeg = thumb.body as Buffer;
    expect((await sharp(jpeg).metadata()).width).toBe(480);
    // The same checkerboard everywhere: sharp inside the offender's box, flattened in the other vehicle's.
    const offender = await stdevIn(jpeg, OFFENDER);
    const other = await stdevIn(jpeg, OTHER);
    const elsewhere = await stdevIn(jpeg, { x: 0.4, y: 0.05, w: 0.2, h: 0.2 });
    expect(offender).toBeGreaterThan(60);
    expect(other).toBeLessThan(8);
    expect(elsewhere).toBeLessThan(8);
    // Tampered or made-up links name nothing.
    const token = url.split('/').pop()!;
    const flipped = token.slice(0, 20) + (token[20] === 'A' ? 'B' : 'A') + token.slice(21);
    expect((await request(app.app).get(`/api/public/media/${flipped}`)).status).toBe(404);
    expect((await request(app.app).get(`/api/public/media/${'A'.repeat(60)}`)).status).toBe(404);
  });
});

describe('owner view', () => {
  it('shows the full evidence for the notice code and plate, verified and audited', async () => {
    const res = await request(app.app)
      .post('/api/public/owner')
      .send({ noticeCode: noticeCode.toLowerCase().replace(/-/g, ' '), plate: '29-MĐ1 013.53' });
    expect(res.status, res.text).toBe(200);
    const body = ownerAnswer.parse(res.body);
    expect(body.noticeCode).toBe(noticeCode);
    expect(body.evidence.map((e) => e.kind).sort()).toEqual(['manifest', 'still_at']);
    expect(body.verification).toMatchObject({ ok: true, signature: { ok: true }, problems: [] });
    expect(res.text).not.toContain(OWNER_NAME);
    // Each file comes back byte for byte, through its signed link.
    for (const e of body.evidence) {
      const file = await request(app.app).get(e.url).buffer(true);
      expect(file.status).toBe(200);
      const bytes = Buffer.isBuffer(file.body) ? file.body : Buffer.from(file.text);
      expect(createHash('sha256').update(bytes).digest('hex')).toBe(e.sha256);
    }
    const notices = await tdb.db
      .selectFrom('notice')
      .select('id')
      .where('notice_code', '=', noticeCode)
      .execute();
    const audit = await listAuditForEntity(tdb.db, 'notice', notices[0]!.id);
    expect(audit.map((a) => a.action)).toContain('notice.owner_view');
  });

  it('answers 404 for a wrong plate, an unknown code, or a code not in the random form', async () => {
    const ask = (body: object) => request(app.app).post('/api/public/owner').send(body);
    expect((await ask({ noticeCode, plate: '30A12345' })).status).toBe(404);
    expect((await ask({ noticeCode: newNoticeCode(), plate: '29MĐ101353' })).status).toBe(404);
    const guessable = await violation({ plate: '29MĐ101353', vehicleClass: 'motorbike', status: 'approved' });
    await notice(guessable, '29MĐ101353', 'issued', 'TN-2026-000001');
    expect((await ask({ noticeCode: 'TN-2026-000001', plate: '29MĐ101353' })).status).toBe(404);
  });
});

describe('public routes', () => {
  it('declare the public role, and POSTs skip CSRF (no session is involved)', () => {
    const mine = app.routes.routes.filter((r) => r.path.startsWith('/api/public/'));
    expect(mine.map((r) => `${r.method} ${r.path}`).sort()).toEqual([
      'get /api/public/challenge',
      'get /api/public/media/:token',
      'post /api/public/lookup',
      'post /api/public/owner',
    ]);
    for (const r of mine) {
      expect(r.roles).toEqual(['public']);
      if (r.method === 'post') expect(r.csrf).toBe(false);
    }
  });
});
