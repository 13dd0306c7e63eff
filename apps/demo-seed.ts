import { isDeepStrictEqual } from 'node:util';
import type { Database } from '../db/database.js';
import { generatePassword, hashPassword } from '../api/security/password.js';
import { upsertCameraByCode } from '../db/repositories/camera.repository.js';
import { upsertPoliceUnit, type PoliceUnit } from '../db/repositories/police-unit.repository.js';
import {
  upsertVehicleRegistration,
  type VehicleRegistrationInput,
} from '../db/repositories/vehicle-registration.repository.js';
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
      unit: DEMO_UNIT.code,
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

/** The demo's police unit: it detects and resolves the demo cameras' cases (a fictional address and phone). */
export const DEMO_UNIT: PoliceUnit = {
  code: 'CSGT-TN',
  name: 'Phòng Cảnh sát giao thông Công an tỉnh Thái Nguyên (demo)',
  address: 'Số 1 Đường Demo, TP Thái Nguyên',
  phone: '0208 000 0000',
};

/**
 * Fictional registrations for the demo's local vehicle registry (the stand-in for the national one):
 * invented names and addresses, no real person. Plates the demo's cameras may read are not known in
 * advance; approve a violation with one of these plates (or correct the plate to one) to issue a notice.
 */
export const DEMO_REGISTRATIONS: readonly VehicleRegistrationInput[] = [
  {
    plate: '20A12345',
    vehicleClass: 'car',
    ownerName: 'Nguyễn Văn Demo',
    ownerAddress: 'Số 10 Phố Thử Nghiệm, phường Mẫu, TP Thái Nguyên',
    make: 'Demo Sedan',
    colour: 'Trắng',
    registeredOn: '2023-05-12',
  },
  {
    plate: '20A67890',
    vehicleClass: 'car',
    ownerKind: 'organisation',
    ownerName: 'Công ty TNHH Vận tải Demo',
    ownerAddress: 'Lô 5 Khu công nghiệp Mẫu, TP Thái Nguyên',
    make: 'Demo Van',
    colour: 'Bạc',
    registeredOn: '2022-11-02',
  },
  {
    plate: '30A12345',
    vehicleClass: 'car',
    ownerName: 'Trần Thị Thử',
    ownerAddress: 'Số 3 Ngõ Ví Dụ, quận Mẫu, Hà Nội',
    make: 'Demo Hatchback',
    colour: 'Đỏ',
    registeredOn: '2021-08-20',
  },
  {
    plate: '20B112345',
    vehicleClass: 'motorbike',
    ownerName: 'Lê Văn Mẫu',
    ownerAddress: 'Xóm Demo, xã Thử, tỉnh Thái Nguyên',
    make: 'Demo Scooter',
    colour: 'Đen',
    registeredOn: '2024-02-01',
  },
];

/** The demo unit and the fictional vehicle registrations (idempotent). */
export async function seedDemoRegistry(database: Database): Promise<void> {
  await upsertPoliceUnit(database.db, DEMO_UNIT);
  for (const r of DEMO_REGISTRATIONS) await upsertVehicleRegistration(database.db, r);
}
