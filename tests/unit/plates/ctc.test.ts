import { describe, expect, it } from 'vitest';
import { SymbolMap, ctcGreedyDecode, plateFold } from '../../../detector/plates/ctc.js';

/** A tiny recogniser alphabet: classes 1..n are these characters, class 0 the blank. */
const CHARSET = ['0', '1', '2', '3', 'A', 'B', 'a', '-', '.', '粤', 'Ｏ', '８'];
const map = SymbolMap.fromCharset(CHARSET, plateFold);
const classes = CHARSET.length + 1;
const cls = (ch: string) => CHARSET.indexOf(ch) + 1;

/** One time step per entry: the class that gets `p`, the rest spread evenly over the others. */
function steps(spec: [string | 'blank', number][]): Float32Array {
  const out = new Float32Array(spec.length * classes);
  spec.forEach(([ch, p], t) => {
    const c = ch === 'blank' ? 0 : cls(ch);
    for (let k = 0; k < classes; k++) out[t * classes + k] = k === c ? p : (1 - p) / (classes - 1);
  });
  return out;
}

describe('CTC greedy decoding', () => {
  it('merges repeats, drops blanks, keeps the best probability of each run (golden)', () => {
    const probs = steps([
      ['blank', 0.9],
      ['3', 0.6],
      ['3', 0.8],
      ['blank', 0.7],
      ['0', 0.95],
      ['blank', 0.9],
      ['0', 0.7],
      ['A', 0.5],
      ['A', 0.9],
      ['blank', 0.99],
    ]);
    const r = ctcGreedyDecode(probs, 10, map);
    expect(r.text).toBe('300A');
    expect(r.chars.map((c) => c.char)).toEqual(['3', '0', '0', 'A']);
    // 'A' folds a and A together: 0.9 + the spread share of 'a'.
    const spread = (1 - 0.9) / (classes - 1);
    expect(r.chars[3]!.confidence).toBeCloseTo(0.9 + spread, 6);
    expect(r.chars[0]!.confidence).toBeCloseTo(0.8, 6);
    expect(r.chars[0]!.step).toBe(2);
    expect(r.chars[1]!.confidence).toBeCloseTo(0.95, 6);
    expect(r.steps).toBe(10);
  });

  it('keeps two equal characters apart when a separator lies between them', () => {
    const r = ctcGreedyDecode(
      steps([
        ['1', 0.9],
        ['-', 0.8],
        ['1', 0.9],
        ['.', 0.8],
        ['2', 0.9],
      ]),
      5,
      map,
    );
    expect(r.text).toBe('112');
  });

  it('drops classes a plate cannot carry but lets them end a run', () => {
    const r = ctcGreedyDecode(
      steps([
        ['2', 0.9],
        ['粤', 0.9],
        ['2', 0.9],
      ]),
      3,
      map,
    );
    expect(r.text).toBe('22');
  });

  it('folds lower-case and full-width forms onto A–Z and 0–9', () => {
    const r = ctcGreedyDecode(
      steps([
        ['a', 0.9],
        ['blank', 0.9],
        ['Ｏ', 0.9],
        ['blank', 0.9],
        ['８', 0.9],
      ]),
      5,
      map,
    );
    expect(r.text).toBe('AO8');
  });

  it('lists the next symbols at the strongest step as alternatives', () => {
    const probs = new Float32Array(classes);
    probs[cls('B')] = 0.6;
    probs[cls('3')] = 0.3;
    probs[0] = 0.1;
    const r = ctcGreedyDecode(probs, 1, map, { alternatives: 2 });
    expect(r.chars[0]).toMatchObject({ char: 'B', confidence: expect.closeTo(0.6, 6) });
    expect(r.chars[0]!.alternatives[0]).toMatchObject({ char: '3', confidence: expect.closeTo(0.3, 6) });
    expect(r.chars[0]!.alternatives.every((a) => a.char !== '<blank>')).toBe(true);
  });

  it('reads the sequence at an offset (one item of a batch)', () => {
    const a = steps([['1', 0.9]]);
    const b = steps([['2', 0.9]]);
    const batch = new Float32Array(a.length + b.length);
    batch.set(a);
    batch.set(b, a.length);
    expect(ctcGreedyDecode(batch, 1, map, { offset: classes }).text).toBe('2');
  });

  it('maps classes onto symbols with the blank first and an "other" pool last', () => {
    expect(map.classes).toBe(classes);
    expect(map.symbols[0]).toBe('<blank>');
    expect(map.symbols.at(-1)).toBe('<other>');
    expect(map.symbols[map.classToSymbol[cls('粤')]!]).toBe('<other>');
    expect(map.classToSymbol[cls('a')]).toBe(map.classToSymbol[cls('A')]);
  });
});

describe('plate fold', () => {
  it.each([
    ['7', '7'],
    ['q', 'Q'],
    ['Ｚ', 'Z'],
    ['－', null],
    ['·', null],
    [' ', null],
    ['京', undefined],
    ['%', undefined],
  ])('%s → %s', (ch, out) => {
    expect(plateFold(ch)).toBe(out);
  });
});
