import { isDeepStrictEqual } from 'node:util';
import type { Database } from '../db/database.js';
import { generatePassword, hashPassword } from '../api/security/password.js';
import { upsertCameraByCode } from '../db/repositories/camera.repository.js';
import { addSceneConfigVersion, latestSceneConfig } from '../db/repositories/scene-config.repository.js';
import {
  createUser,
  findUserByUsername,
  recordLoginSuccess,
  setPasswordHash,
} from '../db/repositories/user.repository.js';
import type { JsonObject } from '../db/schema.js';
import { parseSceneConfig } from '../violations/scene-config.js';

/** Demo cameras: real Thái Nguyên places, each streaming one of the simulated RTSP mounts. */
const PLACES = [
  {
    name: 'Ngã tư Đồng Quang',
    location: 'Đường Hoàng Văn Thụ × Đường Lương Ngọc Quyến, TP Thái Nguyên',
    lat: 21.5928,
    lon: 105.8442,
  },
  {
    name: 'Nút giao Gang Thép',
    location: 'Đường Cách Mạng Tháng Tám × Đường 3/2, TP Thái Nguyên',
    lat: 21.5731,
    lon: 105.8352,
  },
  {
    name: 'Cầu Gia Bẩy',
    location: 'Đường Quang Trung, cửa ngõ phía bắc, TP Thái Nguyên',
    lat: 21.6012,
    lon: 105.8381,
  },
  {
    name: 'Ngã ba Đán',
    location: 'Đường Z115 × Đường Quang Trung, TP Thái Nguyên',
    lat: 21.5978,
    lon: 105.8163,
  },
  {
    name: 'Quảng trường Võ Nguyên Giáp',
    location: 'Đường Hoàng Văn Thụ, TP Thái Nguyên',
    lat: 21.5941,
    lon: 105.8485,
  },
  {
    name: 'Ngã tư Phan Đình Phùng',
    location: 'Đường Phan Đình Phùng × Đường Cách Mạng Tháng Tám',
    lat: 21.5869,
    lon: 105.8421,
  },
];

/**
 * The simulated clip looks straight down on a car park: cars in the left lane drive down the frame, cars in
 * the right lane up it. The demo scene draws a stop line across the middle for the down-going traffic and a
 * fixed-time signal (offset per camera so the cameras do not flag in lockstep): a car crossing on red is a
 * red-light violation.
 */
export function demoScene(index: number): JsonObject {
  return parseSceneConfig({
    stopLines: [
      {
        id: 'SL-1',
        a: { x: 0.05, y: 0.55 },
        b: { x: 0.95, y: 0.55 },
        towards: { x: 0.5, y: 0.95 },
        signal: 'main',
      },
    ],
    signals: { main: { kind: 'fixed-time', offsetS: index * 7, greenS: 12, amberS: 3, redS: 15 } },
    vehicleClasses: ['car', 'truck', 'bus', 'motorcycle'],
    // The clip looks straight down on the cars, a view COCO detectors score low: a lower start threshold.
    minScore: 0.24,
    anchor: 'center',
  }) as unknown as JsonObject;
}

export async function seedDemoCameras(
  database: Database,
  urls: readonly string[],
): Promise<{ code: string; id: number }[]> {
  const out: { code: string; id: number }[] = [];
  for (const [i, url] of urls.entries()) {
    const place = PLACES[i % PLACES.length]!;
    const code = `TN-${String(i + 1).padStart(3, '0')}`;
    const camera = await upsertCameraByCode(database.db, {
      code,
      name: i < PLACES.length ? place.name : `${place.name} ${Math.floor(i / PLACES.length) + 1}`,
      location: place.location,
      lat: place.lat,
      lon: place.lon,
      rtspUrl: url,
      enabled: true,
    });
    const scene = demoScene(i);
    const latest = await latestSceneConfig(database.db, camera.id);
    if (!latest || !isDeepStrictEqual(latest.config, scene)) {
      await addSceneConfigVersion(database.db, {
        cameraId: camera.id,
        config: scene,
        createdBy: 'demo',
        basedOnVersion: latest?.version ?? 0,
      });
    }
    out.push({ code, id: camera.id });
  }
  return out;
}

/**
 * Demo staff accounts, one per role, with a fresh random password each run (printed by the demo, never
 * stored in clear): demo-reviewer, demo-supervisor, demo-operator, demo-admin.
 */
export async function seedDemoUsers(database: Database): Promise<{ username: string; password: string }[]> {
  const out: { username: string; password: string }[] = [];
  for (const role of ['reviewer', 'supervisor', 'operator', 'admin'] as const) {
    const username = `demo-${role}`;
    const password = generatePassword();
    const passwordHash = await hashPassword(password);
    const existing = await findUserByUsername(database.db, username);
    if (existing) {
      await setPasswordHash(database.db, existing.id, passwordHash);
      await recordLoginSuccess(database.db, existing.id); // clears a lockout left by an earlier run
    } else {
      await createUser(database.db, {
        username,
        passwordHash,
        displayName: `Demo ${role}`,
        roles: [role],
      });
    }
    out.push({ username, password });
  }
  return out;
}
