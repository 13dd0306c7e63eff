/**
 * Restart pacing for a camera: capped exponential backoff with jitter, plus a cap on restarts per
 * minute. Pure functions; the supervisor supplies the clock and the random source.
 */

export interface BackoffPolicy {
  /** First delay after a failure. */
  minMs: number;
  /** Delay cap. */
  maxMs: number;
  /** At most this many restarts in any 60 s window. */
  maxRestartsPerMinute: number;
  /** Relative jitter, 0..1: the delay varies by ±jitter around its exponential value. Default 0.2. */
  jitter?: number;
}

export const RESTART_WINDOW_MS = 60_000;

/**
 * Delay before restart number `failures` (1 = the first failure since frames last flowed):
 * minMs · 2^(failures−1), capped at maxMs, varied by ±jitter, never outside [minMs, maxMs].
 */
export function backoffDelay(
  policy: BackoffPolicy,
  failures: number,
  random: () => number = Math.random,
): number {
  const { minMs, maxMs } = policy;
  const jitter = Math.min(1, Math.max(0, policy.jitter ?? 0.2));
  const exponent = Math.max(0, Math.min(failures - 1, 52));
  const base = Math.min(maxMs, minMs * 2 ** exponent);
  const varied = base * (1 + jitter * (2 * random() - 1));
  return Math.round(Math.min(maxMs, Math.max(minMs, varied)));
}

/**
 * Extra wait imposed by the per-minute cap: 0 while fewer than maxRestartsPerMinute restarts happened in
 * the last minute, else the time until enough of them leave the window.
 */
export function restartCapDelay(policy: BackoffPolicy, restartTimes: readonly number[], now: number): number {
  const cap = Math.max(1, policy.maxRestartsPerMinute);
  const recent = restartTimes.filter((t) => t > now - RESTART_WINDOW_MS && t <= now).sort((a, b) => a - b);
  if (recent.length < cap) return 0;
  // After the restart we are about to make, `cap` restarts must fit in one window: the oldest
  // (recent.length − cap + 1) of them have to age out first.
  const mustExpire = recent[recent.length - cap]!;
  return Math.max(0, mustExpire + RESTART_WINDOW_MS - now);
}

/** The delay before the next restart: the larger of the backoff and the per-minute cap. */
export function nextRestartDelay(
  policy: BackoffPolicy,
  failures: number,
  restartTimes: readonly number[],
  now: number,
  random: () => number = Math.random,
): { delayMs: number; capped: boolean } {
  const backoff = backoffDelay(policy, failures, random);
  const cap = restartCapDelay(policy, restartTimes, now);
  return cap > backoff ? { delayMs: cap, capped: true } : { delayMs: backoff, capped: false };
}

/** Remembers restart times of the last minute (bounded by the cap). */
export class RestartWindow {
  private times: number[] = [];

  constructor(private readonly limit: number) {}

  record(at: number): void {
    this.times.push(at);
    this.prune(at);
  }

  /** Restart times within the last minute of `now`, oldest first. */
  recent(now: number): readonly number[] {
    this.prune(now);
    return this.times;
  }

  private prune(now: number): void {
    const from = now - RESTART_WINDOW_MS;
    this.times = this.times.filter((t) => t > from);
    // Never more than we can use: restartCapDelay looks at the newest `limit` entries only.
    if (this.times.length > this.limit) this.times = this.times.slice(-this.limit);
  }
}
