import { describe, expect, it } from 'vitest';
import type { CharReading, PlateCandidate } from '../../../../detector/plates/plate-grammar.js';
import { chooseReading, missingCharacter } from '../../../../detector/plates/plate-grammar.js';

/** A two-row reading, every character at `p` unless overridden (index → confidence). */
function twoRows(top: string, bottom: string, p = 0.98, over: Record<number, number> = {}): PlateCandidate {
  const chars: CharReading[] = [...(top + bottom)].map((char, i) => ({
    char,
    confidence: over[i] ?? p,
    alternatives: [],
  }));
  return { chars, rows: 2, rowBreak: top.length };
}

describe('missingCharacter', () => {
  it('names the position of the one character the shorter string lacks', () => {
    expect(missingCharacter('40140', '0140')).toEqual([0]);
    expect(missingCharacter('12345', '1245')).toEqual([2]);
    expect(missingCharacter('1234', '123')).toEqual([3]);
  });

  it('names every position of a run when one of two equal neighbours is missing', () => {
    expect(missingCharacter('83668', '8368')).toEqual([2, 3]);
    expect(missingCharacter('111', '11')).toEqual([0, 1, 2]);
  });

  it('is empty when the strings are not one deletion apart', () => {
    expect(missingCharacter('12345', '12354')).toEqual([]);
    expect(missingCharacter('12345', '12345')).toEqual([]);
    expect(missingCharacter('12345', '135')).toEqual([]);
    expect(missingCharacter('1234', '12345')).toEqual([]);
    expect(missingCharacter('12345', '1243')).toEqual([]);
  });
});

describe('choosing among readings that differ by a lost character', () => {
  it('prefers the reading with a confidently read extra digit to a slightly surer one without it', () => {
    // One crop of the bottom row cut off a faint first digit (`40140` read `0140`).
    const full = twoRows('71B1', '40140', 0.97);
    const cut = twoRows('71B1', '0140', 0.99);
    const r = chooseReading([cut, full], { region: 'vn' });
    expect(r.compact).toBe('71B140140');
    expect(r.candidate).toBe(1);
  });

  it('prefers the reading that kept two equal neighbours apart', () => {
    const merged = twoRows('29E1', '8368', 0.99);
    const apart = twoRows('29E1', '83668', 0.95);
    expect(chooseReading([merged, apart], { region: 'vn' }).compact).toBe('29E183668');
  });

  it('keeps the shorter reading when the extra character was not confidently read', () => {
    const cut = twoRows('71B1', '0140', 0.99);
    for (const p of [0.1, 0.5, 0.75]) {
      const spurious = twoRows('71B1', '40140', 0.97, { 4: p });
      expect(chooseReading([cut, spurious], { region: 'vn' }).compact).toBe('71B10140');
    }
    const sure = twoRows('71B1', '40140', 0.97, { 4: 0.85 });
    expect(chooseReading([cut, sure], { region: 'vn' }).compact).toBe('71B140140');
  });

  it('takes no evidence from a longer reading that is no valid plate', () => {
    // One row: `AX` is no car series, so `30AX12345` does not parse.
    const one = (text: string, p: number): PlateCandidate => ({
      chars: [...text].map((char) => ({ char, confidence: p, alternatives: [] })),
      rows: 1,
    });
    const r = chooseReading([one('30A12345', 0.9), one('30AX12345', 0.99)], { region: 'vn' });
    expect(r.compact).toBe('30A12345');
    expect(r.score).toBeGreaterThan(0.8);
  });

  it('reports the lowered score of a reading that lacks a confidently read character', () => {
    // The longer reading comes from a crop the caller trusts little (its prior).
    const full = { ...twoRows('71B1', '40140', 0.97), prior: 0.02 };
    const cut = twoRows('71B1', '0140', 0.99);
    const r = chooseReading([cut, full], { region: 'vn' });
    expect(r.compact).toBe('71B10140');
    expect(r.score).toBeCloseTo(0.99 * 0.9 * (1 - 0.97), 6);
  });

  it('changes nothing when readings are not checked against the grammar', () => {
    const full = twoRows('71B1', '40140', 0.97);
    const cut = twoRows('71B1', '0140', 0.99);
    expect(chooseReading([cut, full], { region: 'none' }).compact).toBe('71B10140');
  });

  it('without the other reading, the shorter valid reading is chosen as before', () => {
    expect(chooseReading([twoRows('71B1', '0140', 0.99)], { region: 'vn' }).compact).toBe('71B10140');
  });
});
