import { describe, expect, it } from 'vitest';
import {
  barChart,
  capacity,
  cpuShares,
  decodeCamerasPerCore,
  firstAtOrAfter,
  percentile,
  summarizeLatencies,
} from '../../../tools/bench-fleet/stats.js';
import { parseCpuModel } from '../../../tools/bench-fleet/machine.js';

describe('percentile', () => {
  it('interpolates linearly between closest ranks', () => {
    const v = [15, 20, 35, 40, 50];
    expect(percentile(v, 0)).toBe(15);
    expect(percentile(v, 50)).toBe(35);
    expect(percentile(v, 100)).toBe(50);
    expect(percentile(v, 40)).toBeCloseTo(29); // rank 1.6: 20 + 0.6 × 15
    expect(percentile([1, 2, 3, 4], 95)).toBeCloseTo(3.85);
  });

  it('does not depend on input order and leaves the input alone', () => {
    const v = [40, 15, 50, 35, 20];
    expect(percentile(v, 50)).toBe(35);
    expect(v).toEqual([40, 15, 50, 35, 20]);
  });

  it('is NaN for no values and refuses a percentile outside 0..100', () => {
    expect(percentile([], 50)).toBeNaN();
    expect(() => percentile([1], 101)).toThrow(RangeError);
  });

  it('summarizes latencies, or says there were none', () => {
    expect(summarizeLatencies([1000, 2000, 3000, 4000, 5000])).toEqual({
      count: 5,
      p50_ms: 3000,
      p95_ms: 4800,
      max_ms: 5000,
    });
    expect(summarizeLatencies([])).toEqual({ count: 0, p50_ms: null, p95_ms: null, max_ms: null });
  });
});

describe('firstAtOrAfter', () => {
  it('finds the frame in which an act between two frames was seen', () => {
    const frames = [1000, 1500, 2000, 2500];
    expect(firstAtOrAfter(frames, 1700)).toBe(2000);
    expect(firstAtOrAfter(frames, 2000)).toBe(2000);
    expect(firstAtOrAfter(frames, 500)).toBe(1000);
    expect(firstAtOrAfter(frames, 2600)).toBeUndefined();
  });
});

describe('capacity', () => {
  it('counts every camera when the run kept up with the sampling', () => {
    // 4 cameras × 2 fps × 60 s = 480 frames expected; 470 processed (97.9 %) on 0.5 cores.
    const c = capacity({ cameras: 4, analysedFps: 2, durationS: 60, framesProcessed: 470, cpuSeconds: 30 });
    expect(c).toMatchObject({ expected_frames: 480, sustained: true, cores_used: 0.5, effective_cameras: 4 });
    expect(c.cameras_per_core).toBe(8);
  });

  it('counts only the cameras actually served when frames were lost', () => {
    // Half the frames analysed: two cameras' worth, on 0.9 cores.
    const c = capacity({ cameras: 4, analysedFps: 2, durationS: 60, framesProcessed: 240, cpuSeconds: 54 });
    expect(c.sustained).toBe(false);
    expect(c.effective_cameras).toBe(2);
    expect(c.cameras_per_core).toBeCloseTo(2.222, 3);
  });

  it('puts the threshold at 95 % of the configured sampling', () => {
    const at = (processed: number) =>
      capacity({ cameras: 1, analysedFps: 1, durationS: 100, framesProcessed: processed, cpuSeconds: 10 })
        .sustained;
    expect(at(95)).toBe(true);
    expect(at(94)).toBe(false);
  });

  it('refuses a run of no cameras or no time', () => {
    expect(() =>
      capacity({ cameras: 0, analysedFps: 2, durationS: 60, framesProcessed: 0, cpuSeconds: 1 }),
    ).toThrow(RangeError);
  });

  it('gives the decode-only ceiling in cameras per core and the shares of the CPU', () => {
    expect(decodeCamerasPerCore(4, 16.5, 30)).toBeCloseTo(7.273, 3);
    expect(cpuShares(50, 37, 10)).toEqual({ decode: 0.74, inference: 0.2, rest: 0.06 });
    // Inference can never push the rest below zero.
    expect(cpuShares(10, 8, 5)).toEqual({ decode: 0.8, inference: 0.2, rest: 0 });
    expect(cpuShares(0, 0, 0)).toEqual({ decode: 0, inference: 0, rest: 0 });
  });
});

describe('barChart', () => {
  it('scales bars to the maximum and prints value and note', () => {
    const text = barChart(
      [
        { label: 'cam-1', value: 2, note: 'ok' },
        { label: 'cam-22', value: 1 },
        { label: 'c', value: 0 },
      ],
      { width: 10, scaleMax: 2, unit: 'fps' },
    );
    const lines = text.split('\n');
    expect(lines[0]).toBe('cam-1  │██████████ 2.00 fps  ok');
    expect(lines[1]).toBe('cam-22 │█████      1.00 fps');
    expect(lines[2]).toBe('c      │           0.00 fps');
  });

  it('draws partial cells in eighths', () => {
    expect(barChart([{ label: 'x', value: 1.5 }], { width: 4, scaleMax: 4, decimals: 1 })).toBe(
      'x │█▌   1.5',
    );
  });
});

describe('parseCpuModel', () => {
  it('reads the model name of /proc/cpuinfo', () => {
    expect(
      parseCpuModel('processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC\nflags\t: fpu\n'),
    ).toBe('AMD EPYC');
    expect(parseCpuModel('')).toBe('unknown');
  });
});
