/**
 * API role: Express over PostgreSQL and Redis; serves the monitoring page, staff sign-in and the review
 * queue.
 */
import { createApp } from '../api/app.js';
import { createApiServices } from '../api/services/api-services.js';
import { openDatabase } from '../db/database.js';
import { createRedis } from '../pipeline/redis.js';
import { EvidenceStore } from '../violations/evidence-store.js';
import { boot, run } from './boot.js';

run('api', async () => {
  const { config, log, lifecycle } = boot('api');
  const database = await openDatabase(config, log);
  lifecycle.onClose('database', () => database.close());
  const redis = createRedis(config.REDIS_URL, 'producer');
  redis.on('error', () => undefined); // reported by /health; ioredis reconnects by itself
  lifecycle.onClose('redis', () => void redis.disconnect());
  const services = createApiServices({
    db: database.db,
    redis,
    queuePrefix: config.QUEUE_PREFIX,
    store: new EvidenceStore(config.evidenceDir),
    auth: {
      sessionIdleMs: config.AUTH_SESSION_IDLE_MINUTES * 60_000,
      sessionMaxAgeMs: config.AUTH_SESSION_MAX_HOURS * 3_600_000,
      lockoutThreshold: config.AUTH_LOCKOUT_THRESHOLD,
      lockoutMs: config.AUTH_LOCKOUT_MINUTES * 60_000,
    },
    review: {
      leaseMs: config.REVIEW_LEASE_MINUTES * 60_000,
      secondReviewBelow: config.REVIEW_SECOND_REVIEW_CONFIDENCE,
    },
  });
  const { app } = createApp({
    services,
    log,
    apiTokens: config.API_TOKENS,
    cookieSecure: config.AUTH_COOKIE_SECURE,
  });
  const server = app.listen(config.PORT, config.HOST);
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  lifecycle.onClose('http', () => new Promise<void>((resolve) => server.close(() => resolve())));
  log.info({ url: `http://${config.HOST}:${config.PORT}/` }, 'api listening');
});
