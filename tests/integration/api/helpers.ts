/**
 * Fixtures for the API integration tests: an app over a test database, staff users with personal access
 * tokens, cameras and violations.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import type { Response } from 'supertest';
import { createApp } from '../../../api/app.js';
import type { Grant, Role } from '../../../api/principal.js';
import { hashPassword, type ScryptParams } from '../../../api/security/password.js';
import { createApiServices, type ApiServiceDeps } from '../../../api/services/api-services.js';
import { issueApiToken } from '../../../api/services/auth.service.js';
import type { ApiServices } from '../../../api/services/types.js';
import { createLogger } from '../../../core/logger.js';
import { upsertCameraByCode } from '../../../db/repositories/camera.repository.js';
import { addSceneConfigVersion } from '../../../db/repositories/scene-config.repository.js';
import { createUser, type User } from '../../../db/repositories/user.repository.js';
import { recordViolation } from '../../../db/repositories/violation.repository.js';
import type { Db } from '../../../db/schema.js';
import { EvidenceStore } from '../../../violations/evidence-store.js';

export const REDIS_URL = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';

/** Cheap scrypt for test accounts (the hash string carries its parameters, so login verifies them as they are). */
export const FAST_SCRYPT: ScryptParams = { ln: 10, r: 8, p: 1 };

export interface TestApp {
  app: ReturnType<typeof createApp>;
  services: ApiServices;
  redis: Redis;
  evidenceDir: string;
  store: EvidenceStore;
  close(): Promise<void>;
}

export async function createTestApp(
  db: Db,
  options: {
    auth?: ApiServiceDeps['auth'];
    review?: ApiServiceDeps['review'];
    apiTokens?: string;
    queuePrefix?: string;
  } = {},
): Promise<TestApp> {
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  const evidenceDir = await fs.mkdtemp(path.join(os.tmpdir(), 'pn-api-evidence-'));
  const store = new EvidenceStore(evidenceDir);
  const services = createApiServices({
    db,
    redis,
    queuePrefix: options.queuePrefix ?? `pn-test-api-${process.pid}-${Date.now()}`,
    store,
    auth: { scrypt: FAST_SCRYPT, ...options.auth },
    ...(options.review && { review: options.review }),
  });
  const app = createApp({ services, log: createLogger({ level: 'silent' }), apiTokens: options.apiTokens });
  return {
    app,
    services,
    redis,
    evidenceDir,
    store,
    close: async () => {
      await redis.quit();
      await fs.rm(evidenceDir, { recursive: true, force: true });
    },
  };
}

export interface TestUser {
  user: User;
  password: string;
  /** A personal access token of the user. */
  token: string;
  bearer: { Authorization: string };
}

let userSeq = 0;

/** A staff user with a password and a personal access token. Roles given as names get scope '*'. */
export async function makeUser(
  db: Db,
  roles: readonly (Role | Grant)[],
  options: { username?: string; password?: string; unit?: string } = {},
): Promise<TestUser> {
  const password = options.password ?? `correct horse ${++userSeq} battery`;
  const username =
    options.username ?? `user${process.pid % 1000}-${userSeq}-${Math.floor(Math.random() * 1e6)}`;
  const user = await createUser(db, {
    username,
    passwordHash: await hashPassword(password, FAST_SCRYPT),
    displayName: `Cán bộ ${username}`,
    unit: options.unit ?? null,
    roles: roles.map((r) => (typeof r === 'string' ? { role: r, scope: '*' } : r)),
  });
  const { secret } = await issueApiToken(db, { userId: user.id, name: 'test', actor: 'system:test' });
  return { user, password, token: secret, bearer: { Authorization: `Bearer ${secret}` } };
}

export async function makeCamera(db: Db, code: string, unit: string | null = null): Promise<{ id: number }> {
  const camera = await upsertCameraByCode(db, { code, name: `Camera ${code}`, unit });
  await addSceneConfigVersion(db, { cameraId: camera.id, config: { stopLines: [] }, createdBy: 'test' });
  return camera;
}

let trackSeq = 0;

export async function makeViolation(
  db: Db,
  cameraId: number,
  v: { plate?: string | null; confidence?: number | null; observedAt?: Date; ruleCode?: string } = {},
): Promise<number> {
  const plate = v.plate === undefined ? '30A12345' : v.plate;
  const { id } = await recordViolation(db, {
    cameraId,
    trackKey: `t-${process.pid}-${++trackSeq}`,
    ruleCode: v.ruleCode ?? 'red_light',
    observedAt: v.observedAt ?? new Date(Date.UTC(2026, 10, 22, 1, 0, trackSeq)),
    vehicleClass: 'car',
    sceneConfigVersion: 1,
    plate,
    plateConfidence: plate === null ? null : v.confidence === undefined ? 0.97 : v.confidence,
  });
  return id;
}

/** The Set-Cookie header's attributes for one cookie, lowercased names. */
export function cookieAttributes(res: Response, name: string): Map<string, string> | undefined {
  const raw = res.headers['set-cookie'] as unknown as string[] | undefined;
  const line = raw?.find((c) => c.startsWith(`${name}=`));
  if (!line) return undefined;
  const attrs = new Map<string, string>();
  for (const [i, part] of line.split(';').entries()) {
    const [k, ...rest] = part.trim().split('=');
    attrs.set(i === 0 ? 'value' : k!.toLowerCase(), i === 0 ? rest.join('=') : rest.join('='));
  }
  return attrs;
}

/** Replaces every :param of an Express path with a value of the right shape that names nothing. */
export function samplePath(expressPath: string): string {
  return expressPath.replace(/:([A-Za-z0-9_]+)/g, (_m, name: string) =>
    name === 'sha256' ? 'a'.repeat(64) : '999999',
  );
}
