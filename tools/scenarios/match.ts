/**
 * Matching recorded violations to a scenario's ground truth, and the figures. Pure.
 *
 * A recorded row matches a ground-truth act of the same rule when its time (mapped to clip seconds) lies
 * in the act's window widened by `toleranceS`; among candidates the nearest in time wins, the same plate
 * breaking ties. The first row of an act is its match; further rows of the same act are duplicates (a
 * second fine for one act); rows matching nothing are false flags. Precision counts duplicates as wrong.
 */
import type { CoveredRule, TruthAct } from './generate.js';

export interface RecordedRow {
  id: number;
  rule: string;
  /** Clip seconds of observed_at. */
  atS: number;
  plate: string | null;
  trackKey: string;
}

export type RowVerdict =
  | { row: RecordedRow; kind: 'match'; act: number }
  | { row: RecordedRow; kind: 'duplicate'; act: number }
  | { row: RecordedRow; kind: 'false'; act: null };

export interface ScenarioMatch {
  verdicts: RowVerdict[];
  /** For each act (index in truth), the matching row, if any. */
  matched: (RecordedRow | null)[];
}

export function matchScenario(
  truth: readonly TruthAct[],
  rows: readonly RecordedRow[],
  toleranceS = 0.6,
): ScenarioMatch {
  const matched: (RecordedRow | null)[] = truth.map(() => null);
  const verdicts: RowVerdict[] = [];
  for (const row of [...rows].sort((a, b) => a.atS - b.atS || a.id - b.id)) {
    const candidates = truth
      .map((act, i) => ({ act, i }))
      .filter(
        ({ act }) =>
          act.rule === row.rule && row.atS >= act.fromS - toleranceS && row.atS <= act.toS + toleranceS,
      );
    if (candidates.length === 0) {
      verdicts.push({ row, kind: 'false', act: null });
      continue;
    }
    // Prefer an act not matched yet, then the same plate, then the nearest in time.
    candidates.sort(
      (a, b) =>
        Number(matched[a.i] !== null) - Number(matched[b.i] !== null) ||
        Number(b.act.plate === row.plate) - Number(a.act.plate === row.plate) ||
        Math.abs(a.act.atS - row.atS) - Math.abs(b.act.atS - row.atS),
    );
    const best = candidates[0]!;
    if (matched[best.i] === null) {
      matched[best.i] = row;
      verdicts.push({ row, kind: 'match', act: best.i });
    } else verdicts.push({ row, kind: 'duplicate', act: best.i });
  }
  return { verdicts, matched };
}

export interface RuleFigures {
  n: number;
  recorded: number;
  matched: number;
  false_flags: number;
  duplicates: number;
  plate_exact: number;
  precision: number | null;
  recall: number | null;
  plate_exact_rate: number | null;
}

export function emptyFigures(): RuleFigures {
  return {
    n: 0,
    recorded: 0,
    matched: 0,
    false_flags: 0,
    duplicates: 0,
    plate_exact: 0,
    precision: null,
    recall: null,
    plate_exact_rate: null,
  };
}

/** Adds one scenario's outcome to per-rule counters (keys: rule codes, recorded ones included). */
export function accumulate(
  into: Map<string, RuleFigures>,
  truth: readonly TruthAct[],
  m: ScenarioMatch,
): void {
  const get = (rule: string) => {
    let f = into.get(rule);
    if (!f) into.set(rule, (f = emptyFigures()));
    return f;
  };
  for (const [i, act] of truth.entries()) {
    const f = get(act.rule);
    f.n += 1;
    const row = m.matched[i];
    if (row) {
      f.matched += 1;
      if (row.plate === act.plate) f.plate_exact += 1;
    }
  }
  for (const v of m.verdicts) {
    const f = get(v.row.rule);
    f.recorded += 1;
    if (v.kind === 'false') f.false_flags += 1;
    if (v.kind === 'duplicate') f.duplicates += 1;
  }
}

export function finish(f: RuleFigures): RuleFigures {
  const r = (v: number) => Math.round(v * 10_000) / 10_000;
  return {
    ...f,
    precision: f.recorded ? r(f.matched / f.recorded) : null,
    recall: f.n ? r(f.matched / f.n) : null,
    plate_exact_rate: f.matched ? r(f.plate_exact / f.matched) : null,
  };
}

export function isCovered(rule: string, covered: readonly CoveredRule[]): boolean {
  return (covered as readonly string[]).includes(rule);
}
