import { describe, expect, it } from 'vitest';
import type { CharReading, PlateCandidate } from '../../../detector/plates/plate-grammar.js';
import {
  PROVINCE_CODES,
  RETIRED_PROVINCE_CODES,
  chooseReading,
  comparablePlate,
  compactPlate,
  formatVnPlate,
  interpretReading,
  parseVnPlate,
  provinceStatus,
} from '../../../detector/plates/plate-grammar.js';

/** A reading of `text`, every character at `p` unless overridden: index → [confidence, ...alternatives]. */
function read(
  text: string,
  p = 0.98,
  over: Record<number, [number, ...[string, number][]]> = {},
): CharReading[] {
  return [...text].map((char, i) => {
    const o = over[i];
    return {
      char,
      confidence: o ? o[0] : p,
      alternatives: o
        ? o
            .slice(1)
            .map((a) => ({ char: (a as [string, number])[0], confidence: (a as [string, number])[1] }))
        : [],
    };
  });
}

function twoRows(
  top: string,
  bottom: string,
  p = 0.98,
  over: Record<number, [number, ...[string, number][]]> = {},
): PlateCandidate {
  return { chars: read(top + bottom, p, over), rows: 2, rowBreak: top.length };
}

describe('compact form', () => {
  it('keeps A–Z, 0–9 and Đ, drops separators and upper-cases', () => {
    expect(compactPlate('29-MĐ1 013.53')).toBe('29MĐ101353');
    expect(compactPlate('30a-123.45')).toBe('30A12345');
    expect(compactPlate('29-mđ1')).toBe('29MĐ1');
  });

  it('compares Đ as D', () => {
    expect(comparablePlate('29MĐ101353')).toBe(comparablePlate('29-MD1 013.53'));
  });
});

describe('province codes', () => {
  it('knows the 2025 table and the retired codes', () => {
    expect(PROVINCE_CODES.get('29')).toBe('Hà Nội');
    expect(PROVINCE_CODES.get('59')).toBe('TP Hồ Chí Minh');
    expect(PROVINCE_CODES.get('80')).toBe('central agencies');
    expect(provinceStatus('43')).toBe('current');
    for (const c of ['13', '42', '44', '45', '46', '87', '91', '96']) {
      expect(RETIRED_PROVINCE_CODES.has(c)).toBe(true);
      expect(provinceStatus(c)).toBe('retired');
    }
    expect(provinceStatus('10')).toBe('unknown');
    expect(provinceStatus('00')).toBe('unknown');
  });

  it('covers every code from 11 to 99 as current or retired', () => {
    for (let c = 11; c <= 99; c++) expect(provinceStatus(String(c))).not.toBe('unknown');
  });
});

describe('parsing and formatting', () => {
  it.each([
    ['30A12345', 1, '30A-123.45', 'car'],
    ['30A1234', 1, '30A-1234', 'car'],
    ['51LD12345', 1, '51LD-123.45', 'car-special'],
    ['29B112345', 2, '29-B1 123.45', 'motorbike'],
    ['29B11234', 2, '29-B1 1234', 'motorbike'],
    ['29AA12345', 2, '29-AA 123.45', 'motorbike'],
    ['29MĐ101353', 2, '29-MĐ1 013.53', 'electric-motorbike'],
    ['29MD101353', 2, '29-MĐ1 013.53', 'electric-motorbike'],
    ['80011NG01', 1, '80-011-NG-01', 'diplomatic'],
  ] as const)('%s on %i row(s) is %s (%s)', (text, rows, formatted, kind) => {
    const p = parseVnPlate(text, rows);
    expect(p?.formatted).toBe(formatted);
    expect(p?.kind).toBe(kind);
  });

  it('tells a square car plate from a 4-digit motorbike plate by where the rows break', () => {
    expect(parseVnPlate('30G82074', 2, 3)).toMatchObject({ formatted: '30G-820.74', kind: 'car' });
    // Without the break, two rows of these characters are the (far commoner) motorbike plate.
    expect(parseVnPlate('30G82074', 2)?.kind).toBe('motorbike');
    expect(parseVnPlate('54T15417', 2, 4)?.formatted).toBe('54-T1 5417');
    expect(parseVnPlate('54T15417', 2, 3)?.formatted).toBe('54T-154.17');
    expect(formatVnPlate('54T15417', 1)).toBe('54T-154.17');
  });

  it('rejects what is no Vietnamese plate', () => {
    for (const t of ['M5XSX', 'GWAGEN', 'YG9X2G', 'AYO9034', '3012345', '30O12345', '29W112345']) {
      expect(parseVnPlate(t)).toBeUndefined();
    }
    expect(formatVnPlate('M5-XSX')).toBe('M5XSX');
  });

  it('turns TD into TĐ and only accepts the special series listed', () => {
    expect(parseVnPlate('51TD12345', 1)?.compact).toBe('51TĐ12345');
    expect(parseVnPlate('51KT12345', 1)?.kind).toBe('car-special');
    expect(parseVnPlate('51QQ12345', 1)).toBeUndefined();
  });
});

describe('position-aware corrections (region vn)', () => {
  it.each([
    ['3O', 'O in a digit position becomes 0', twoRows('29B1', '2O345'), '29B120345'],
    ['I', 'I in a digit position becomes 1', { chars: read('30A1234I'), rows: 1 as const }, '30A12341'],
    ['B', 'B in a digit position becomes 8', { chars: read('30AB2345'), rows: 1 as const }, '30A82345'],
    ['S', 'S in a digit position becomes 5', { chars: read('3OAS2345'), rows: 1 as const }, '30A52345'],
    ['Z', 'Z in a digit position becomes 2', { chars: read('Z9A12345'), rows: 1 as const }, '29A12345'],
    ['G', 'G in a digit position becomes 6', { chars: read('30A1G345'), rows: 1 as const }, '30A16345'],
    ['A', 'A in the province becomes 4', { chars: read('A7A12345'), rows: 1 as const }, '47A12345'],
    ['8', '8 in the series becomes B', twoRows('2981', '12345'), '29B112345'],
    [
      '0',
      '0 in the series becomes D',
      { chars: read('300-12345'.replace('-', '')), rows: 1 as const },
      '30D12345',
    ],
    ['5', '5 in the series becomes S', { chars: read('51512345'), rows: 1 as const }, '51S12345'],
    ['W', 'an unissued W in the series becomes M', twoRows('59W1', '21704'), '59M121704'],
    [
      'T',
      'T after the series letter of a motorbike becomes 1',
      twoRows('59FT', '31469', 0.98, { 3: [0.6, ['1', 0.3]] }),
      '59F131469',
    ],
  ])('%s: %s', (_c, _what, candidate, expected) => {
    const r = interpretReading(candidate, { region: 'vn' });
    expect(r.compact).toBe(expected);
    expect(r.valid).toBe(true);
    expect(r.corrections.length).toBeGreaterThan(0);
  });

  it('reads MĐ from M0 or MD and formats it', () => {
    const a = interpretReading(twoRows('29M01', '31100'), { region: 'vn' });
    expect(a.compact).toBe('29MĐ131100');
    expect(a.formatted).toBe('29-MĐ1 311.00');
    const b = interpretReading(twoRows('29MD1', '01353'), { region: 'vn' });
    expect(b.compact).toBe('29MĐ101353');
    expect(b.corrections).toEqual([]);
  });

  it("prefers the recogniser's own second choice to the look-alike table in digit positions", () => {
    // L read in the province: the table says 1, the recogniser's next choice is 4.
    const r = interpretReading(twoRows('L7K2', '9950', 0.98, { 0: [0.85, ['4', 0.03], ['1', 0.01]] }), {
      region: 'vn',
    });
    expect(r.compact).toBe('47K29950');
    expect(r.corrections[0]).toMatchObject({ from: 'L', to: '4', by: 'model' });
  });

  it('keeps a clearly read two-letter series rather than turning a letter into a digit', () => {
    const r = interpretReading(twoRows('95DB', '01179', 0.99, { 3: [0.98, ['8', 0.02]] }), { region: 'vn' });
    expect(r.compact).toBe('95DB01179');
    expect(r.plate?.kind).toBe('motorbike');
  });

  it('turns a doubtful letter after the series letter into a digit (Z read for 2)', () => {
    const r = interpretReading(twoRows('60BZ', '36161', 0.99, { 3: [0.57, ['2', 0.42]] }), { region: 'vn' });
    expect(r.compact).toBe('60B236161');
  });

  it('ignores a spurious mark at the end of a row (a sticker read as 7)', () => {
    const s = interpretReading(twoRows('79C17', '22177', 0.98, { 4: [0.4] }), { region: 'vn' });
    expect(s.compact).toBe('79C122177');
    expect(s.reviewReasons).toContain("ignored '7' at 5");
  });

  it('flags old province codes for manual review without rejecting them', () => {
    const r = interpretReading({ chars: read('13B12345'), rows: 1 }, { region: 'vn' });
    expect(r.compact).toBe('13B12345');
    expect(r.valid).toBe(true);
    expect(r.plate?.provinceStatus).toBe('retired');
    expect(r.reviewReasons.join(' ')).toMatch(/province code 13 is absent from the 2025 table/);
  });

  it('marks an unknown province code invalid', () => {
    const r = interpretReading({ chars: read('10A12345'), rows: 1 }, { region: 'vn' });
    expect(r.valid).toBe(false);
    expect(r.reviewReasons).toContain('unknown province code 10');
  });

  it('routes low-confidence readings to review', () => {
    const r = interpretReading(
      { chars: read('30A12345', 0.96), rows: 1 },
      { region: 'vn', minConfidence: 0.8 },
    );
    expect(r.reviewReasons.join(' ')).toMatch(/low confidence/);
  });

  it('says when a correction had only the look-alike table behind it', () => {
    const r = interpretReading({ chars: read('30AB2345'), rows: 1 }, { region: 'vn' });
    expect(r.reviewReasons.join(' ')).toMatch(/corrected by look-alike only: B→8 at 4/);
    expect(r.confidence).toBeLessThan(0.1);
  });
});

describe('foreign plates are left alone', () => {
  it.each(['M5XSX', 'GWAGEN', 'YG9X2G', 'AYO9034', 'RK828AG', 'PP587AO', 'BS47040', 'FZB9581', 'CCLVN3'])(
    '%s is read as it is in region auto',
    (text) => {
      const r = interpretReading({ chars: read(text), rows: 1 }, { region: 'auto' });
      expect(r.compact).toBe(text);
      expect(r.corrections).toEqual([]);
      expect(r.valid).toBe(false);
    },
  );

  it('does not correct a reading that needs more than one change to be Vietnamese', () => {
    const r = interpretReading({ chars: read('6ABC123'), rows: 1 }, { region: 'auto' });
    expect(r.compact).toBe('6ABC123');
  });

  it('corrects an almost-Vietnamese reading once in region auto', () => {
    const r = interpretReading({ chars: read('30A1234S'), rows: 1 }, { region: 'auto' });
    expect(r.compact).toBe('30A12345');
  });

  it('never corrects in region none', () => {
    const r = interpretReading({ chars: read('30AB2345'), rows: 1 }, { region: 'none' });
    expect(r.compact).toBe('30AB2345');
    expect(r.corrections).toEqual([]);
  });

  it('drops only marks the recogniser barely believed in (an emblem between character groups)', () => {
    const r = interpretReading({ chars: read('HH90G5W', 0.97, { 3: [0.19] }), rows: 1 }, { region: 'auto' });
    expect(r.compact).toBe('HH9G5W');
    const sure = interpretReading({ chars: read('HH90G5W', 0.97), rows: 1 }, { region: 'auto' });
    expect(sure.compact).toBe('HH90G5W');
  });
});

describe('choosing among readings', () => {
  it('picks the reading that parses over a more confident one that does not', () => {
    const garbage: PlateCandidate = { chars: read('5417', 0.99), rows: 1, source: 'whole crop' };
    const halves = twoRows('54T1', '5417', 0.95);
    const r = chooseReading([garbage, halves], { region: 'vn' });
    expect(r.compact).toBe('54T15417');
    expect(r.candidate).toBe(1);
    expect(r.rows).toBe(2);
  });

  it('weights by character confidence between two valid readings', () => {
    const a = twoRows('59C7', '30923', 0.99, { 3: [0.55] });
    const b = twoRows('59C1', '30923', 0.99, { 3: [0.9] });
    expect(chooseReading([a, b], { region: 'vn' }).compact).toBe('59C130923');
  });

  it('does not read a foreign plate and the dealer frame under it as two rows', () => {
    const one: PlateCandidate = { chars: read('YG9X2G', 0.8), rows: 1 };
    const two: PlateCandidate = { chars: read('YG9X2GSUNTRUP', 0.85), rows: 2, rowBreak: 6 };
    expect(chooseReading([one, two], { region: 'auto' }).compact).toBe('YG9X2G');
  });
});
