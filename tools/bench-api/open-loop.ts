/**
 * An open-loop HTTP load generator, for `npm run bench:api -- --generator open`.
 *
 * Request i is due at t0 + i / rate, whatever happened to the requests before it: the schedule does not
 * wait for answers (autocannon's connections do, so a stalled server lowers the offered rate and its stall
 * is under-counted: coordinated omission). Each request is handed to a keep-alive pool (node:http Agent,
 * at most `connections` sockets, one request at a time on each); when every socket is busy it waits in
 * the pool's queue. Its latency is measured as wrk2 does, from the time it was **due** to the end of its
 * response, so a stalled server, a full pool or a stalled generator all show up in it; the latency from
 * the moment it was actually written to a socket is kept apart, and so is the send lag (written − due).
 *
 * The scheduler never drifts (every due time is computed from t0, never from the previous send), never
 * sends early, and when it wakes late sends every overdue request at once (they keep their due times).
 * It sleeps with setTimeout until `spinMs` before the next due time and spins with setImmediate (which
 * lets responses in between) only for that last stretch, so that its own CPU stays low.
 */
import http from 'node:http';
import { mulberry32 } from '../scenarios/prng.js';

export interface OpenLoopRequest {
  method: string;
  /** Path and query, appended to the base URL's origin. */
  path: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
}

export interface OpenLoopOptions {
  /** Base URL (http://host:port); only its origin is used. */
  url: string;
  /** Requests per second, on average. */
  rate: number;
  /**
   * How the due times are spread (default `even`): `even`, i / rate; `poisson`, independent arrivals
   * (exponential gaps of mean 1 / rate, from a seeded generator: the same schedule every run), as many
   * citizens each looking up a plate on their own arrive.
   */
  arrivals?: 'even' | 'poisson';
  /** Seed of the `poisson` schedule (default 1). */
  seed?: number;
  /** Length of the schedule: round(rate × durationS) requests. */
  durationS: number;
  /** Most sockets the keep-alive pool opens (requests beyond wait in the pool's queue). */
  connections: number;
  /** Builds request i (called when it is sent). */
  request: (i: number) => OpenLoopRequest;
  /** A request not fully answered this long after it was handed to the pool is abandoned (default 10 s). */
  timeoutMs?: number;
  /**
   * The scheduler spins (setImmediate) for the last this-many ms before a due time (default 0.5): less
   * spinning, less CPU; setTimeout alone wakes up to about a millisecond late.
   */
  spinMs?: number;
  /** A send later than this after its due time counts as late (default 1 ms). */
  lateMs?: number;
  /** Stops scheduling; requests already sent are still waited for. */
  signal?: AbortSignal;
  /** Keep one record per request in the result (for tests). */
  keepRecords?: boolean;
}

export interface Percentiles {
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/** One request; times in ms from t0 (the first due time), NaN where it did not happen. */
export interface OpenLoopRecord {
  index: number;
  due: number;
  /** When the generator handed it to the pool. */
  dispatched: number;
  /** When it was written to a connected socket. */
  sent: number;
  /** End of the response. */
  ended: number;
  /** HTTP status; 0 for an error or a timeout. */
  status: number;
  outcome: 'response' | 'error' | 'timeout' | 'not-sent';
}

export interface OpenLoopResult {
  rate: number;
  /** Requests on the schedule. */
  scheduled: number;
  /** Requests handed to the pool (fewer than scheduled only when stopped). */
  dispatched: number;
  /** Complete responses, any status. */
  responses: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  /** Status code → count. */
  statuses: Record<string, number>;
  /** ms from t0 to the end of the schedule (requests sent / rate) or of the last response, if later. */
  elapsedMs: number;
  /** responses / elapsed. */
  achievedRps: number;
  /** Due time → end of response, over responses of any status (ms). */
  latencyFromDue: Percentiles;
  /** Written to a socket → end of response, over the same responses (ms). */
  latencyFromSend: Percentiles;
  /** Written to a socket − due, over requests written (ms): the generator's lateness and the pool's queue. */
  sendLag: Percentiles;
  /** Handed to the pool − due (ms): the generator's own lateness only (a stalled event loop). */
  dispatchLag: Percentiles;
  /** Requests written more than `lateMs` after their due time. */
  lateSends: number;
  lateMs: number;
  /** Most sockets open at once. */
  peakSockets: number;
  records?: OpenLoopRecord[];
}

const NO_SAMPLES: Percentiles = { p50: NaN, p90: NaN, p99: NaN, max: NaN };

/** Nearest-rank percentiles, rounded to 0.01 ms. */
export function percentiles(values: ArrayLike<number>): Percentiles {
  const sorted = Float64Array.from(values)
    .filter((v) => !Number.isNaN(v))
    .sort();
  if (sorted.length === 0) return { ...NO_SAMPLES };
  const at = (p: number) => {
    const v = sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
    return Math.round(v * 100) / 100;
  };
  return { p50: at(50), p90: at(90), p99: at(99), max: at(100) };
}

class RequestTimeout extends Error {}

export async function runOpenLoop(opts: OpenLoopOptions): Promise<OpenLoopResult> {
  if (!(opts.rate > 0)) throw new Error('rate must be positive');
  if (!(opts.durationS > 0)) throw new Error('durationS must be positive');
  if (!Number.isInteger(opts.connections) || opts.connections < 1)
    throw new Error('connections must be a positive integer');
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const spinMs = opts.spinMs ?? 0.5;
  if (!(spinMs >= 0)) throw new Error('spinMs must be 0 or more');
  const lateMs = opts.lateMs ?? 1;
  const origin = new URL(opts.url);
  if (origin.protocol !== 'http:') throw new Error('only http:// is supported');

  const n = Math.max(1, Math.round(opts.rate * opts.durationS));
  const intervalMs = 1000 / opts.rate;
  const due = new Float64Array(n);
  const dispatched = new Float64Array(n).fill(NaN);
  const sent = new Float64Array(n).fill(NaN);
  const ended = new Float64Array(n).fill(NaN);
  const status = new Uint16Array(n);
  const outcome: OpenLoopRecord['outcome'][] = new Array<OpenLoopRecord['outcome']>(n).fill('not-sent');
  if (opts.arrivals === 'poisson') {
    const prng = mulberry32(opts.seed ?? 1);
    let t = 0;
    for (let i = 0; i < n; i++) {
      due[i] = t;
      t += -Math.log(1 - prng.next()) * intervalMs;
    }
  } else for (let i = 0; i < n; i++) due[i] = i * intervalMs;

  const agent = new http.Agent({
    keepAlive: true,
    maxSockets: opts.connections,
    maxFreeSockets: opts.connections,
    scheduling: 'fifo',
  });
  let openSockets = 0;
  let peakSockets = 0;
  const inFlight = new Map<number, http.ClientRequest>();
  let dispatchedCount = 0;
  let finishedCount = 0;
  let schedulingDone = false;
  let onAllFinished: (() => void) | undefined;
  let t0 = 0;
  const now = () => performance.now() - t0;

  const finish = (i: number, what: 'response' | 'error' | 'timeout') => {
    if (outcome[i] !== 'not-sent' || !inFlight.has(i)) return;
    inFlight.delete(i);
    outcome[i] = what;
    ended[i] = now();
    if (what !== 'response') status[i] = 0;
    finishedCount++;
    if (finishedCount === dispatchedCount && schedulingDone) onAllFinished?.();
  };

  const send = (i: number) => {
    dispatched[i] = now();
    try {
      dispatch(i);
    } catch {
      // A request that cannot even be built or handed over (a bad header): an error, not a crash.
      outcome[i] = 'error';
      ended[i] = now();
      inFlight.delete(i);
      finishedCount++;
    }
  };

  const dispatch = (i: number) => {
    const spec = opts.request(i);
    const headers: Record<string, string | number> = { ...spec.headers };
    if (spec.body !== undefined) headers['content-length'] = Buffer.byteLength(spec.body);
    const req = http.request({
      agent,
      protocol: origin.protocol,
      hostname: origin.hostname,
      port: origin.port,
      method: spec.method,
      path: spec.path,
      headers,
    });
    inFlight.set(i, req);
    req.on('socket', (socket) => {
      // The request's bytes leave once the socket is connected (a reused keep-alive socket already is).
      if (socket.connecting) {
        openSockets++;
        peakSockets = Math.max(peakSockets, openSockets);
        socket.once('close', () => openSockets--);
        socket.once('connect', () => {
          sent[i] = now();
        });
      } else sent[i] = now();
    });
    req.on('response', (res) => {
      status[i] = res.statusCode ?? 0;
      res.on('end', () => finish(i, 'response'));
      res.on('error', () => finish(i, 'error'));
      // Cut off before its end: 'close' without 'end'.
      res.on('close', () => finish(i, res.complete ? 'response' : 'error'));
      res.resume();
    });
    req.on('error', (err) => finish(i, err instanceof RequestTimeout ? 'timeout' : 'error'));
    req.end(spec.body);
  };

  // Abandons requests older than timeoutMs (one sweep timer rather than a timer per request).
  const sweep = setInterval(
    () => {
      const limit = now() - timeoutMs;
      for (const [i, req] of inFlight) {
        if (dispatched[i]! <= limit) {
          req.destroy(new RequestTimeout(`no answer within ${timeoutMs} ms`));
          // destroy() emits 'error' on the next tick; count it now in case it does not.
          finish(i, 'timeout');
        }
      }
    },
    Math.min(250, Math.max(10, timeoutMs / 4)),
  );

  try {
    await new Promise<void>((resolve) => {
      let next = 0;
      const stop = () => {
        schedulingDone = true;
        if (finishedCount === dispatchedCount) resolve();
        else onAllFinished = resolve;
      };
      const tick = () => {
        if (opts.signal?.aborted) return stop();
        const t = now();
        while (next < n && due[next]! <= t) {
          dispatchedCount++;
          send(next++);
        }
        if (next >= n) return stop();
        const wait = due[next]! - now();
        if (wait > spinMs) setTimeout(tick, wait - spinMs);
        else setImmediate(tick);
      };
      t0 = performance.now();
      tick();
    });
  } finally {
    clearInterval(sweep);
    agent.destroy();
  }

  const idx = Array.from({ length: n }, (_, i) => i);
  const responded = idx.filter((i) => outcome[i] === 'response');
  const written = idx.filter((i) => !Number.isNaN(sent[i]!));
  const statuses: Record<string, number> = {};
  let non2xx = 0;
  for (const i of responded) {
    statuses[String(status[i])] = (statuses[String(status[i])] ?? 0) + 1;
    if (status[i]! < 200 || status[i]! > 299) non2xx++;
  }
  // The schedule of k requests spans k intervals: [t0, t0 + k / rate).
  let elapsedMs = Math.max(dispatchedCount, 1) * intervalMs;
  for (const i of responded) elapsedMs = Math.max(elapsedMs, ended[i]!);
  const lag = written.map((i) => sent[i]! - due[i]!);
  return {
    rate: opts.rate,
    scheduled: n,
    dispatched: dispatchedCount,
    responses: responded.length,
    non2xx,
    errors: idx.filter((i) => outcome[i] === 'error').length,
    timeouts: idx.filter((i) => outcome[i] === 'timeout').length,
    statuses,
    elapsedMs: Math.round(elapsedMs * 100) / 100,
    achievedRps: Math.round((responded.length / (elapsedMs / 1000)) * 10) / 10,
    latencyFromDue: percentiles(responded.map((i) => ended[i]! - due[i]!)),
    latencyFromSend: percentiles(responded.map((i) => ended[i]! - sent[i]!)),
    sendLag: percentiles(lag),
    dispatchLag: percentiles(
      idx.filter((i) => !Number.isNaN(dispatched[i]!)).map((i) => dispatched[i]! - due[i]!),
    ),
    lateSends: lag.filter((l) => l > lateMs).length,
    lateMs,
    peakSockets,
    ...(opts.keepRecords
      ? {
          records: idx.map((i) => ({
            index: i,
            due: due[i]!,
            dispatched: dispatched[i]!,
            sent: sent[i]!,
            ended: ended[i]!,
            status: status[i]!,
            outcome: outcome[i]!,
          })),
        }
      : {}),
  };
}
