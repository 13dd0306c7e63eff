import { describe, expect, it } from 'vitest';
import {
  compactPlate,
  plateConsensus,
  plateDistance,
  type PlateRead,
} from '../../../violations/plate-consensus.js';

const read = (text: string, confidence: number, i: number): PlateRead => ({
  text,
  confidence,
  frameAt: 1000 + i * 500,
});

describe('plate consensus per track', () => {
  it('writes plates in compact form, Đ kept', () => {
    expect(compactPlate('30A-123.45')).toBe('30A12345');
    expect(compactPlate('29-mđ1 013.53')).toBe('29MĐ101353');
  });

  it('charges half for glyphs OCR confuses', () => {
    expect(plateDistance('30A12345', '30A12345')).toBe(0);
    expect(plateDistance('30A12345', '3OA12345')).toBe(0.5);
    expect(plateDistance('30A12345', '30A12346')).toBe(1);
    expect(plateDistance('30A12345', '30A1234')).toBe(1);
  });

  it('lets well-formed reads alone decide: confident fragments do not outvote a whole plate', () => {
    const v = (text: string, confidence: number, i: number, valid: boolean): PlateRead => ({
      ...read(text, confidence, i),
      valid,
    });
    const result = plateConsensus([
      v('087.58', 0.97, 0, false), // the bottom row of 78P-087.58 read alone
      v('087.58', 0.95, 1, false),
      v('087.58', 0.93, 2, false),
      v('78P-087.58', 0.81, 3, true),
    ]);
    expect(result.plate).toBe('78P08758');
    expect(result.reasons).not.toContain('invalid_plate');
    // The fragments still weigh in the agreement: three confident reads disagreed.
    expect(result.agreement).toBeLessThan(0.3);
    expect(result.needsReview).toBe(true);
  });

  it('flags a plate that no read gives in a well-formed shape', () => {
    const result = plateConsensus([
      { ...read('087.58', 0.97, 0), valid: false },
      { ...read('087.58', 0.95, 1), valid: false },
    ]);
    expect(result.plate).toBe('08758');
    expect(result.reasons).toContain('invalid_plate');
    expect(result.needsReview).toBe(true);
    // Without the reader's verdict nothing changes.
    expect(plateConsensus([read('087.58', 0.97, 0), read('087.58', 0.95, 1)]).reasons).not.toContain(
      'invalid_plate',
    );
  });

  it('agrees on the plate most reads give and keeps the most confident frame', () => {
    const result = plateConsensus([
      read('30A-123.45', 0.91, 0),
      read('30A-123.45', 0.95, 1),
      read('3OA-123.45', 0.6, 2),
      read('30A-123.46', 0.5, 3),
    ]);
    expect(result.plate).toBe('30A12345');
    expect(result.bestRead).toEqual(read('30A-123.45', 0.95, 1));
    expect(result.support).toBe(4);
    expect(result.agreement).toBeCloseTo((0.91 + 0.95) / (0.91 + 0.95 + 0.6 + 0.5), 3);
    expect(result.needsReview).toBe(false);
  });

  it('votes character by character, so two reads each wrong in one place still give the plate', () => {
    const result = plateConsensus([
      read('51G12345', 0.8, 0),
      read('51G12346', 0.7, 1),
      read('51C12345', 0.7, 2),
    ]);
    expect(result.plate).toBe('51G12345');
  });

  it('weighs confidence: one sure read outvotes two doubtful ones', () => {
    const result = plateConsensus([
      read('29B112345', 0.95, 0),
      read('29B112346', 0.3, 1),
      read('29B112346', 0.3, 2),
    ]);
    expect(result.plate).toBe('29B112345');
  });

  it('flags low agreement for review', () => {
    const result = plateConsensus([
      read('30A12345', 0.6, 0),
      read('30A12845', 0.55, 1),
      read('30A12395', 0.55, 2),
      read('30A17345', 0.5, 3),
    ]);
    expect(result.needsReview).toBe(true);
    expect(result.reasons).toContain('low_agreement');
  });

  it('flags a competing plate (two vehicles in one track) and lists it', () => {
    const result = plateConsensus([
      read('30A12345', 0.9, 0),
      read('30A12345', 0.85, 1),
      read('88C99881', 0.9, 2),
    ]);
    expect(result.plate).toBe('30A12345');
    expect(result.reasons).toContain('competing_plate');
    expect(result.alternatives).toEqual([{ text: '88C99881', share: expect.closeTo(0.34, 2) }]);
  });

  it('flags a single read, and a weak best read, and says when nothing was read', () => {
    expect(plateConsensus([read('30A12345', 0.9, 0)]).reasons).toEqual(['few_reads']);
    expect(plateConsensus([read('30A12345', 0.4, 0), read('30A12345', 0.45, 1)]).reasons).toEqual([
      'low_confidence',
    ]);
    expect(plateConsensus([read('--', 0.9, 0), read('x', 0, 1)])).toMatchObject({
      plate: undefined,
      needsReview: true,
      reasons: ['no_reads'],
    });
  });

  it('gives the same result whatever order the reads come in', () => {
    const reads = [
      read('30A12345', 0.7, 0),
      read('30A12346', 0.7, 1),
      read('3OA12345', 0.7, 2),
      read('30A1234', 0.4, 3),
      read('88C99881', 0.7, 4),
    ];
    const a = plateConsensus(reads);
    const b = plateConsensus([...reads].reverse());
    const c = plateConsensus([reads[2]!, reads[4]!, reads[0]!, reads[3]!, reads[1]!]);
    expect(b).toEqual(a);
    expect(c).toEqual(a);
  });
});
