import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../../api/app.js';
import { createApiServices } from '../../../api/services/api-services.js';
import { createLogger } from '../../../core/logger.js';
import { EvidenceStore } from '../../../violations/evidence-store.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';

let tdb: TestDatabase;
let deadRedis: Redis;
let dir: string;

beforeAll(async () => {
  tdb = await createTestDatabase();
  // Nothing listens on port 1: this Redis is down for the whole test.
  deadRedis = new Redis('redis://127.0.0.1:1', {
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    retryStrategy: () => null,
    lazyConnect: true,
  });
  deadRedis.on('error', () => undefined);
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pn-health-'));
});

afterAll(async () => {
  deadRedis.disconnect();
  await tdb.drop();
  await fs.rm(dir, { recursive: true, force: true });
});

describe('GET /health with a dependency down', () => {
  it('answers 503 naming Redis when Redis does not answer', async () => {
    const services = createApiServices({
      db: tdb.db,
      redis: deadRedis,
      queuePrefix: 'pn-health',
      store: new EvidenceStore(dir),
    });
    const { app } = createApp({ services, log: createLogger({ level: 'silent' }) });
    const res = await request(app).get('/health');
    expect(res.status).toBe(503);
    expect(res.body.status).toBe('down');
    expect(res.body.redis.ok).toBe(false);
    expect(res.body.database.ok).toBe(true);
  });
});
