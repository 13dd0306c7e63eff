import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { AppError, errorMessage } from '../../core/errors.js';
import type { Database } from '../../db/database.js';
import { appendAudit } from '../../db/repositories/audit.repository.js';
import {
  evidenceAssetBySha,
  findPublicViolations,
  ownerCaseByNoticeCode,
  thumbnailSources,
  type PublicCaseState,
  type PublicViolation,
} from '../../db/repositories/public-lookup.repository.js';
import type { NoticeState, SanctionVehicleClass } from '../../db/schema.js';
import { boxForStill, renderPublicThumbnail } from '../../violations/evidence-thumbnail.js';
import type { EvidenceStore } from '../../violations/evidence-store.js';
import { verifyEvidence } from '../../violations/evidence-verify.js';
import { openMediaToken, sealMediaToken } from '../security/media-token.js';
import { normaliseNoticeCode } from '../security/notice-code.js';
import {
  challengeKey,
  checkSolution,
  deriveKey,
  issueChallenge,
  type Challenge,
  type PowPolicy,
} from '../security/proof-of-work.js';
import { RateLimiter, type RateLimit } from '../security/rate-limit.js';

/**
 * The citizen lookup: plate + vehicle type → the public listing (Circular 73/2024 Art 24: vehicle type,
 * plate and colour, time, place, behaviour, detecting unit, resolving unit and its phone), with the
 * status of the case, the fine range and its legal basis, and a thumbnail in which only the vehicle is
 * sharp. Never owner data: nothing here reads the registry.
 *
 * Enumeration is bounded three ways: a per-client token bucket (Redis), a proof of work per lookup
 * (single use), and answers that look and take the same for a plate with no violations as for one with
 * some (same shape; every lookup answers after at least `minResponseMs`).
 *
 * The owner view (notice code + plate) shows the full evidence, with the manifest re-verified; notice
 * codes are random (security/notice-code.ts) and every owner view and file read is audited.
 */

export interface PublicLookupPolicy {
  /** PUBLIC_LOOKUP_SECRET: signs challenges, encrypts media links, keys client pseudonyms. */
  secret: Buffer;
  pow: PowPolicy;
  /** Lookups per client; challenges, media and owner views get multiples of it. */
  lookup: RateLimit;
  minResponseMs: number;
  mediaTtlMs: number;
  /** Most violations one answer lists. */
  maxItems: number;
}

export const DEFAULT_PUBLIC_LOOKUP_POLICY: Omit<PublicLookupPolicy, 'secret'> = {
  pow: { bits: 17, ttlMs: 300_000 },
  lookup: { burst: 12, perMinute: 6 },
  minResponseMs: 30,
  mediaTtlMs: 900_000,
  maxItems: 50,
};

export const VEHICLE_TYPES = ['car', 'motorbike'] as const satisfies readonly SanctionVehicleClass[];
export type VehicleType = (typeof VEHICLE_TYPES)[number];

export type PublicStatusCode =
  'unresolved' | 'notice_sent' | 'in_progress' | 'awaiting_payment' | 'overdue' | 'resolved';

export const PUBLIC_STATUS_LABELS: Record<PublicStatusCode, { vi: string; en: string }> = {
  unresolved: { vi: 'Chưa xử phạt', en: 'Not yet resolved' },
  notice_sent: { vi: 'Đã gửi thông báo, chờ giải quyết', en: 'Notice sent, awaiting resolution' },
  in_progress: { vi: 'Đang giải quyết', en: 'Being resolved' },
  awaiting_payment: { vi: 'Đã ra quyết định xử phạt, chờ nộp phạt', en: 'Fine decided, awaiting payment' },
  overdue: { vi: 'Quá hạn nộp phạt', en: 'Payment overdue' },
  resolved: { vi: 'Đã xử phạt', en: 'Resolved' },
};

/**
 * The status the public sees, from the violation's status and its case's state; undefined when the
 * violation must not be listed (its case was cancelled or expired).
 */
export function publicStatus(
  violationStatus: string,
  caseState: NoticeState | undefined,
): PublicStatusCode | undefined {
  if (caseState === 'cancelled' || caseState === 'expired') return undefined;
  if (violationStatus === 'closed' || caseState === 'paid') return 'resolved';
  switch (caseState) {
    case undefined:
    case 'draft':
      return 'unresolved';
    case 'issued':
    case 'delivered':
    case 'escalated':
      return 'notice_sent';
    case 'responded':
      return 'in_progress';
    case 'decided':
      return 'awaiting_payment';
    case 'overdue':
      return 'overdue';
  }
}

/** The plate as the public lookup compares it: compact, Đ as D (as the plate grammar scores readings). */
export function comparablePlate(text: string): string {
  return text
    .normalize('NFC')
    .replace(/đ/g, 'Đ')
    .toUpperCase()
    .replace(/[^A-Z0-9Đ]/g, '')
    .replace(/Đ/g, 'D');
}

export interface PublicViolationView {
  observedAt: string;
  vehicleType: VehicleType;
  plate: string;
  plateColor: string | null;
  place: { name: string; address: string };
  behaviour: { code: string; vi: string; en: string };
  status: { code: PublicStatusCode; vi: string; en: string };
  fine: {
    minVnd: number;
    maxVnd: number;
    /** The amount decided, once the case has a decision. */
    decidedVnd: number | null;
    points: number;
    legalBasis: string;
    citation: string;
    /** Amounts carried over without verification against the text in force. */
    provisional: boolean;
  } | null;
  detectingUnit: string | null;
  resolvingUnit: { name: string; phone: string; address: string } | null;
  /** A signed link that expires; null when no still was recorded. */
  thumbnailUrl: string | null;
}

export interface PublicLookupAnswer {
  plate: string;
  vehicleType: VehicleType;
  checkedAt: string;
  items: PublicViolationView[];
}

export interface OwnerViewAnswer {
  noticeCode: string;
  state: NoticeState;
  plate: string;
  observedAt: string;
  place: { name: string; address: string };
  ruleCode: string;
  fine: {
    amountVnd: number;
    minVnd: number | null;
    maxVnd: number | null;
    points: number;
    legalBasis: string;
    citation: string;
  };
  issuedAt: string | null;
  dueAt: string | null;
  resolvingUnit: { name: string; phone: string; address: string } | null;
  evidence: { kind: string; mediaType: string; sha256: string; sizeBytes: number; url: string }[];
  verification: {
    ok: boolean;
    signature: { ok: boolean; keyId: string | null; pinned: boolean };
    problems: string[];
  };
}

export interface PublicMedia {
  mediaType: string;
  bytes: Buffer;
  maxAgeSeconds: number;
}

export interface PublicLookupService {
  readonly policy: Readonly<Omit<PublicLookupPolicy, 'secret'>>;
  challenge(client: string): Promise<Challenge>;
  lookup(
    client: string,
    input: { plate: string; vehicleType: VehicleType; challenge: string; nonce: string },
  ): Promise<PublicLookupAnswer>;
  /** Undefined when no issued notice has this code for this plate. */
  ownerView(
    client: string,
    input: { noticeCode: string; plate: string },
  ): Promise<OwnerViewAnswer | undefined>;
  /** Undefined when the link is malformed, forged, expired, or names nothing public any more. */
  media(client: string, token: string): Promise<PublicMedia | undefined>;
}

/** How many thumbnails the memory cache keeps, at most (about 30 KB each). */
const THUMBNAIL_CACHE_BYTES = 32 * 1024 * 1024;

export function createPublicLookupService(deps: {
  db: Database['db'];
  redis: Redis;
  keyPrefix: string;
  store: EvidenceStore;
  policy: PublicLookupPolicy;
}): PublicLookupService {
  const { db, redis, store } = deps;
  const { secret, ...policy } = deps.policy;
  const powKey = deriveKey(secret, 'pow');
  const mediaKey = deriveKey(secret, 'media');
  const limiter = new RateLimiter(redis, `${deps.keyPrefix}:public`, deriveKey(secret, 'client'));
  const limits = {
    lookup: policy.lookup,
    owner: policy.lookup,
    challenge: { burst: policy.lookup.burst * 3, perMinute: policy.lookup.perMinute * 3 },
    media: { burst: policy.lookup.burst * 10, perMinute: policy.lookup.perMinute * 20 },
  };
  const thumbnails = new ByteLru(THUMBNAIL_CACHE_BYTES);
  const rendering = new Map<string, Promise<Buffer>>();

  const throttle = async (purpose: keyof typeof limits, client: string) => {
    let decision;
    try {
      decision = await limiter.take(purpose, client, limits[purpose]);
    } catch (err) {
      // Fail closed: without Redis there is no limit, so there is no lookup.
      throw new AppError('dependency_down', 'the lookup is unavailable; try again later', { cause: err });
    }
    if (!decision.allowed) {
      throw new AppError('rate_limited', 'too many requests; try again later', {
        details: { retryAfterSeconds: decision.retryAfterSeconds },
      });
    }
  };

  const padFrom = async (started: number) => {
    const left = started + policy.minResponseMs - performance.now();
    if (left > 0) await sleep(left);
  };

  const mediaUrl = (token: string) => `/api/public/media/${token}`;

  const toView = (
    v: PublicViolation,
    status: PublicStatusCode,
    caseState: PublicCaseState | undefined,
    vehicleType: VehicleType,
    now: number,
  ): PublicViolationView => ({
    observedAt: v.observedAt.toISOString(),
    vehicleType,
    plate: v.plate,
    plateColor: v.plateColor,
    place: { name: v.cameraName, address: v.cameraLocation },
    behaviour: {
      code: v.ruleCode,
      vi: v.sanction?.descriptionVi ?? v.sanction?.description ?? v.ruleCode,
      en: v.sanction?.description ?? v.ruleCode,
    },
    status: { code: status, ...PUBLIC_STATUS_LABELS[status] },
    fine: v.sanction
      ? {
          minVnd: v.sanction.fineMinVnd,
          maxVnd: v.sanction.fineMaxVnd,
          decidedVnd: caseState?.fineAmountVnd ?? null,
          points: v.sanction.points,
          legalBasis: v.sanction.legalBasis,
          citation: v.sanction.citation,
          provisional: v.sanction.provisional,
        }
      : null,
    detectingUnit: v.unit,
    resolvingUnit: v.resolvingUnit,
    thumbnailUrl: v.hasStill
      ? mediaUrl(
          sealMediaToken(mediaKey, {
            kind: 'thumbnail',
            violationId: v.violationId,
            expiresAtMs: now + policy.mediaTtlMs,
          }),
        )
      : null,
  });

  const thumbnail = async (violationId: number): Promise<Buffer | undefined> => {
    const sources = await thumbnailSources(db, violationId);
    if (!sources) return undefined;
    const role = sources.still.kind.replace(/^still_/, '');
    const cacheKey = `${sources.still.sha256}:${sources.manifest?.sha256 ?? '-'}:${role}`;
    const cached = thumbnails.get(cacheKey);
    if (cached) return cached;
    let pending = rendering.get(cacheKey);
    if (!pending) {
      pending = (async () => {
        const [still, manifest] = await Promise.all([
          store.read(sources.still.storageUri),
          sources.manifest ? store.read(sources.manifest.storageUri).then(parseJson) : undefined,
        ]);
        const jpeg = await renderPublicThumbnail(still, boxForStill(manifest, role));
        thumbnails.set(cacheKey, jpeg);
        return jpeg;
      })().finally(() => rendering.delete(cacheKey));
      rendering.set(cacheKey, pending);
    }
    return pending;
  };

  return {
    policy,

    async challenge(client) {
      await throttle('challenge', client);
      return issueChallenge(powKey, policy.pow);
    },

    async lookup(client, input) {
      const started = performance.now();
      // The proof is checked here (an HMAC and a hash, no I/O); the rate limit and the single-use spend
      // then go to Redis together, in one script and one round trip (RateLimiter.takeAndSpend). Every
      // attempt costs a token, a refused proof included; a request refused by the limit spends nothing
      // and is answered 429 whatever its proof; only an allowed, valid proof is spent, and only once.
      const check = checkSolution(powKey, policy.pow, input.challenge, input.nonce);
      let decision: { allowed: boolean; retryAfterSeconds: number; fresh: boolean };
      try {
        decision = check.ok
          ? await limiter.takeAndSpend('lookup', client, limits.lookup, {
              key: challengeKey(`${deps.keyPrefix}:public`, check.id),
              untilMs: check.expiresAtMs,
            })
          : { ...(await limiter.take('lookup', client, limits.lookup)), fresh: false };
      } catch (err) {
        // Fail closed: without Redis there is no limit and no single use, so there is no lookup.
        throw new AppError('dependency_down', 'the lookup is unavailable; try again later', { cause: err });
      }
      if (!decision.allowed) {
        throw new AppError('rate_limited', 'too many requests; try again later', {
          details: { retryAfterSeconds: decision.retryAfterSeconds },
        });
      }
      if (!check.ok) {
        throw new AppError(
          'challenge_failed',
          `proof of work refused (${check.reason}): get a new challenge from /api/public/challenge`,
        );
      }
      if (!decision.fresh) {
        throw new AppError(
          'challenge_failed',
          'proof of work refused (already used): get a new challenge from /api/public/challenge',
        );
      }
      const plate = comparablePlate(input.plate);
      // One statement: the listing with each violation's case state.
      const found = await findPublicViolations(db, {
        comparablePlate: plate,
        vehicleClass: input.vehicleType,
        limit: policy.maxItems,
      });
      const now = Date.now();
      const items: PublicViolationView[] = [];
      for (const v of found) {
        const status = publicStatus(v.status, v.caseState?.state);
        if (status) items.push(toView(v, status, v.caseState, input.vehicleType, now));
      }
      await padFrom(started);
      return { plate, vehicleType: input.vehicleType, checkedAt: new Date(now).toISOString(), items };
    },

    async ownerView(client, input) {
      const started = performance.now();
      await throttle('owner', client);
      const code = normaliseNoticeCode(input.noticeCode);
      const found = code === undefined ? undefined : await ownerCaseByNoticeCode(db, code);
      if (
        !found ||
        found.state === 'draft' ||
        comparablePlate(found.plate) !== comparablePlate(input.plate)
      ) {
        await padFrom(started);
        return undefined;
      }
      const manifest = found.evidence.find((e) => e.kind === 'manifest');
      let verification: OwnerViewAnswer['verification'];
      if (manifest) {
        try {
          const result = await verifyEvidence({ manifest: manifest.sha256, evidenceDir: store.root });
          verification = {
            ok: result.ok,
            signature: {
              ok: result.signature.ok,
              keyId: result.signature.keyId ?? null,
              pinned: result.signature.pinned,
            },
            problems: result.problems,
          };
        } catch (err) {
          verification = {
            ok: false,
            signature: { ok: false, keyId: null, pinned: false },
            problems: [errorMessage(err)],
          };
        }
      } else {
        verification = {
          ok: false,
          signature: { ok: false, keyId: null, pinned: false },
          problems: ['no manifest recorded'],
        };
      }
      await appendAudit(db, {
        actor: 'public:owner',
        action: 'notice.owner_view',
        entityType: 'notice',
        entityId: found.noticeId,
        details: { violationId: found.violationId },
      });
      const expiresAtMs = Date.now() + policy.mediaTtlMs;
      await padFrom(started);
      return {
        noticeCode: found.noticeCode,
        state: found.state,
        plate: found.plate,
        observedAt: found.observedAt.toISOString(),
        place: { name: found.cameraName, address: found.cameraLocation },
        ruleCode: found.ruleCode,
        fine: {
          amountVnd: found.fineAmountVnd,
          minVnd: found.fineMinVnd,
          maxVnd: found.fineMaxVnd,
          points: found.points,
          legalBasis: found.legalBasis,
          citation: found.citation,
        },
        issuedAt: found.issuedAt?.toISOString() ?? null,
        dueAt: found.dueAt?.toISOString() ?? null,
        resolvingUnit: found.resolvingUnit,
        evidence: found.evidence.map((e) => ({
          kind: e.kind,
          mediaType: e.mediaType,
          sha256: e.sha256,
          sizeBytes: e.sizeBytes,
          url: mediaUrl(
            sealMediaToken(mediaKey, {
              kind: 'evidence',
              violationId: found.violationId,
              sha256: e.sha256,
              expiresAtMs,
            }),
          ),
        })),
        verification,
      };
    },

    async media(client, text) {
      await throttle('media', client);
      const token = openMediaToken(mediaKey, text);
      if (!token) return undefined;
      const maxAgeSeconds = Math.max(0, Math.floor((token.expiresAtMs - Date.now()) / 1000));
      if (token.kind === 'thumbnail') {
        const jpeg = await thumbnail(token.violationId);
        return jpeg && { mediaType: 'image/jpeg', bytes: jpeg, maxAgeSeconds };
      }
      const asset = await evidenceAssetBySha(db, token.violationId, token.sha256);
      if (!asset) return undefined;
      const bytes = await store.read(asset.storageUri);
      await appendAudit(db, {
        actor: 'public:owner',
        action: 'evidence.view',
        entityType: 'violation',
        entityId: token.violationId,
        details: { kind: asset.kind, sha256: asset.sha256 },
      });
      return { mediaType: asset.mediaType, bytes, maxAgeSeconds };
    },
  };
}

/** PUBLIC_LOOKUP_SECRET as key material, or a random key for this process when none is configured. */
export function publicLookupSecret(configured: string | undefined): { secret: Buffer; generated: boolean } {
  return configured
    ? { secret: Buffer.from(configured, 'utf8'), generated: false }
    : { secret: randomBytes(32), generated: true };
}

function parseJson(bytes: Buffer): unknown {
  try {
    return JSON.parse(bytes.toString('utf8')) as unknown;
  } catch {
    return undefined; // an unreadable manifest: the thumbnail is blurred all over
  }
}

/** A least-recently-used map bounded by the total size of its values. */
class ByteLru {
  private readonly entries = new Map<string, Buffer>();
  private bytes = 0;

  constructor(private readonly maxBytes: number) {}

  get(key: string): Buffer | undefined {
    const value = this.entries.get(key);
    if (value) {
      this.entries.delete(key);
      this.entries.set(key, value);
    }
    return value;
  }

  set(key: string, value: Buffer): void {
    const old = this.entries.get(key);
    if (old) this.bytes -= old.length;
    this.entries.delete(key);
    this.entries.set(key, value);
    this.bytes += value.length;
    for (const [k, v] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      this.entries.delete(k);
      this.bytes -= v.length;
    }
  }
}
