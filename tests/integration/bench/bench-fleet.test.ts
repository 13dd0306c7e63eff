/**
 * The fleet benchmark's contract (`npm run bench:fleet`): a few seconds of one small camera through the
 * whole chain (real GStreamer RTSP server, ffmpeg, detector, Redis, PostgreSQL), then the JSON it writes
 * and the summary it prints. Checks the shape and the internal consistency of the figures, never how fast
 * anything is (that is the benchmark's job, docs/PERFORMANCE.md).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkSimulatorPrerequisites } from '../../../ingest/sim/simulated-fleet.js';
import type { Fleet388Report } from '../../../tools/bench-fleet/fleet388.js';
import type { PipelineReport } from '../../../tools/bench-fleet/pipeline-run.js';

const ROOT = path.resolve(import.meta.dirname, '../../..');
const simulator = await checkSimulatorPrerequisites();
if (!simulator.ok) console.warn(`[bench-fleet] skipped: ${simulator.reason}`);

function bench(args: string[], env: NodeJS.ProcessEnv = {}) {
  return promisify(execFile)('npx', ['tsx', 'tools/bench-fleet.ts', ...args], {
    cwd: ROOT,
    env: { ...process.env, LOG_LEVEL: 'warn', ...env },
    maxBuffer: 16 * 1024 * 1024,
    timeout: 240_000,
  });
}

const finitePositive = (v: unknown) => typeof v === 'number' && Number.isFinite(v) && v > 0;

describe.skipIf(!simulator.ok)('bench:fleet', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'bench-fleet-'));
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('runs one small camera through the chain and reports capacity, ceiling, shares, frames and latency', async () => {
    const out = path.join(dir, 'pipeline.json');
    const { stdout, stderr } = await bench([
      '--cameras',
      '1',
      '--fps',
      '2',
      '--duration',
      '4',
      '--resolution',
      '320x180',
      '--decode',
      'keyframes',
      '--ceiling-duration',
      '2',
      '--warmup',
      '1',
      '--out',
      out,
    ]);
    const r = JSON.parse(await readFile(out, 'utf8')) as PipelineReport & { command: string };

    expect(r).toMatchObject({ schema: 'phat-nguoi/bench-fleet@1', mode: 'pipeline' });
    expect(r.command).toContain('--cameras 1');
    expect(r.config).toMatchObject({ cameras: 1, fps: 2, decode: 'keyframes', resolution: '320x180' });
    // Keyframes only, one a second: the analysed rate is min(2, 1).
    expect(r.config.analysed_fps).toBe(1);
    expect(r.machine.nproc).toBeGreaterThanOrEqual(1);
    expect(typeof r.machine.cpu_model).toBe('string');
    expect(r.machine.load_average_start).toHaveLength(3);

    expect(finitePositive(r.cameras_per_core)).toBe(true);
    expect(r.capacity.cameras_per_core).toBe(r.cameras_per_core);
    expect(typeof r.sustained).toBe('boolean');
    expect(finitePositive(r.decode_ceiling?.cameras_per_core)).toBe(true);
    expect(r.ratio_to_decode_ceiling).toBeCloseTo(r.cameras_per_core / r.decode_ceiling!.cameras_per_core, 2);

    const { shares } = r.cpu;
    for (const s of [shares.decode, shares.inference, shares.rest]) {
      expect(s).toBeGreaterThanOrEqual(0);
      expect(s).toBeLessThanOrEqual(1);
    }
    expect(shares.decode + shares.inference + shares.rest).toBeCloseTo(1, 3);
    expect(r.cpu.decode_s).toBeGreaterThan(0);
    expect(r.cpu.system_s).toBeGreaterThanOrEqual(r.cpu.decode_s);

    const f = r.frames;
    expect(f.per_camera).toHaveLength(1);
    expect(f.processed).toBeGreaterThan(0);
    expect(f.processed).toBeLessThanOrEqual(f.received);
    // Every frame received was analysed, dropped for a newer one, or is still in flight.
    expect(Math.abs(f.received - f.processed - f.dropped)).toBeLessThanOrEqual(2);
    // No frame is repeated to fill the rate: at most one a second (plus the edges of the window).
    expect(f.received).toBeLessThanOrEqual(Math.ceil(r.config.duration_s) + 2);

    const v = r.violations;
    expect(v.latency_ms.count).toBe(v.measured);
    expect(v.latency_ms.p95_ms === null || v.latency_ms.p95_ms >= (v.latency_ms.p50_ms ?? 0)).toBe(true);
    expect(v.note).toMatch(/after/);

    expect(stdout).toMatch(/cameras per core/);
    expect(stdout).toMatch(/decode-only ceiling/);
    expect(stdout).toMatch(/BF-001 │/);
    expect(stderr).toMatch(/all cameras up/);
  }, 240_000);

  // Minutes of two real ingest processes on a 2-vCPU machine: run by `npm run soak` (PN_SOAK=1), not by CI.
  it.skipIf(!process.env['PN_SOAK'])(
    'fleet388 mode: shares the cameras between two real ingest processes and moves them when one dies',
    async () => {
      const out = path.join(dir, 'fleet.json');
      const { stdout } = await bench(
        ['--mode', 'fleet388', '--cameras', '4', '--duration', '3', '--warmup', '1', '--out', out],
        { INGEST_LEASE_MS: '3000' },
      );
      const r = JSON.parse(await readFile(out, 'utf8')) as Fleet388Report;
      expect(r).toMatchObject({ schema: 'phat-nguoi/bench-fleet@1', mode: 'fleet388' });
      expect(r.config).toMatchObject({
        cameras: 4,
        ingest_processes: 2,
        decode: 'keyframes',
        lease_ms: 3000,
      });
      expect(r.time_to_all_up_s).toBeGreaterThan(0);
      expect(r.cameras_up.end).toBe(4);
      expect(Object.values(r.assignment).reduce((a, b) => a + b, 0)).toBe(4);
      expect(Object.keys(r.assignment).every((k) => /^ingest-\d$/.test(k))).toBe(true);
      expect(r.frames_per_camera.received.min).toBeGreaterThan(0);
      expect(r.failover).not.toBeNull();
      expect(r.failover!.cameras_moved).toBeGreaterThan(0);
      expect(r.failover!.all_up_s).toBeGreaterThan(0);
      expect(stdout).toMatch(/failover/);
    },
    240_000,
  );
});
