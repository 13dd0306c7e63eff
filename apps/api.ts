/**
 * API role: Express over PostgreSQL and Redis; serves the monitoring page.
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
  });
  const { app } = createApp({ services, log, apiTokens: config.API_TOKENS });
  const server = app.listen(config.PORT, config.HOST);
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  lifecycle.onClose('http', () => new Promise<void>((resolve) => server.close(() => resolve())));
  log.info({ url: `http://${config.HOST}:${config.PORT}/` }, 'api listening');
});
