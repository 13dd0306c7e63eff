import { describe, expect, it } from 'vitest';
import type { TruthAct } from '../../../../tools/scenarios/generate.js';
import type { RecordedRow } from '../../../../tools/scenarios/match.js';
import { speedMeasurement, withinEvaluated, type ScenarioOutcome } from '../../../../tools/scenarios/run.js';

const act = (rule: TruthAct['rule'], fromS: number, toS: number, vehicle: string): TruthAct => ({
  rule,
  vehicle,
  plate: `30A${vehicle}`,
  atS: fromS,
  fromS,
  toS,
  details: {},
});
const row = (id: number, rule: string, atS: number): RecordedRow => ({
  id,
  rule,
  atS,
  plate: null,
  trackKey: `k${id}`,
});

describe('scenario evaluation window', () => {
  const frames = { clip_from_s: 1.3, clip_to_s: 39.5 };

  it('leaves out acts that began before the evaluated part, and the rows that record them', () => {
    const truth = [act('sidewalk', 0.9, 6.9, '01'), act('sidewalk', 10, 15, '02')];
    const rows = [row(1, 'sidewalk', 3.5), row(2, 'sidewalk', 11)];
    const { seen, rows: scored } = withinEvaluated(truth, rows, frames);
    expect(seen.map((a) => a.vehicle)).toEqual(['02']);
    expect(scored.map((r) => r.id)).toEqual([2]);
  });

  it('keeps a row that matches no act at all: it is a false flag', () => {
    const truth = [act('sidewalk', 0.9, 6.9, '01')];
    const rows = [row(1, 'wrong_way', 3.5), row(2, 'sidewalk', 20)];
    expect(withinEvaluated(truth, rows, frames).rows.map((r) => r.id)).toEqual([1, 2]);
  });

  it('leaves out acts the rules cannot establish at the frame rate, and the rows that record them all the same', () => {
    const fast = { ...act('wrong_lane', 10, 13, '05'), unobservable: true };
    const truth = [fast, act('wrong_lane', 20, 25, '06')];
    const rows = [row(1, 'wrong_lane', 12), row(2, 'wrong_lane', 21), row(3, 'wrong_lane', 30)];
    const { seen, rows: scored } = withinEvaluated(truth, rows, frames);
    expect(seen.map((a) => a.vehicle)).toEqual(['06']);
    // Row 3 matches nothing: still a false flag.
    expect(scored.map((r) => r.id)).toEqual([2, 3]);
  });

  it('leaves out acts whose window ends more than 2 s after the last analysed frame', () => {
    const truth = [act('wrong_lane', 30, 41.6, '03'), act('wrong_lane', 30, 41.4, '04')];
    expect(withinEvaluated(truth, [], frames).seen.map((a) => a.vehicle)).toEqual(['04']);
  });
});

describe('speed measurement against the truth', () => {
  const outcome = (pairs: [number, number][]) =>
    ({
      verdicts: pairs.map(([measured_kmh, truth_kmh], i) => ({ id: i, measured_kmh, truth_kmh })),
    }) as unknown as ScenarioOutcome;

  it('reports the error of each matched speeding row and how many exceed the tolerance', () => {
    const m = speedMeasurement(
      [
        outcome([
          [91.65, 88.4],
          [64.2, 65],
        ]),
        outcome([[70.5, 70]]),
      ],
      3,
    );
    expect(m).toEqual({
      n: 3,
      tolerance_kmh: 3,
      error_kmh: { mean: 0.98, median: 0.5, min: -0.8, max: 3.25 },
      over_tolerance: 1,
    });
  });

  it('says so when no speeding row was matched', () => {
    expect(speedMeasurement([outcome([])], 3)).toEqual({ n: 0, tolerance_kmh: 3 });
  });
});
