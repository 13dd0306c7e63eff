import path from 'node:path';
import { z } from 'zod';
import { AppError } from './errors.js';

/**
 * The whole configuration of every process role, read from the environment once at boot.
 * `loadConfig` is pure: it takes an environment object and returns a frozen config or throws an
 * AppError naming the offending keys (never their values, which may be secrets).
 */

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');
const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const num = (min: number, max: number) => z.coerce.number().min(min).max(max);

export const ENV_SCHEMA = z.strictObject({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  HOST: z.string().min(1).default('127.0.0.1'),
  PORT: int(1, 65535).default(3000),
  API_PROCESSES: int(1, 64).default(1),
  DATA_DIR: z.string().min(1).default('./data'),
  SHARED_DIR: z.string().min(1).default('../shared'),

  DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }).optional(),
  DATABASE_POOL_MAX: int(1, 100).default(10),
  EMBEDDED_DB_PORT: int(1, 65535).default(55432),

  REDIS_URL: z.url({ protocol: /^rediss?$/ }).default('redis://127.0.0.1:6379'),
  QUEUE_PREFIX: z
    .string()
    .regex(/^[a-z][a-z0-9_-]*$/)
    .default('pn'),

  INGEST_FPS: num(0.1, 30).default(2),
  INGEST_WIDTH: int(64, 3840).default(640),
  INGEST_STALL_TIMEOUT_MS: int(1000, 600_000).default(10_000),
  INGEST_BACKOFF_MIN_MS: int(100, 600_000).default(1_000),
  INGEST_BACKOFF_MAX_MS: int(1000, 3_600_000).default(30_000),
  INGEST_MAX_RESTARTS_PER_MINUTE: int(1, 600).default(6),
  INGEST_CAMERAS: z.string().optional(),
  INGEST_CAPACITY: int(1, 10_000).default(64),
  INGEST_LEASE_MS: int(3_000, 120_000).default(15_000),
  INGEST_DECODE: z.enum(['all', 'keyframes', 'reduced']).default('all'),
  INGEST_CLIP_BUFFER_S: int(8, 600).default(20),
  INGEST_CLIP_DIR: z.string().min(1).optional(),
  INGEST_RECOVER_AFTER_MS: int(1_000, 3_600_000).default(20_000),
  INGEST_MOTION_GATE: z.enum(['off', 'on']).default('off'),
  INGEST_MOTION_GATE_MAX_SKIP_MS: int(0, 60_000).default(2_000),

  WORKER_CONCURRENCY: int(1, 256).default(4),
  WORKER_LOCK_MS: int(1_000, 600_000).default(30_000),

  DETECTOR_MODEL: z.string().min(1).default('nanodet-coco'),
  DETECTOR_MODEL_VERSION: z
    .string()
    .regex(/^[A-Za-z0-9._-]+$/)
    .optional(),
  DETECTOR_PROVIDER: z.enum(['cpu', 'cuda', 'tensorrt']).default('cpu'),
  DETECTOR_CUDA_DEVICE: int(0, 64).default(0),
  DETECTOR_THREADS: int(1, 64).default(1),
  DETECTOR_SCORE_THRESHOLD: num(0.01, 0.99).default(0.15),
  DETECTOR_BATCH_MAX: int(1, 64).default(1),
  DETECTOR_BATCH_WAIT_MS: int(0, 1000).default(20),
  DETECTOR_PLATES: z.enum(['on', 'off']).default('on'),
  DETECTOR_PLATE_FRAMES: int(1, 16).default(4),

  EVIDENCE_DIR: z.string().min(1).optional(),
  EVIDENCE_SIGNING_KEY_PATH: z.string().min(1).optional(),
  EVIDENCE_SIGNING_KEY: z.string().min(40).optional(),
  EVIDENCE_PUBLIC_KEY_PATH: z.string().min(1).optional(),
  EVIDENCE_SIGNING_KEY_ID: z
    .string()
    .regex(/^[A-Za-z0-9._:-]{1,64}$/)
    .optional(),
  /** `role:token` pairs, comma-separated; bearer tokens for API clients until user accounts land. */
  API_TOKENS: z
    .string()
    .regex(
      /^(reviewer|supervisor|operator|admin|signal_controller):[A-Za-z0-9_\-.]{16,}(,(reviewer|supervisor|operator|admin|signal_controller):[A-Za-z0-9_\-.]{16,})*$/,
      {
        message: 'expected role:token pairs (token of 16+ characters), comma-separated',
      },
    )
    .optional(),

  AUTH_SESSION_IDLE_MINUTES: int(1, 24 * 60).default(30),
  AUTH_SESSION_MAX_HOURS: int(1, 7 * 24).default(12),
  AUTH_LOCKOUT_THRESHOLD: int(1, 100).default(5),
  AUTH_LOCKOUT_MINUTES: int(1, 24 * 60).default(15),
  AUTH_COOKIE_SECURE: z.enum(['auto', 'always']).default('auto'),
  REVIEW_LEASE_MINUTES: int(1, 8 * 60).default(10),
  REVIEW_SECOND_REVIEW_CONFIDENCE: num(0, 1).default(0.9),

  PUBLIC_LOOKUP_SECRET: z.string().min(32).optional(),
  PUBLIC_POW_BITS: int(1, 32).default(17),
  PUBLIC_POW_TTL_SECONDS: int(30, 3600).default(300),
  PUBLIC_LOOKUP_PER_MINUTE: int(1, 1_000_000).default(6),
  PUBLIC_LOOKUP_BURST: int(1, 1_000_000).default(12),
  PUBLIC_LOOKUP_MIN_MS: int(0, 5000).default(30),
  PUBLIC_MEDIA_URL_TTL_SECONDS: int(60, 86_400).default(900),

  SIM_CAMERAS: int(0, 1000).default(4),
  SIM_RTSP_PORT: int(1, 65535).default(8554),
  SIM_CLIP: z.string().optional(),
  SIM_PYTHON: z.string().min(1).default('/usr/bin/python3'),
  FFMPEG_PATH: z.string().min(1).default('ffmpeg'),
  DEMO_INSTALL: bool.default(true),
});

export type RawEnvConfig = z.output<typeof ENV_SCHEMA>;
export type Config = Readonly<
  RawEnvConfig & {
    /** Absolute data directory. */
    dataDir: string;
    evidenceDir: string;
    /** Where ingest keeps each camera's rolling recording (INGEST_CLIP_DIR, default DATA_DIR/clip-buffer). */
    clipBufferDir: string;
    /** True when no DATABASE_URL is given and the embedded PostgreSQL (PGlite) serves. */
    embeddedDb: boolean;
  }
>;

/** Keys we own even though they have no project prefix. */
const PLAIN_KEYS = new Set(Object.keys(ENV_SCHEMA.shape));
/** A variable with one of these prefixes that the schema does not know is a typo, not someone else's. */
const OWNED_PREFIXES = [
  'API_',
  'AUTH_',
  'REVIEW_',
  'PUBLIC_',
  'INGEST_',
  'DETECTOR_',
  'EVIDENCE_',
  'SIM_',
  'DEMO_',
  'QUEUE_',
  'EMBEDDED_DB_',
  'DATABASE_POOL',
];

export function loadConfig(env: Record<string, string | undefined>, cwd = process.cwd()): Config {
  const picked: Record<string, string> = {};
  const unknown: string[] = [];
  for (const [key, value] of Object.entries(env)) {
    if (value === undefined || value === '') continue;
    if (PLAIN_KEYS.has(key)) picked[key] = value;
    else if (OWNED_PREFIXES.some((p) => key.startsWith(p))) unknown.push(key);
  }
  const problems: string[] = unknown.map((k) => `${k}: unknown setting${suggest(k)}`);
  const parsed = ENV_SCHEMA.safeParse(picked);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const key = issue.path.join('.') || '(environment)';
      problems.push(`${key}: ${issue.message}`);
    }
  }
  if (problems.length > 0 || !parsed.success) {
    throw new AppError('config_invalid', `invalid configuration:\n  ${problems.join('\n  ')}`, {
      permanent: true,
      details: { keys: problems.map((p) => p.split(':')[0]) },
    });
  }
  const raw = parsed.data;
  if (raw.INGEST_BACKOFF_MIN_MS > raw.INGEST_BACKOFF_MAX_MS) {
    throw new AppError(
      'config_invalid',
      'invalid configuration:\n  INGEST_BACKOFF_MIN_MS: must not exceed INGEST_BACKOFF_MAX_MS',
      { permanent: true },
    );
  }
  const dataDir = path.resolve(cwd, raw.DATA_DIR);
  return Object.freeze({
    ...raw,
    dataDir,
    evidenceDir: path.resolve(cwd, raw.EVIDENCE_DIR ?? path.join(dataDir, 'evidence')),
    clipBufferDir: path.resolve(cwd, raw.INGEST_CLIP_DIR ?? path.join(dataDir, 'clip-buffer')),
    embeddedDb: raw.DATABASE_URL === undefined,
  });
}

function suggest(key: string): string {
  let best: string | undefined;
  let bestDistance = 4;
  for (const known of PLAIN_KEYS) {
    const d = levenshtein(key, known);
    if (d < bestDistance) {
      best = known;
      bestDistance = d;
    }
  }
  return best ? ` (did you mean ${best}?)` : '';
}

function levenshtein(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length]!;
}

/** Human documentation of every key; README's table is generated from the same list by `npm run docs:config`. */
export const CONFIG_DOCS: Record<keyof RawEnvConfig, string> = {
  NODE_ENV: 'development, production or test',
  LOG_LEVEL: 'pino level',
  HOST: 'address the API listens on (0.0.0.0 in containers)',
  PORT: 'API port',
  API_PROCESSES: 'API processes sharing the port (node:cluster); 1: this process serves alone',
  DATA_DIR: 'where the embedded database, evidence and generated clips live',
  SHARED_DIR: 'evaluation data and peer models (read only, optional)',
  DATABASE_URL: 'PostgreSQL URL; when absent the embedded PostgreSQL (PGlite) under DATA_DIR serves',
  DATABASE_POOL_MAX: 'pg pool size (the embedded database always uses 1)',
  EMBEDDED_DB_PORT: 'loopback port of the embedded PostgreSQL socket server',
  REDIS_URL: 'Redis for BullMQ queues',
  QUEUE_PREFIX: 'BullMQ key prefix (one per deployment)',
  INGEST_FPS: 'analysed frames per second per camera',
  INGEST_WIDTH: 'frames are scaled to this width before analysis',
  INGEST_STALL_TIMEOUT_MS: 'restart ffmpeg after this long without a frame',
  INGEST_BACKOFF_MIN_MS: 'first reconnect delay',
  INGEST_BACKOFF_MAX_MS: 'reconnect delay cap',
  INGEST_MAX_RESTARTS_PER_MINUTE: 'restart cap per camera per minute',
  INGEST_CAMERAS: 'comma-separated camera codes this ingest process may serve (default: all enabled)',
  INGEST_CAPACITY: 'cameras one ingest process runs at most',
  INGEST_LEASE_MS: "camera lease length: a dead worker's cameras move to others within about this long",
  INGEST_DECODE:
    'which frames ffmpeg decodes: all (every frame), keyframes (-skip_frame nokey: much cheaper; the analysed fps becomes min(INGEST_FPS, keyframe rate), so 1 with a 1 s keyframe interval) or reduced (every frame, one thread, no deblocking: cheaper, slightly softer frames)',
  INGEST_CLIP_BUFFER_S:
    "seconds of each camera's compressed stream kept on disk (copied, not decoded) for the violation clips (3 s either side of the act)",
  INGEST_CLIP_DIR:
    "where the cameras' rolling recordings live (default DATA_DIR/clip-buffer; a local disk, not shared)",
  INGEST_RECOVER_AFTER_MS:
    'journalled acts (evidence journal beside the store) left unsent this long are finished by the worker running their camera; longer than a stopping worker needs to finish its own',
  INGEST_MOTION_GATE:
    'on: a frame in which nothing moved since the last detected one reuses its detections instead of running the detector (pipeline/motion-gate.ts); the tracker and rules still see every frame',
  INGEST_MOTION_GATE_MAX_SKIP_MS:
    'with the motion gate on, the detector still runs at least this often per camera',
  WORKER_CONCURRENCY: 'jobs one worker process handles at once',
  WORKER_LOCK_MS: 'job lock: a job whose worker died is retried after about this long',
  DETECTOR_MODEL: 'model name under models/',
  DETECTOR_MODEL_VERSION:
    'version folder of DETECTOR_MODEL (default: the newest under models/<name>/ whose card is not marked preview; nanodet-coco: 1 = 416x416 input, 2 = the same weights at 320x320, a preview)',
  DETECTOR_PROVIDER:
    'cpu, cuda or tensorrt (tensorrt falls back to cuda, cuda to cpu, each with a logged warning; the provider in use is on /metrics and the monitoring page)',
  DETECTOR_CUDA_DEVICE: 'CUDA device id',
  DETECTOR_THREADS: 'onnxruntime intra-op threads',
  DETECTOR_BATCH_MAX:
    'most frames, from different cameras, run in one batched inference call; 1 = no batching (the measured CPU default: batching does not pay on CPU, see docs/PERFORMANCE.md; try 8-16 on a GPU)',
  DETECTOR_BATCH_WAIT_MS:
    'longest a frame waits for its batch to fill before the batch runs anyway (only with DETECTOR_BATCH_MAX > 1)',
  DETECTOR_PLATES: "on: read each flagged vehicle's plate (PP-OCR worker thread); off: review reads it",
  DETECTOR_PLATE_FRAMES: 'frames of a flagged vehicle read for the plate consensus',
  DETECTOR_SCORE_THRESHOLD:
    "lowest detection score reported: at most the engine's own lowest (half a scene's minScore, 0.175 by default), which tracking uses to keep ids and to open a track with a vehicle's weak first sightings; each scene sets its own threshold for starting a track",
  EVIDENCE_DIR: 'content-addressed evidence store (default DATA_DIR/evidence)',
  EVIDENCE_SIGNING_KEY_PATH: 'Ed25519 private key (PKCS#8 PEM file) that signs evidence manifests',
  EVIDENCE_SIGNING_KEY: 'the same key in base64, instead of a file (secret)',
  EVIDENCE_PUBLIC_KEY_PATH:
    'PEM public key the API checks evidence signatures against (the API never needs the private key)',
  EVIDENCE_SIGNING_KEY_ID: 'key id written beside each signature (default: derived from the public key)',
  API_TOKENS: 'bearer tokens for API clients as role:token pairs, comma-separated (secret)',
  AUTH_SESSION_IDLE_MINUTES: 'a staff session unused this long ends',
  AUTH_SESSION_MAX_HOURS: 'a staff session ends this long after login, used or not',
  AUTH_LOCKOUT_THRESHOLD: 'consecutive failed logins that lock an account',
  AUTH_LOCKOUT_MINUTES: 'how long such a lock lasts (an admin can lift it sooner)',
  AUTH_COOKIE_SECURE:
    'auto: the session cookie is Secure when the request came over https (directly or via a loopback proxy); always: Secure regardless (TLS ends at a proxy elsewhere)',
  REVIEW_LEASE_MINUTES: 'how long a claim holds a review case before another reviewer may take it',
  REVIEW_SECOND_REVIEW_CONFIDENCE:
    'plate reads below this confidence need a supervisor second review when approved (corrected plates always do)',
  PUBLIC_LOOKUP_SECRET:
    'key (32+ characters) that signs proof-of-work challenges and encrypts public media links, the same on every API process; required in production (secret)',
  PUBLIC_POW_BITS:
    'leading zero bits of SHA-256 a citizen lookup must find (about 2^bits hashes in the browser); production refuses fewer than 14',
  PUBLIC_POW_TTL_SECONDS: 'how long a proof-of-work challenge may be used (once)',
  PUBLIC_LOOKUP_PER_MINUTE:
    'citizen lookups one client (IP address, IPv6 /64) may make per minute, sustained',
  PUBLIC_LOOKUP_BURST: 'citizen lookups one client may make at once before the per-minute rate applies',
  PUBLIC_LOOKUP_MIN_MS:
    'every citizen lookup answers after at least this long, found or not, so timing does not tell whether a plate is known',
  PUBLIC_MEDIA_URL_TTL_SECONDS: 'how long a thumbnail or owner evidence link stays valid',
  SIM_CAMERAS: 'simulated cameras the demo serves over RTSP',
  SIM_RTSP_PORT: 'port of the simulated cameras RTSP server',
  SIM_CLIP: 'H.264 clip the simulated cameras loop (default: generated)',
  SIM_PYTHON: "Python with GStreamer's gi bindings, for the simulated cameras",
  FFMPEG_PATH: 'the ffmpeg binary',
  DEMO_INSTALL: 'let `npm run demo` install missing system packages (apt-get, as root)',
};
