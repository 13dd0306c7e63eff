/**
 * The open-loop load generator of bench:api (tools/bench-api/open-loop.ts) against local HTTP servers
 * made here: the schedule, a stall charged from the due time, a slow server, outcome counts, abort.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { percentiles, runOpenLoop, type OpenLoopRecord } from '../../../tools/bench-api/open-loop.js';

// Timings on a shared, loaded machine vary a lot: these tests check structure, counts and orderings,
// with tolerances far wider than what separates an even schedule from a bursty one or a stall from none.

type Handler = (i: number, req: http.IncomingMessage, res: http.ServerResponse) => void;

let server: http.Server | undefined;

async function serve(handler: Handler): Promise<string> {
  server = http.createServer((req, res) => {
    const i = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('i'));
    req.resume();
    req.on('end', () => handler(i, req, res));
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

afterEach(async () => {
  const s = server;
  server = undefined;
  if (!s) return;
  s.closeAllConnections();
  await new Promise((resolve) => s.close(resolve));
});

const ok: Handler = (_i, _req, res) => res.end('ok');
const byIndex = (i: number) => ({ method: 'GET', path: `/r?i=${i}` });

describe('open-loop load generator', () => {
  it('schedules request i at i / rate from t0 and never sends one early', async () => {
    const url = await serve(ok);
    const r = await runOpenLoop({
      url,
      rate: 200,
      durationS: 0.3,
      connections: 10,
      request: byIndex,
      keepRecords: true,
    });
    const records = r.records!;
    expect(r.scheduled).toBe(60);
    expect(r.dispatched).toBe(60);
    expect(r.responses).toBe(60);
    expect(r.statuses).toEqual({ '200': 60 });
    expect(r.non2xx + r.errors + r.timeouts).toBe(0);
    // Due times are exactly i / rate, whatever the machine did: no drift.
    records.forEach((rec, i) => expect(rec.due).toBeCloseTo(i * 5, 9));
    // Never before its due time (so never in a burst ahead of plan), in order; written no sooner than
    // handed over; answered after written.
    records.forEach((rec, i) => {
      expect(rec.dispatched).toBeGreaterThanOrEqual(rec.due);
      if (i > 0) expect(rec.dispatched).toBeGreaterThanOrEqual(records[i - 1]!.dispatched);
      expect(rec.sent).toBeGreaterThanOrEqual(rec.dispatched);
      expect(rec.ended).toBeGreaterThanOrEqual(rec.sent);
    });
    // The pool opens no more sockets than the cap.
    expect(r.peakSockets).toBeGreaterThanOrEqual(1);
    expect(r.peakSockets).toBeLessThanOrEqual(10);
    expect(r.latencyFromDue.p50).toBeLessThanOrEqual(r.latencyFromDue.p99);
    expect(r.latencyFromDue.p99).toBeLessThanOrEqual(r.latencyFromDue.max);
    expect(r.achievedRps).toBeLessThanOrEqual(200);
  });

  it('charges a stall to the requests queued behind it, from their due time', async () => {
    const STALLED = 2;
    const url = await serve((i, _req, res) => {
      if (i === STALLED) setTimeout(() => res.end('late'), 300);
      else res.end('ok');
    });
    const r = await runOpenLoop({
      url,
      rate: 50,
      durationS: 0.6,
      connections: 1,
      request: byIndex,
      keepRecords: true,
    });
    expect(r.responses).toBe(30);
    expect(r.peakSockets).toBe(1);
    const rec = r.records!;
    const stalled = rec[STALLED]!;
    expect(stalled.ended - stalled.sent).toBeGreaterThanOrEqual(295);
    // The next request was due 20 ms after the stalled one but could not be written until it ended:
    // most of the stall is in its latency from due time, and in its send lag, not in its latency from send.
    const behind = rec[STALLED + 1]!;
    expect(behind.sent).toBeGreaterThanOrEqual(stalled.ended);
    expect(behind.ended - behind.due).toBeGreaterThan(250);
    expect(behind.sent - behind.due).toBeGreaterThan(250);
    expect(behind.ended - behind.due).toBeGreaterThan(behind.ended - behind.sent + 200);
    // Every request due during the stall waited for it.
    const queued = rec.filter((x) => x.due > stalled.due && x.due < stalled.ended);
    expect(queued.length).toBeGreaterThanOrEqual(10);
    for (const x of queued) expect(x.sent).toBeGreaterThanOrEqual(stalled.ended);
    // The stall reaches the high percentiles and the late-send count.
    expect(r.latencyFromDue.max).toBeGreaterThanOrEqual(295);
    expect(r.latencyFromDue.max).toBeGreaterThan(r.latencyFromSend.p50 + 200);
    // About half the requests waited for it: p90 from due time shows it, p90 from send does not.
    expect(r.latencyFromDue.p90).toBeGreaterThan(r.latencyFromSend.p90 + 150);
    expect(r.sendLag.max).toBeGreaterThan(250);
    expect(r.lateSends).toBeGreaterThanOrEqual(queued.length);
    // The schedule did not wait for the stall: requests due well before it ended were handed to the
    // pool before it ended (a closed-loop generator would hand them over only after).
    const dueEarly = rec.filter((x) => x.due > stalled.due && x.due < stalled.ended - 50);
    expect(dueEarly.length).toBeGreaterThanOrEqual(5);
    for (const x of dueEarly) expect(x.dispatched).toBeLessThan(stalled.ended);
  });

  it('reports the rate the server achieved, not the rate asked, when it falls behind', async () => {
    // One connection to a server that takes 25 ms a request: at most 40 answers a second, 100 asked.
    const url = await serve((_i, _req, res) => setTimeout(() => res.end('ok'), 25));
    const r = await runOpenLoop({
      url,
      rate: 100,
      durationS: 0.3,
      connections: 1,
      request: byIndex,
      keepRecords: true,
    });
    expect(r.responses).toBe(30);
    expect(r.achievedRps).toBeLessThan(60);
    expect(r.elapsedMs).toBeGreaterThan(700);
    // The backlog grows along the run, and the latency from due time with it.
    const rec = r.records!;
    const fromDue = (x: OpenLoopRecord) => x.ended - x.due;
    expect(fromDue(rec.at(-1)!)).toBeGreaterThan(fromDue(rec[0]!) + 300);
    expect(r.sendLag.max).toBeGreaterThan(300);
  });

  it('counts non-2xx answers, errors and timeouts apart', async () => {
    const url = await serve((i, req, res) => {
      if (i === 7) req.socket.destroy();
      else if (i === 11)
        return; // never answered
      else if (i === 13) {
        // Cut off in the middle of its body.
        res.writeHead(200, { 'content-length': '100' });
        res.write('abc', () => setTimeout(() => req.socket.destroy(), 20));
      } else if (i % 5 === 0) {
        res.statusCode = 503;
        res.end('busy');
      } else res.end('ok');
    });
    const r = await runOpenLoop({
      url,
      rate: 100,
      durationS: 0.3,
      connections: 4,
      request: (i) => {
        if (i === 17) throw new Error('cannot build request 17');
        return byIndex(i);
      },
      timeoutMs: 400,
      keepRecords: true,
    });
    const outcomes = (o: OpenLoopRecord['outcome']) => r.records!.filter((x) => x.outcome === o);
    expect(r.scheduled).toBe(30);
    expect(r.dispatched).toBe(30);
    expect(r.non2xx).toBe(6); // 0, 5, 10, 15, 20, 25
    expect(r.statuses).toEqual({ '200': 20, '503': 6 });
    expect(r.errors).toBe(3);
    expect(outcomes('error').map((x) => x.index)).toEqual([7, 13, 17]);
    expect(outcomes('error').every((x) => x.status === 0)).toBe(true);
    expect(r.timeouts).toBe(1);
    expect(outcomes('timeout').map((x) => x.index)).toEqual([11]);
    expect(outcomes('timeout')[0]!.ended - outcomes('timeout')[0]!.dispatched).toBeGreaterThanOrEqual(400);
    expect(r.responses).toBe(26);
  });

  it('stops scheduling when aborted and waits for what it sent', async () => {
    const url = await serve(ok);
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 150);
    const r = await runOpenLoop({
      url,
      rate: 100,
      durationS: 5,
      connections: 4,
      request: byIndex,
      signal: controller.signal,
    });
    expect(r.scheduled).toBe(500);
    expect(r.dispatched).toBeGreaterThan(0);
    expect(r.dispatched).toBeLessThan(100);
    expect(r.responses + r.errors + r.timeouts).toBe(r.dispatched);
  });

  it('spreads poisson arrivals with the asked mean rate, the same schedule for the same seed', async () => {
    const url = await serve(ok);
    const run = (seed: number) =>
      runOpenLoop({
        url,
        rate: 400,
        durationS: 0.5,
        connections: 20,
        request: byIndex,
        keepRecords: true,
        arrivals: 'poisson',
        seed,
      });
    const a = await run(7);
    const b = await run(7);
    const c = await run(8);
    const due = (r: Awaited<ReturnType<typeof run>>) => r.records!.map((x) => x.due);
    expect(due(a)).toEqual(due(b));
    expect(due(a)).not.toEqual(due(c));
    const gaps = due(a)
      .slice(1)
      .map((t, i) => t - due(a)[i]!);
    expect(gaps.every((g) => g >= 0)).toBe(true);
    const mean = gaps.reduce((x, y) => x + y, 0) / gaps.length;
    const sd = Math.sqrt(gaps.reduce((x, g) => x + (g - mean) ** 2, 0) / gaps.length);
    // Exponential gaps: mean 1 / rate (2.5 ms), standard deviation about the mean (even spacing: 0).
    expect(mean).toBeGreaterThan(2.5 * 0.7);
    expect(mean).toBeLessThan(2.5 * 1.3);
    expect(sd / mean).toBeGreaterThan(0.6);
    expect(a.responses).toBe(200);
  });

  it('rejects a schedule it cannot run', async () => {
    const base = { url: 'http://127.0.0.1:1', durationS: 1, connections: 1, request: byIndex };
    await expect(runOpenLoop({ ...base, rate: 0 })).rejects.toThrow(/rate/);
    await expect(runOpenLoop({ ...base, rate: 1, connections: 0 })).rejects.toThrow(/connections/);
    await expect(runOpenLoop({ ...base, rate: 1, url: 'https://127.0.0.1:1' })).rejects.toThrow(/http/);
    await expect(runOpenLoop({ ...base, rate: 1, spinMs: -1 })).rejects.toThrow(/spinMs/);
  });
});

describe('percentiles', () => {
  it('takes nearest-rank percentiles and ignores missing values', () => {
    const values = Array.from({ length: 100 }, (_, i) => 100 - i); // 100 … 1
    expect(percentiles([...values, NaN])).toEqual({ p50: 50, p90: 90, p99: 99, max: 100 });
    expect(percentiles([7])).toEqual({ p50: 7, p90: 7, p99: 7, max: 7 });
    expect(Number.isNaN(percentiles([]).p50)).toBe(true);
  });
});
