import { describe, expect, it } from 'vitest';
import { analysedFps, parseBenchArgs, UsageError } from '../../../tools/bench-fleet/args.js';

describe('bench-fleet arguments', () => {
  it('reads the contract options', () => {
    const a = parseBenchArgs([
      '--cameras',
      '6',
      '--fps',
      '2',
      '--duration',
      '90',
      '--out',
      'x.json',
      '--resolution',
      '1280x720',
      '--decode',
      'keyframes',
    ]);
    expect(a).toMatchObject({
      mode: 'pipeline',
      cameras: 6,
      fps: 2,
      durationS: 90,
      out: 'x.json',
      width: 1280,
      height: 720,
      decode: 'keyframes',
      ceilingDurationS: 30,
    });
  });

  it('defaults to 4 cameras of 1080p25 at 2 fps, with the configured decode mode and width', () => {
    expect(parseBenchArgs([], { decode: 'reduced', width: 512 })).toMatchObject({
      cameras: 4,
      fps: 2,
      durationS: 60,
      width: 1920,
      height: 1080,
      sourceFps: 25,
      decode: 'reduced',
      analysedWidth: 512,
      out: undefined,
      db: 'auto',
    });
  });

  it('defaults fleet388 to 388 small cameras, keyframes only, two ingest processes and a failover', () => {
    expect(parseBenchArgs(['--mode', 'fleet388'])).toMatchObject({
      mode: 'fleet388',
      cameras: 388,
      fps: 1,
      width: 320,
      height: 180,
      sourceFps: 1,
      decode: 'keyframes',
      analysedWidth: 320,
      ingestProcesses: 2,
      failover: true,
    });
    expect(parseBenchArgs(['--mode', 'fleet388', '--no-failover']).failover).toBe(false);
  });

  it('refuses nonsense with a usage error naming the option', () => {
    const bad: [string[], RegExp][] = [
      [['--cameras', '0'], /--cameras/],
      [['--cameras', '2.5'], /--cameras/],
      [['--fps', 'fast'], /--fps/],
      [['--resolution', '1080p'], /--resolution/],
      [['--resolution', '641x360'], /even/],
      [['--decode', 'some'], /--decode/],
      [['--mode', 'x'], /--mode/],
      [['--db', 'sqlite'], /--db/],
      [['--frobnicate'], /frobnicate/],
    ];
    for (const [argv, message] of bad) {
      expect(() => parseBenchArgs(argv)).toThrow(UsageError);
      expect(() => parseBenchArgs(argv)).toThrow(message);
    }
  });

  it('caps the analysed rate at the keyframe rate in keyframes mode only', () => {
    expect(analysedFps(2, 'keyframes', 1)).toBe(1);
    expect(analysedFps(0.5, 'keyframes', 1)).toBe(0.5);
    expect(analysedFps(2, 'all', 1)).toBe(2);
    expect(analysedFps(2, 'reduced', 1)).toBe(2);
  });
});
