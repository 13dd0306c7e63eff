import { describe, expect, it } from 'vitest';
import { assign } from '../../../violations/assignment.js';

const total = (cost: number[][], pairs: [number, number][]) =>
  pairs.reduce((s, [i, j]) => s + cost[i]![j]!, 0);

describe('minimum-cost assignment', () => {
  it('finds the optimum where greedy picking would not', () => {
    // Greedy takes (0,0) = 1 first and must then pay 10; the optimum is (0,1) + (1,0) = 4.
    const cost = [
      [1, 2],
      [2, 10],
    ];
    const pairs = assign(cost);
    expect(pairs).toEqual([
      [0, 1],
      [1, 0],
    ]);
    expect(total(cost, pairs)).toBe(4);
  });

  it('leaves forbidden pairs out and handles more rows than columns', () => {
    const F = 1e6;
    const cost = [
      [F, 0.3],
      [0.2, F],
      [F, F],
    ];
    expect(assign(cost, F)).toEqual([
      [0, 1],
      [1, 0],
    ]);
  });

  it('matches brute force on random matrices', () => {
    let seed = 7;
    const rand = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
    for (let trial = 0; trial < 30; trial++) {
      const rows = 1 + Math.floor(rand() * 4);
      const cols = 1 + Math.floor(rand() * 4);
      const cost = Array.from({ length: rows }, () =>
        Array.from({ length: cols }, () => Math.round(rand() * 100)),
      );
      const best = bruteForce(cost);
      expect(total(cost, assign(cost))).toBe(best);
    }
  });

  it('returns nothing for an empty matrix', () => {
    expect(assign([])).toEqual([]);
    expect(assign([[]])).toEqual([]);
  });
});

/** The least total cost over assignments of min(rows, cols) pairs. */
function bruteForce(cost: number[][]): number {
  const rows = cost.length;
  const cols = cost[0]!.length;
  const k = Math.min(rows, cols);
  let best = Infinity;
  const walk = (i: number, usedCols: Set<number>, pairs: number, sum: number) => {
    if (pairs === k) {
      best = Math.min(best, sum);
      return;
    }
    if (i === rows) return;
    walk(i + 1, usedCols, pairs, sum);
    for (let j = 0; j < cols; j++) {
      if (usedCols.has(j)) continue;
      usedCols.add(j);
      walk(i + 1, usedCols, pairs + 1, sum + cost[i]![j]!);
      usedCols.delete(j);
    }
  };
  walk(0, new Set(), 0, 0);
  return best;
}
