/**
 * API role: Express over PostgreSQL and Redis; serves the monitoring page, staff sign-in and the review
 * queue. With API_PROCESSES > 1 this process supervises that many API processes on one port
 * (api/cluster.ts).
 */
import cluster from 'node:cluster';
import { createPublicKey, type KeyObject } from 'node:crypto';
import fs from 'node:fs/promises';
import { createApp } from '../api/app.js';
import { superviseApiProcesses } from '../api/cluster.js';
import { createApiServices } from '../api/services/api-services.js';
import { publicLookupSecret } from '../api/services/public-lookup.service.js';
import { AppError } from '../core/errors.js';
import { openDatabase } from '../db/database.js';
import { createRedis } from '../pipeline/redis.js';
import { loadEvidenceSigner } from '../violations/evidence-signature.js';
import { EvidenceStore } from '../violations/evidence-store.js';
import { boot, run } from './boot.js';

run('api', async () => {
  const { config, log, lifecycle } = boot('api');
  if (config.API_PROCESSES > 1 && cluster.isPrimary) {
    superviseApiProcesses({ processes: config.API_PROCESSES, log, lifecycle });
    return;
  }
  if (config.NODE_ENV === 'production') {
    // Every API process must accept the challenges and links the others issue, and a weak proof of work
    // (the benchmark's setting) must never reach the public.
    if (!config.PUBLIC_LOOKUP_SECRET) {
      throw new AppError('config_invalid', 'PUBLIC_LOOKUP_SECRET is required in production', {
        permanent: true,
      });
    }
    if (config.PUBLIC_POW_BITS < 14) {
      throw new AppError('config_invalid', 'PUBLIC_POW_BITS below 14 is refused in production', {
        permanent: true,
      });
    }
  }
  const lookupSecret = publicLookupSecret(config.PUBLIC_LOOKUP_SECRET);
  if (lookupSecret.generated) {
    log.warn('PUBLIC_LOOKUP_SECRET is not set: lookup challenges and media links work on this process only');
  }
  const database = await openDatabase(config, log);
  lifecycle.onClose('database', () => database.close());
  const redis = createRedis(config.REDIS_URL, 'producer');
  redis.on('error', () => undefined); // reported by /health; ioredis reconnects by itself
  lifecycle.onClose('redis', () => void redis.disconnect());
  // The review page's evidence check pins manifests to the deployment's key. The API is given the public
  // key (EVIDENCE_PUBLIC_KEY_PATH); deriving it from the signing key is for one-machine set-ups (the demo)
  // and refused in production, where the private key belongs to the ingest processes only.
  let evidencePublicKey: KeyObject | undefined;
  if (config.EVIDENCE_PUBLIC_KEY_PATH) {
    evidencePublicKey = createPublicKey(await fs.readFile(config.EVIDENCE_PUBLIC_KEY_PATH));
  } else if (config.EVIDENCE_SIGNING_KEY_PATH || config.EVIDENCE_SIGNING_KEY) {
    if (config.NODE_ENV === 'production') {
      throw new AppError(
        'config_invalid',
        'the API takes EVIDENCE_PUBLIC_KEY_PATH, not the evidence signing key, in production',
        { permanent: true },
      );
    }
    evidencePublicKey = (
      await loadEvidenceSigner({
        ...(config.EVIDENCE_SIGNING_KEY_PATH ? { pemPath: config.EVIDENCE_SIGNING_KEY_PATH } : {}),
        ...(config.EVIDENCE_SIGNING_KEY ? { base64: config.EVIDENCE_SIGNING_KEY } : {}),
      })
    ).publicKey;
  } else {
    log.warn('no EVIDENCE_PUBLIC_KEY_PATH: evidence checks verify integrity but cannot pin the signer');
  }
  const services = createApiServices({
    ...(evidencePublicKey ? { evidencePublicKey } : {}),
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
    publicLookup: {
      secret: lookupSecret.secret,
      pow: { bits: config.PUBLIC_POW_BITS, ttlMs: config.PUBLIC_POW_TTL_SECONDS * 1000 },
      lookup: { burst: config.PUBLIC_LOOKUP_BURST, perMinute: config.PUBLIC_LOOKUP_PER_MINUTE },
      minResponseMs: config.PUBLIC_LOOKUP_MIN_MS,
      mediaTtlMs: config.PUBLIC_MEDIA_URL_TTL_SECONDS * 1000,
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
