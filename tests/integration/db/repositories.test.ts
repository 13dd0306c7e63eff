import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../../../core/errors.js';
import { openDatabaseByUrl } from '../../../db/database.js';
import { pingDatabase } from '../../../db/health.js';
import {
  getCameraByCode,
  getCameraById,
  getCameraWithStreamUrl,
  listCameras,
  listCamerasWithStreamUrls,
  setCameraEnabled,
  upsertCameraByCode,
} from '../../../db/repositories/camera.repository.js';
import { addAsset, listAssets } from '../../../db/repositories/evidence.repository.js';
import {
  createNotice,
  getNoticeByCode,
  listNoticesByPlate,
  updateNoticeState,
} from '../../../db/repositories/notice.repository.js';
import {
  addPlateRead,
  attachPlateReadsToViolation,
  listPlateReadsForTrack,
  listPlateReadsForViolation,
} from '../../../db/repositories/plate-read.repository.js';
import { addReview, listReviews } from '../../../db/repositories/review.repository.js';
import {
  addSceneConfigVersion,
  getSceneConfigVersion,
  latestSceneConfig,
  listSceneConfigVersions,
} from '../../../db/repositories/scene-config.repository.js';
import {
  createUser,
  findUserByUsername,
  findUserForLogin,
  getUserById,
  grantRole,
  recordLoginFailure,
  recordLoginSuccess,
  revokeRole,
} from '../../../db/repositories/user.repository.js';
import {
  countViolations,
  getViolationById,
  listViolations,
  recordViolation,
  setViolationPlate,
  updateViolationStatus,
  type NewViolation,
} from '../../../db/repositories/violation.repository.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { cameraWithScene } from './fixtures.js';

const SHA_A = 'a'.repeat(64);
const SHA_B = 'b'.repeat(64);
const HASH = '$scrypt$ln=15,r=8,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA';

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => {
  await t?.drop();
});

async function expectAppError(promise: Promise<unknown>, code: AppError['code']): Promise<void> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AppError);
  expect((err as AppError).code).toBe(code);
}

describe('camera repository', () => {
  it('upserts by code and never returns the stream URL from the ordinary reads', async () => {
    const created = await upsertCameraByCode(t.db, {
      code: 'CAM-A',
      name: 'Cầu Giấy – Xuân Thủy',
      location: 'Cầu Giấy, Hà Nội',
      lat: 21.036,
      lon: 105.79,
      rtspUrl: 'rtsp://admin:hunter2@10.1.1.1/stream1',
    });
    expect(created).toMatchObject({
      code: 'CAM-A',
      enabled: true,
      timezone: 'Asia/Ho_Chi_Minh',
      hasStreamUrl: true,
    });
    expect(created).not.toHaveProperty('rtspUrl');
    expect(JSON.stringify(await listCameras(t.db))).not.toContain('hunter2');
    expect(JSON.stringify(await getCameraByCode(t.db, 'CAM-A'))).not.toContain('hunter2');
    expect(JSON.stringify(await getCameraById(t.db, created.id))).not.toContain('hunter2');

    const withUrls = await listCamerasWithStreamUrls(t.db, { codes: ['CAM-A'] });
    expect(withUrls.map((c) => c.rtspUrl)).toEqual(['rtsp://admin:hunter2@10.1.1.1/stream1']);
    expect((await getCameraWithStreamUrl(t.db, 'CAM-A'))?.rtspUrl).toBe(
      'rtsp://admin:hunter2@10.1.1.1/stream1',
    );
  });

  it('keeps fields the update leaves out, and moves updated_at', async () => {
    const before = (await getCameraByCode(t.db, 'CAM-A'))!;
    const after = await upsertCameraByCode(t.db, { code: 'CAM-A', name: 'Renamed' });
    expect(after.id).toBe(before.id);
    expect(after.name).toBe('Renamed');
    expect(after.location).toBe('Cầu Giấy, Hà Nội');
    expect(after.hasStreamUrl).toBe(true);
    expect(after.updatedAt.getTime()).toBeGreaterThanOrEqual(before.updatedAt.getTime());
    expect(after.createdAt).toEqual(before.createdAt);

    const cleared = await upsertCameraByCode(t.db, { code: 'CAM-A', name: 'Renamed', rtspUrl: null });
    expect(cleared.hasStreamUrl).toBe(false);
  });

  it('filters by enabled and codes', async () => {
    const b = await upsertCameraByCode(t.db, { code: 'CAM-B', name: 'B' });
    await setCameraEnabled(t.db, b.id, false);
    expect((await listCameras(t.db, { enabled: false })).map((c) => c.code)).toEqual(['CAM-B']);
    expect((await listCameras(t.db, { codes: ['CAM-B', 'NOPE'] })).map((c) => c.code)).toEqual(['CAM-B']);
    expect(await listCameras(t.db, { codes: [] })).toEqual([]);
    expect(await getCameraByCode(t.db, 'NOPE')).toBeUndefined();
    expect(await setCameraEnabled(t.db, 999_999, true)).toBeUndefined();
  });

  it('refuses a malformed code, an unknown time zone and a lone coordinate as bad requests', async () => {
    await expectAppError(upsertCameraByCode(t.db, { code: 'lower case', name: 'x' }), 'bad_request');
    await expectAppError(
      upsertCameraByCode(t.db, { code: 'CAM-Z', name: 'x', timezone: 'Mars/Olympus' }),
      'bad_request',
    );
    await expectAppError(upsertCameraByCode(t.db, { code: 'CAM-Z', name: 'x', lat: 21 }), 'bad_request');
    await expectAppError(
      upsertCameraByCode(t.db, { code: 'CAM-Z', name: 'x', rtspUrl: 'http://not-rtsp/' }),
      'bad_request',
    );
  });
});

describe('scene config repository', () => {
  it('numbers versions from 1 and returns the latest', async () => {
    const camera = await upsertCameraByCode(t.db, { code: 'SC-1', name: 'scene' });
    expect(await latestSceneConfig(t.db, camera.id)).toBeUndefined();
    const v1 = await addSceneConfigVersion(t.db, {
      cameraId: camera.id,
      config: { lanes: 2 },
      createdBy: 'op:1',
    });
    const v2 = await addSceneConfigVersion(t.db, {
      cameraId: camera.id,
      config: { lanes: 3 },
      createdBy: 'op:1',
    });
    expect([v1.version, v2.version]).toEqual([1, 2]);
    expect((await latestSceneConfig(t.db, camera.id))?.config).toEqual({ lanes: 3 });
    expect((await getSceneConfigVersion(t.db, camera.id, 1))?.config).toEqual({ lanes: 2 });
    expect((await listSceneConfigVersions(t.db, camera.id)).map((s) => s.version)).toEqual([2, 1]);
  });

  it('gives concurrent writers distinct versions', async () => {
    const camera = await upsertCameraByCode(t.db, { code: 'SC-2', name: 'scene' });
    const added = await Promise.all(
      Array.from({ length: 4 }, (_, i) =>
        addSceneConfigVersion(t.db, { cameraId: camera.id, config: { i }, createdBy: 't' }),
      ),
    );
    expect(added.map((s) => s.version).sort()).toEqual([1, 2, 3, 4]);
  });

  it('refuses an edit based on a stale version', async () => {
    const camera = (await getCameraByCode(t.db, 'SC-1'))!;
    await expectAppError(
      addSceneConfigVersion(t.db, { cameraId: camera.id, config: {}, createdBy: 'op:2', basedOnVersion: 1 }),
      'conflict',
    );
    const v3 = await addSceneConfigVersion(t.db, {
      cameraId: camera.id,
      config: {},
      createdBy: 'op:2',
      basedOnVersion: 2,
    });
    expect(v3.version).toBe(3);
  });

  it('keeps versions immutable', async () => {
    await expect(sql`UPDATE scene_config SET config = '{}'`.execute(t.db)).rejects.toThrow(/immutable/);
  });
});

describe('violation and evidence repositories', () => {
  let cameraId: number;
  let otherCameraId: number;
  const base = (over: Partial<NewViolation>): NewViolation => ({
    cameraId,
    trackKey: 't-1',
    ruleCode: 'red_light',
    observedAt: new Date('2026-11-01T08:00:00.000Z'),
    vehicleClass: 'car',
    sceneConfigVersion: 1,
    ...over,
  });

  beforeAll(async () => {
    cameraId = (await cameraWithScene(t.db, 'VIO-1')).id;
    otherCameraId = (await cameraWithScene(t.db, 'VIO-2')).id;
  });

  it('records a violation and reads it back with its evidence', async () => {
    const { id, created } = await recordViolation(
      t.db,
      base({
        plate: '30A12345',
        plateColor: 'white',
        plateConfidence: 0.93,
        details: { redForMs: 1400, phases: [1, 2] },
      }),
    );
    expect(created).toBe(true);
    const still = await addAsset(t.db, {
      violationId: id,
      kind: 'still_at',
      mediaType: 'image/jpeg',
      sha256: SHA_A,
      sizeBytes: 123_456,
      storageUri: `evidence/${SHA_A}`,
    });
    await addAsset(t.db, {
      violationId: id,
      kind: 'manifest',
      mediaType: 'application/json',
      sha256: SHA_B,
      sizeBytes: 900,
      storageUri: 'x',
    });
    expect(still.created).toBe(true);

    const v = await getViolationById(t.db, id);
    expect(v).toMatchObject({
      id,
      cameraId,
      cameraCode: 'VIO-1',
      status: 'flagged',
      plate: '30A12345',
      plateColor: 'white',
      details: { redForMs: 1400, phases: [1, 2] },
      observedAt: new Date('2026-11-01T08:00:00.000Z'),
    });
    expect(v?.plateConfidence).toBeCloseTo(0.93, 5);
    expect(v?.evidence.map((e) => [e.kind, e.sizeBytes])).toEqual([
      ['manifest', 900],
      ['still_at', 123_456],
    ]);
    expect(await getViolationById(t.db, 999_999)).toBeUndefined();
  });

  it('records the same asset again without error and refuses different content for the same kind', async () => {
    const { id } = await recordViolation(t.db, base({}));
    const again = await addAsset(t.db, {
      violationId: id,
      kind: 'still_at',
      mediaType: 'image/jpeg',
      sha256: SHA_A,
      sizeBytes: 123_456,
      storageUri: `evidence/${SHA_A}`,
    });
    expect(again.created).toBe(false);
    await expectAppError(
      addAsset(t.db, {
        violationId: id,
        kind: 'still_at',
        mediaType: 'image/jpeg',
        sha256: SHA_B,
        sizeBytes: 1,
        storageUri: 'y',
      }),
      'conflict',
    );
    await expectAppError(
      addAsset(t.db, {
        violationId: id,
        kind: 'clip',
        mediaType: 'video/mp4',
        sha256: 'XYZ',
        sizeBytes: 1,
        storageUri: 'y',
      }),
      'evidence_invalid',
    );
    expect((await listAssets(t.db, id)).map((a) => a.kind)).toEqual(['manifest', 'still_at']);
    await expect(sql`UPDATE evidence_asset SET storage_uri = 'elsewhere'`.execute(t.db)).rejects.toThrow(
      /immutable/,
    );
  });

  it('refuses a violation whose scene config version does not exist', async () => {
    await expectAppError(
      recordViolation(t.db, base({ trackKey: 't-x', sceneConfigVersion: 9 })),
      'bad_request',
    );
  });

  it('refuses a plate that is not in compact form', async () => {
    await expectAppError(
      recordViolation(t.db, base({ trackKey: 't-y', plate: '30A-123.45' })),
      'bad_request',
    );
  });

  it('pages newest first with a cursor, ties broken by id, across every filter', async () => {
    const times = [
      '2026-11-02T01:00:00.000Z',
      '2026-11-02T02:00:00.000Z',
      '2026-11-02T02:00:00.000Z',
      '2026-11-02T02:00:00.001Z',
      '2026-11-02T03:00:00.000Z',
      '2026-11-02T04:00:00.000Z',
      '2026-11-02T05:00:00.000Z',
    ];
    const ids: number[] = [];
    for (const [i, at] of times.entries()) {
      const { id } = await recordViolation(t.db, {
        cameraId: otherCameraId,
        trackKey: `page-${i}`,
        ruleCode: i % 2 === 0 ? 'stop_line' : 'wrong_way',
        observedAt: new Date(at),
        vehicleClass: 'motorbike',
        sceneConfigVersion: 1,
      });
      ids.push(id);
    }
    const expected = ids
      .map((id, i) => ({ id, at: Date.parse(times[i]!) }))
      .sort((a, b) => b.at - a.at || b.id - a.id)
      .map((x) => x.id);

    const seen: number[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await listViolations(t.db, {
        cameraId: otherCameraId,
        limit: 3,
        ...(cursor ? { cursor } : {}),
      });
      seen.push(...page.items.map((v) => v.id));
      cursor = page.nextCursor ?? undefined;
      pages++;
    } while (cursor);
    expect(seen).toEqual(expected);
    expect(pages).toBe(3);

    expect(await countViolations(t.db, { cameraId: otherCameraId })).toBe(7);
    expect(await countViolations(t.db, { cameraId: otherCameraId, ruleCode: 'wrong_way' })).toBe(3);
    const window = await listViolations(t.db, {
      cameraId: otherCameraId,
      from: new Date('2026-11-02T02:00:00.000Z'),
      to: new Date('2026-11-02T04:00:00.000Z'),
      limit: 10,
    });
    expect(window.items.map((v) => v.observedAt.toISOString())).toEqual([
      '2026-11-02T03:00:00.000Z',
      '2026-11-02T02:00:00.001Z',
      '2026-11-02T02:00:00.000Z',
      '2026-11-02T02:00:00.000Z',
    ]);
    expect(window.nextCursor).toBeNull();
    expect(window.items.every((v) => v.cameraCode === 'VIO-2')).toBe(true);
  });

  it('moves status only from the expected state, so that one of two reviewers wins', async () => {
    const { id } = await recordViolation(t.db, base({ trackKey: 'claim' }));
    const [a, b] = await Promise.all([
      updateViolationStatus(t.db, id, { from: 'flagged', to: 'in_review' }),
      updateViolationStatus(t.db, id, { from: 'flagged', to: 'in_review' }),
    ]);
    expect([a, b].filter((r) => r !== undefined)).toHaveLength(1);
    expect(await countViolations(t.db, { status: 'in_review' })).toBe(1);
    expect(await countViolations(t.db, { status: ['in_review', 'approved'], cameraId })).toBe(1);
    expect(await countViolations(t.db, { status: [] })).toBe(0);
    const approved = await updateViolationStatus(t.db, id, { from: ['in_review'], to: 'approved' });
    expect(approved?.status).toBe('approved');
    const corrected = await setViolationPlate(t.db, id, { plate: '29B112345', plateConfidence: 1 });
    expect(corrected?.plate).toBe('29B112345');
    expect((await listViolations(t.db, { plate: '29B112345' })).items.map((v) => v.id)).toEqual([id]);
  });

  it('rejects a forged cursor as a bad request', async () => {
    await expectAppError(listViolations(t.db, { cursor: 'bm90LWEtY3Vyc29y' }), 'bad_request');
    await expectAppError(listViolations(t.db, { limit: 0 }), 'bad_request');
  });
});

describe('plate read repository', () => {
  it('keeps reads per track and attaches them to the violation', async () => {
    const camera = await cameraWithScene(t.db, 'PR-1');
    for (const [plate, confidence, ms] of [
      ['30A1234', 0.6, 0],
      ['30A12345', 0.91, 200],
    ] as const) {
      await addPlateRead(t.db, {
        cameraId: camera.id,
        trackKey: 'trk-9',
        plate,
        confidence,
        modelName: 'ppocr-v4-rec',
        modelVersion: '4.0.0',
        readAt: new Date(Date.parse('2026-11-03T00:00:00Z') + ms),
        details: { box: [1, 2, 3, 4] },
      });
    }
    expect((await listPlateReadsForTrack(t.db, camera.id, 'trk-9')).map((r) => r.plate)).toEqual([
      '30A1234',
      '30A12345',
    ]);
    const { id } = await recordViolation(t.db, {
      cameraId: camera.id,
      trackKey: 'trk-9',
      ruleCode: 'red_light',
      observedAt: new Date('2026-11-03T00:00:01Z'),
      vehicleClass: 'car',
      sceneConfigVersion: 1,
    });
    expect(
      await attachPlateReadsToViolation(t.db, { cameraId: camera.id, trackKey: 'trk-9', violationId: id }),
    ).toBe(2);
    expect(
      await attachPlateReadsToViolation(t.db, { cameraId: camera.id, trackKey: 'trk-9', violationId: id }),
    ).toBe(0);
    const reads = await listPlateReadsForViolation(t.db, id);
    expect(reads.map((r) => r.plate)).toEqual(['30A12345', '30A1234']);
    expect(reads[0]).toMatchObject({
      modelName: 'ppocr-v4-rec',
      modelVersion: '4.0.0',
      details: { box: [1, 2, 3, 4] },
    });
  });
});

describe('user repository', () => {
  it('creates a user with roles and finds it case-insensitively, the hash only for login', async () => {
    const user = await createUser(t.db, {
      username: 'Nguyen.Van.A',
      passwordHash: HASH,
      displayName: 'Nguyễn Văn A',
      unit: 'CSGT Hà Nội',
      roles: ['reviewer', { role: 'supervisor', scope: 'district:hoan-kiem' }],
    });
    expect(user.username).toBe('nguyen.van.a');
    expect(user.roles).toEqual([
      { role: 'reviewer', scope: '*' },
      { role: 'supervisor', scope: 'district:hoan-kiem' },
    ]);
    const found = await findUserByUsername(t.db, ' NGUYEN.VAN.A ');
    expect(found?.id).toBe(user.id);
    expect(found).not.toHaveProperty('passwordHash');
    expect((await findUserForLogin(t.db, 'nguyen.van.a'))?.passwordHash).toBe(HASH);
    expect(await findUserByUsername(t.db, 'nobody')).toBeUndefined();
    await expectAppError(
      createUser(t.db, { username: 'nguyen.van.a', passwordHash: HASH, displayName: 'x' }),
      'conflict',
    );
  });

  it('creates nothing when a role is invalid (user and roles in one transaction)', async () => {
    await expectAppError(
      createUser(t.db, {
        username: 'half.made',
        passwordHash: HASH,
        displayName: 'x',
        roles: [{ role: 'emperor' as 'admin', scope: '*' }],
      }),
      'bad_request',
    );
    expect(await findUserByUsername(t.db, 'half.made')).toBeUndefined();
  });

  it('locks an account after repeated failures and unlocks on success', async () => {
    const user = (await findUserByUsername(t.db, 'nguyen.van.a'))!;
    const policy = { maxFailures: 3, lockMs: 15 * 60_000 };
    expect(await recordLoginFailure(t.db, user.id, policy)).toEqual({ failedLogins: 1, lockedUntil: null });
    await recordLoginFailure(t.db, user.id, policy);
    const third = await recordLoginFailure(t.db, user.id, policy);
    expect(third?.failedLogins).toBe(3);
    expect(third?.lockedUntil?.getTime()).toBeGreaterThan(Date.now() + 14 * 60_000);
    await recordLoginSuccess(t.db, user.id);
    const after = await getUserById(t.db, user.id);
    expect(after).toMatchObject({ failedLogins: 0, lockedUntil: null });
    expect(after?.lastLoginAt).toBeInstanceOf(Date);
  });

  it('grants and revokes roles', async () => {
    const user = (await findUserByUsername(t.db, 'nguyen.van.a'))!;
    await grantRole(t.db, user.id, { role: 'operator', scope: '*' });
    await grantRole(t.db, user.id, { role: 'operator', scope: '*' });
    expect((await getUserById(t.db, user.id))?.roles.filter((r) => r.role === 'operator')).toHaveLength(1);
    expect(await revokeRole(t.db, user.id, { role: 'operator', scope: '*' })).toBe(true);
    expect(await revokeRole(t.db, user.id, { role: 'operator', scope: '*' })).toBe(false);
  });
});

describe('review and notice repositories', () => {
  let violationId: number;
  let reviewerId: number;

  beforeAll(async () => {
    const camera = await cameraWithScene(t.db, 'RN-1');
    violationId = (
      await recordViolation(t.db, {
        cameraId: camera.id,
        trackKey: 'rn',
        ruleCode: 'red_light',
        observedAt: new Date('2026-11-04T00:00:00Z'),
        vehicleClass: 'car',
        sceneConfigVersion: 1,
        plate: '51F12345',
      })
    ).id;
    reviewerId = (
      await createUser(t.db, {
        username: 'reviewer.1',
        passwordHash: HASH,
        displayName: 'R1',
        roles: ['reviewer'],
      })
    ).id;
  });

  it('records reviews in order and keeps them immutable', async () => {
    await addReview(t.db, { violationId, reviewerId, decision: 'escalate', note: 'plate unclear' });
    await addReview(t.db, {
      violationId,
      reviewerId,
      decision: 'approve',
      plateBefore: '51F12345',
      plateAfter: '51F12346',
    });
    expect((await listReviews(t.db, violationId)).map((r) => r.decision)).toEqual(['escalate', 'approve']);
    await expectAppError(addReview(t.db, { violationId, reviewerId, decision: 'reject' }), 'bad_request');
    await expect(sql`UPDATE review SET note = 'changed'`.execute(t.db)).rejects.toThrow(/immutable/);
  });

  it('creates one notice per violation and shows citizens only issued ones', async () => {
    const input = {
      violationId,
      noticeCode: 'HN-2026-000001',
      plate: '51F12346',
      vehicleClass: 'car',
      fineAmountVnd: 19_000_000,
      points: 4,
      legalBasis: '168/2024/NĐ-CP',
      citation: '6.9.b',
    };
    const first = await createNotice(t.db, input);
    expect(first.created).toBe(true);
    const second = await createNotice(t.db, { ...input, noticeCode: 'HN-2026-000002' });
    expect(second).toMatchObject({
      created: false,
      notice: { id: first.notice.id, noticeCode: 'HN-2026-000001' },
    });
    expect(await listNoticesByPlate(t.db, '51F12346')).toEqual([]);

    const issuedAt = new Date('2026-11-05T09:00:00Z');
    const issued = await updateNoticeState(t.db, first.notice.id, {
      from: 'draft',
      to: 'issued',
      at: issuedAt,
      dueAt: new Date('2026-11-15T09:00:00Z'),
      issuedBy: reviewerId,
    });
    expect(issued).toMatchObject({
      state: 'issued',
      issuedAt,
      issuedBy: reviewerId,
      fineAmountVnd: 19_000_000,
    });
    expect(await updateNoticeState(t.db, first.notice.id, { from: 'draft', to: 'issued' })).toBeUndefined();
    expect((await listNoticesByPlate(t.db, '51F12346')).map((n) => n.noticeCode)).toEqual(['HN-2026-000001']);

    // The database refuses a state without the timestamps it needs: paid before any decision.
    await expectAppError(
      updateNoticeState(t.db, first.notice.id, { from: ['issued', 'delivered', 'overdue'], to: 'paid' }),
      'bad_request',
    );
    expect((await getNoticeByCode(t.db, 'HN-2026-000001'))?.state).toBe('issued');
  });

  it('refuses a non-positive fine', async () => {
    await expectAppError(
      createNotice(t.db, {
        violationId,
        noticeCode: 'HN-2026-000009',
        plate: '51F12346',
        vehicleClass: 'car',
        fineAmountVnd: 0,
        points: 0,
        legalBasis: 'x',
        citation: 'y',
      }),
      'bad_request',
    );
  });
});

describe('database health', () => {
  it('answers ok on a live database and reports an error on a dead one', async () => {
    const live = await pingDatabase(t.db);
    expect(live.ok).toBe(true);
    const dead = openDatabaseByUrl('postgres://root@127.0.0.1:1/nothing', 1, { connectionTimeoutMs: 1000 });
    const result = await pingDatabase(dead.db, 3000);
    await dead.close();
    expect(result.ok).toBe(false);
  });

  it('returns bigint columns as numbers', async () => {
    const r = await sql<{
      n: number;
      big: number;
    }>`SELECT count(*) AS n, 9007199254740991::bigint AS big`.execute(t.db);
    expect(r.rows[0]).toEqual({ n: 1, big: Number.MAX_SAFE_INTEGER });
    await expect(sql`SELECT 9007199254740993::bigint AS too_big`.execute(t.db)).rejects.toThrow(
      /MAX_SAFE_INTEGER/,
    );
  });
});
