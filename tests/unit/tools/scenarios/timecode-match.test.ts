import { describe, expect, it } from 'vitest';
import type { TruthAct } from '../../../../tools/scenarios/generate.js';
import { accumulate, finish, matchScenario, type RuleFigures } from '../../../../tools/scenarios/match.js';
import { readTimecode, timecodeStrip, TIMECODE_STRIP } from '../../../../tools/scenarios/timecode.js';

function frameWith(
  index: number,
  width = 1280,
  height = 720,
): { data: Uint8Array; width: number; height: number } {
  const data = new Uint8Array(width * height * 3).fill(90);
  const strip = timecodeStrip(index);
  for (let y = 0; y < TIMECODE_STRIP.height; y++)
    for (let x = 0; x < TIMECODE_STRIP.width; x++)
      for (let c = 0; c < 3; c++)
        data[((TIMECODE_STRIP.y + y) * width + TIMECODE_STRIP.x + x) * 3 + c] =
          strip[(y * TIMECODE_STRIP.width + x) * 3 + c]!;
  return { data, width, height };
}

/** Halves a frame (nearest pixel), as the ingest's scaling would. */
function half(f: { data: Uint8Array; width: number; height: number }) {
  const w = f.width / 2;
  const h = f.height / 2;
  const data = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++)
      for (let c = 0; c < 3; c++) data[(y * w + x) * 3 + c] = f.data[(2 * y * f.width + 2 * x) * 3 + c]!;
  return { data, width: w, height: h };
}

describe('timecode', () => {
  it('reads back every frame number, also from a frame scaled to half width', () => {
    for (const i of [0, 1, 2, 255, 399, 1234, 65535]) {
      expect(readTimecode(frameWith(i))).toBe(i);
      expect(readTimecode(half(frameWith(i)))).toBe(i);
    }
  });

  it('refuses a frame without a strip, and numbers that do not fit', () => {
    expect(readTimecode({ data: new Uint8Array(1280 * 720 * 3).fill(200), width: 1280, height: 720 })).toBe(
      undefined,
    );
    expect(() => timecodeStrip(65536)).toThrow(RangeError);
  });
});

const act = (rule: TruthAct['rule'], atS: number, plate: string, window = 0.8): TruthAct => ({
  rule,
  vehicle: plate,
  plate,
  atS,
  fromS: atS - window,
  toS: atS + window,
  details: {},
});

describe('matching recorded violations to the ground truth', () => {
  const truth = [
    act('red_light', 10, '30A11111'),
    act('red_light', 11, '30A22222'),
    act('speeding', 20, '30A33333'),
  ];

  it('matches by rule and time, counts a second row of one act as a duplicate and strays as false', () => {
    const rows = [
      { id: 1, rule: 'red_light', atS: 10.1, plate: '30A11111', trackKey: 'a' },
      { id: 2, rule: 'red_light', atS: 11.2, plate: '30A22222', trackKey: 'b' },
      { id: 3, rule: 'red_light', atS: 11.4, plate: null, trackKey: 'c' },
      { id: 4, rule: 'speeding', atS: 25, plate: '30A33333', trackKey: 'd' },
      { id: 5, rule: 'wrong_way', atS: 10, plate: '30A11111', trackKey: 'e' },
    ];
    const m = matchScenario(truth, rows);
    expect(m.verdicts.map((v) => [v.row.id, v.kind])).toEqual([
      [5, 'false'],
      [1, 'match'],
      [2, 'match'],
      [3, 'duplicate'],
      [4, 'false'],
    ]);
    expect(m.matched.map((r) => r?.id ?? null)).toEqual([1, 2, null]);
    const per = new Map<string, RuleFigures>();
    accumulate(per, truth, m);
    const red = finish(per.get('red_light')!);
    expect(red).toMatchObject({ n: 2, recorded: 3, matched: 2, duplicates: 1, plate_exact: 2 });
    expect(red.precision).toBeCloseTo(2 / 3, 4);
    expect(red.recall).toBe(1);
    const speeding = finish(per.get('speeding')!);
    expect(speeding).toMatchObject({ n: 1, matched: 0, recall: 0, false_flags: 1, precision: 0 });
  });

  it('prefers the act with the same plate when two are in reach', () => {
    const m = matchScenario(truth, [
      { id: 9, rule: 'red_light', atS: 10.5, plate: '30A22222', trackKey: 'x' },
    ]);
    expect(m.matched.map((r) => r?.id ?? null)).toEqual([null, 9, null]);
  });
});
