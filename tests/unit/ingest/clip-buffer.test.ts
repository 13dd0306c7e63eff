import { describe, expect, it } from 'vitest';
import { parseSegmentLine, selectSegments, type TimedSegment } from '../../../ingest/clip-buffer.js';

describe('parseSegmentLine', () => {
  it('reads the file and the stream seconds of a CSV segment list line', () => {
    expect(parseSegmentLine('seg-004.ts,9.000000,10.040000')).toEqual({
      file: 'seg-004.ts',
      startS: 9,
      endS: 10.04,
    });
    expect(parseSegmentLine('"odd,name.ts",1.5,2.5')).toEqual({
      file: 'odd,name.ts',
      startS: 1.5,
      endS: 2.5,
    });
  });

  it('refuses lines that are not segment entries', () => {
    expect(parseSegmentLine('')).toBeUndefined();
    expect(parseSegmentLine('seg-001.ts,abc,2')).toBeUndefined();
    expect(parseSegmentLine('seg-001.ts,3.0,2.0')).toBeUndefined();
    expect(parseSegmentLine('[segment @ 0x55] Opening seg-001.ts')).toBeUndefined();
  });
});

/** One-second segments from `startAt`, seq from `seq0`. */
function seconds(n: number, startAt: number, seq0 = 0): TimedSegment[] {
  return Array.from({ length: n }, (_, i) => ({
    seq: seq0 + i,
    file: `seg-${String((seq0 + i) % 22).padStart(3, '0')}.ts`,
    startAt: startAt + i * 1000,
    endAt: startAt + (i + 1) * 1000,
  }));
}

describe('selectSegments', () => {
  const t0 = 1_000_000;

  it('takes the segments overlapping the span, and says when they cover it', () => {
    const pick = selectSegments(seconds(20, t0), t0 + 4_500, t0 + 11_500);
    expect(pick.segments.map((s) => s.seq)).toEqual([4, 5, 6, 7, 8, 9, 10, 11]);
    expect(pick.covers).toBe(true);
    expect(pick.segments[0]!.startAt).toBeLessThanOrEqual(t0 + 4_500);
    expect(pick.segments.at(-1)!.endAt).toBeGreaterThanOrEqual(t0 + 11_500);
  });

  it('reports a span running past the recording as not covered', () => {
    const pick = selectSegments(seconds(10, t0), t0 + 6_500, t0 + 13_500);
    expect(pick.segments.map((s) => s.seq)).toEqual([6, 7, 8, 9]);
    expect(pick.covers).toBe(false);
  });

  it('never joins across a lost segment: the larger consecutive block wins', () => {
    const segs = seconds(20, t0).filter((s) => s.seq !== 6);
    const pick = selectSegments(segs, t0 + 4_500, t0 + 11_500);
    expect(pick.segments.map((s) => s.seq)).toEqual([7, 8, 9, 10, 11]);
    expect(pick.covers).toBe(false);
  });

  it('never joins across a jump in time between consecutive segments', () => {
    const segs = seconds(20, t0).map((s) =>
      s.seq >= 8 ? { ...s, startAt: s.startAt + 5000, endAt: s.endAt + 5000 } : s,
    );
    const pick = selectSegments(segs, t0 + 2_500, t0 + 9_500);
    expect(pick.segments.map((s) => s.seq)).toEqual([2, 3, 4, 5, 6, 7]);
    expect(pick.covers).toBe(false);
  });

  it('finds nothing when the recording does not reach the span', () => {
    expect(selectSegments(seconds(5, t0), t0 + 10_000, t0 + 17_000)).toEqual({ segments: [], covers: false });
    expect(selectSegments([], t0, t0 + 7000)).toEqual({ segments: [], covers: false });
  });
});
