import { createHmac, type BinaryLike } from 'node:crypto';
import { isIPv6 } from 'node:net';
import type { Redis } from 'ioredis';

/**
 * Per-client rate limits in Redis, shared by every API process: a token bucket per (purpose, client),
 * refilled continuously, checked and debited by one Lua script (one round trip, atomic, the clock is
 * Redis's own so API processes with skewed clocks agree). The bucket is one small hash that expires
 * once it would be full again, so idle clients cost nothing.
 *
 * Why a script of our own rather than a library: this is the whole algorithm (about 20 lines), it runs
 * on the ioredis client the API already holds, and it answers the exact wait for Retry-After.
 * rate-limiter-flexible would do the same job with a dependency and its own key layout.
 */

/** Debits the bucket at KEYS[1]; leaves allowed, waitMs and tokens in locals for the script's tail. */
const BUCKET = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local capacity = tonumber(ARGV[1])
local perMs = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1])
local at = tonumber(state[2])
if tokens == nil or at == nil then
  tokens = capacity
  at = now
end
tokens = math.min(capacity, tokens + math.max(0, now - at) * perMs)
local allowed = 0
local waitMs = 0
if tokens >= cost then
  tokens = tokens - cost
  allowed = 1
else
  waitMs = math.ceil((cost - tokens) / perMs)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil((capacity - tokens) / perMs) + 1000)
`;

const TOKEN_BUCKET = `${BUCKET}
return {allowed, waitMs, math.floor(tokens)}
`;

/**
 * The bucket, then, only when the request is allowed, the single-use spend of a proof-of-work challenge
 * (KEYS[2], `SET NX` expiring at ARGV[4] ms): the citizen lookup's two Redis steps in one round trip and
 * one atomic step. A request refused by the limit leaves its challenge unspent (as it did when the two
 * were separate calls, the limit first); fresh is 1 only for the first spend of a challenge.
 */
const TOKEN_BUCKET_SPEND = `${BUCKET}
local fresh = 0
if allowed == 1 and redis.call('SET', KEYS[2], '1', 'PXAT', ARGV[4], 'NX') then
  fresh = 1
end
return {allowed, waitMs, math.floor(tokens), fresh}
`;

export interface RateLimit {
  /** Requests a client may make at once. */
  burst: number;
  /** Sustained requests per minute. */
  perMinute: number;
}

export interface RateDecision {
  allowed: boolean;
  /** Whole seconds until the next request would be allowed (0 when allowed). */
  retryAfterSeconds: number;
  remaining: number;
}

type BucketRedis = Redis & {
  pnTokenBucket(
    key: string,
    capacity: number,
    perMs: number,
    cost: number,
  ): Promise<[number, number, number]>;
  pnTokenBucketSpend(
    key: string,
    spendKey: string,
    capacity: number,
    perMs: number,
    cost: number,
    spendUntilMs: number,
  ): Promise<[number, number, number, number]>;
};

/** A decision of `takeAndSpend`: the limit's, and whether the challenge was spent now for the first time. */
export interface SpendDecision extends RateDecision {
  /** False when the request was refused by the limit (nothing spent) or the key was already spent. */
  fresh: boolean;
}

export class RateLimiter {
  private readonly redis: BucketRedis;

  constructor(
    redis: Redis,
    private readonly keyPrefix: string,
    /** Keys client addresses so that Redis holds pseudonyms, not IP addresses. */
    private readonly clientKey: BinaryLike,
  ) {
    if (!('pnTokenBucket' in redis))
      redis.defineCommand('pnTokenBucket', { numberOfKeys: 1, lua: TOKEN_BUCKET });
    if (!('pnTokenBucketSpend' in redis))
      redis.defineCommand('pnTokenBucketSpend', { numberOfKeys: 2, lua: TOKEN_BUCKET_SPEND });
    this.redis = redis as BucketRedis;
  }

  /** Debits one request of `client` under `purpose`; throws when Redis does not answer. */
  async take(purpose: string, client: string, limit: RateLimit): Promise<RateDecision> {
    const [allowed, waitMs, remaining] = await this.redis.pnTokenBucket(
      this.bucketKey(purpose, client),
      limit.burst,
      limit.perMinute / 60_000,
      1,
    );
    return {
      allowed: allowed === 1,
      retryAfterSeconds: allowed === 1 ? 0 : Math.max(1, Math.ceil(waitMs / 1000)),
      remaining,
    };
  }

  /**
   * Debits one request of `client` under `purpose` and, only if the limit allows it, spends `spend.key`
   * once (`SET NX` expiring at `spend.untilMs`): one round trip, one atomic step. Throws when Redis does
   * not answer.
   */
  async takeAndSpend(
    purpose: string,
    client: string,
    limit: RateLimit,
    spend: { key: string; untilMs: number },
  ): Promise<SpendDecision> {
    const [allowed, waitMs, remaining, fresh] = await this.redis.pnTokenBucketSpend(
      this.bucketKey(purpose, client),
      spend.key,
      limit.burst,
      limit.perMinute / 60_000,
      1,
      spend.untilMs,
    );
    return {
      allowed: allowed === 1,
      retryAfterSeconds: allowed === 1 ? 0 : Math.max(1, Math.ceil(waitMs / 1000)),
      remaining,
      fresh: fresh === 1,
    };
  }

  private bucketKey(purpose: string, client: string): string {
    return `${this.keyPrefix}:rl:${purpose}:${this.pseudonym(client)}`;
  }

  private pseudonym(client: string): string {
    return createHmac('sha256', this.clientKey)
      .update(clientAddressKey(client))
      .digest('base64url')
      .slice(0, 22);
  }
}

/**
 * The part of an address that identifies a client: an IPv4 address, or the /64 prefix of an IPv6 one (a
 * single subscriber usually holds a whole /64, and could otherwise rotate through 2^64 addresses).
 */
export function clientAddressKey(address: string): string {
  const v4 = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (v4) return v4[1]!;
  if (!isIPv6(address)) return address;
  return `${expandIPv6(address).slice(0, 4).join(':')}::/64`;
}

function expandIPv6(address: string): string[] {
  const [head, tail] = address.split('::') as [string, string | undefined];
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const fill = tail === undefined ? [] : Array(8 - left.length - right.length).fill('0');
  return [...left, ...fill, ...right].map((g) => g.toLowerCase().replace(/^0+(?=.)/, ''));
}
