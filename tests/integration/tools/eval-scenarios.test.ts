/**
 * `npm run eval:scenarios` end to end on one short seeded scenario: the clip rendered from real car
 * photos with Vietnamese plates, served over RTSP by the simulated fleet, ingested by ffmpeg, through the
 * real detector, tracker, rules, plate reader, signed evidence, BullMQ and a throwaway PostgreSQL
 * database, matched to the ground truth and every bundle re-verified. Seed 3 at 20 s is a signalled
 * approach under a fixed-time plan with two red-light runners and two vehicles that must not be flagged.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { checkSimulatorPrerequisites } from '../../../ingest/sim/simulated-fleet.js';

const run = promisify(execFile);
const SHARED = path.resolve(process.env['SHARED_DIR'] ?? '../shared');
const PHOTOS = path.join(SHARED, 'data', 'plates-endtoend');
const photosPresent = await fs
  .stat(PHOTOS)
  .then(() => true)
  .catch(() => false);
const sim = await checkSimulatorPrerequisites();
const skip = !photosPresent ? `${PHOTOS} is absent (set SHARED_DIR)` : !sim.ok ? sim.reason : undefined;
if (skip) console.warn(`[eval-scenarios] skipped: ${skip}`);

describe.skipIf(skip !== undefined)('npm run eval:scenarios', () => {
  it('runs one seeded scenario through the chain and reports rule figures with verified evidence', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pn-eval-scenarios-'));
    const out = path.join(dir, 'report.json');
    try {
      const { stdout } = await run(
        process.execPath,
        [
          path.resolve('node_modules/tsx/dist/cli.mjs'),
          'tools/eval-scenarios.ts',
          '--seed',
          '3',
          '--count',
          '1',
          '--duration',
          '20',
          '--out',
          out,
        ],
        { env: { ...process.env, SHARED_DIR: SHARED, LOG_LEVEL: 'warn' }, maxBuffer: 16 * 1024 * 1024 },
      );
      expect(stdout).toContain('red_light');
      const report = JSON.parse(await fs.readFile(out, 'utf8'));
      expect(report.schema).toBe('phat-nguoi/eval-scenarios@1');
      expect(report.scenarios).toHaveLength(1);
      const s = report.scenarios[0];
      expect(s.error).toBeNull();
      expect(s.site).toBe('signal');
      expect(s.frames.analysed).toBeGreaterThan(15);
      expect(s.frames.unreadable_timecode).toBe(0);
      // Ground truth: the red-light runners the script commits inside the evaluated part of the clip.
      expect(report.n).toBeGreaterThanOrEqual(1);
      expect(report.per_rule.red_light.n).toBe(report.n);
      // The chain flags at least one of them, and every recorded row's bundle verifies.
      expect(report.per_rule.red_light.matched).toBeGreaterThanOrEqual(1);
      expect(report.bundles_failed).toBe(0);
      expect(report.bundles_verified).toBe(s.recorded);
      expect(typeof report.precision).toBe('number');
      expect(typeof report.recall).toBe('number');
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  }, 180_000);

  it('replays the clip frame for frame (--replay): every analysed frame, no RTSP', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pn-eval-replay-'));
    const out = path.join(dir, 'report.json');
    try {
      await run(
        process.execPath,
        [
          path.resolve('node_modules/tsx/dist/cli.mjs'),
          'tools/eval-scenarios.ts',
          ...['--seed', '3', '--count', '1', '--duration', '20', '--replay', '--out', out],
        ],
        { env: { ...process.env, SHARED_DIR: SHARED, LOG_LEVEL: 'warn' }, maxBuffer: 16 * 1024 * 1024 },
      );
      const report = JSON.parse(await fs.readFile(out, 'utf8'));
      expect(report.config.source).toBe('replay');
      expect(report.config.detector_model).toMatch(/^nanodet-coco\/\d+$/);
      expect(report.config.detection_tiles).toBe(true);
      // A signalled scene has no speed gate: nothing to compare, and the report says so.
      expect(report.speed_measurement).toMatchObject({ n: 0, tolerance_kmh: 3 });
      const s = report.scenarios[0];
      expect(s.error).toBeNull();
      // 20 s at 2 fps, one pass: every decoded frame reaches the engine (but one that ends the pass).
      expect(s.frames.received).toBeGreaterThanOrEqual(39);
      expect(s.frames.analysed).toBeGreaterThanOrEqual(s.frames.received - 1);
      expect(s.frames.unreadable_timecode).toBe(0);
      // Nothing is lost to the machine's load, so both scripted runners are flagged, and no one else.
      expect(report.per_rule.red_light.n).toBeGreaterThanOrEqual(1);
      expect(report.per_rule.red_light.matched).toBe(report.per_rule.red_light.n);
      expect(report.false_flags).toBe(0);
      expect(report.bundles_failed).toBe(0);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  }, 180_000);
});
