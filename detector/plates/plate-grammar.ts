/**
 * Vietnamese plate grammar: the compact form, the formats by vehicle class, position-aware correction
 * of the recogniser's look-alike confusions, the province code table after the 2025 merger, the
 * formatted form, and the choice among candidate readings of one plate.
 *
 * Compact form: upper-case A–Z, 0–9 and Đ, no separators (`29MĐ101353`). Formats (compact, then as
 * printed):
 *
 *   car, 1 row or square 2-row   PP L DDDDD   30A12345    30A-123.45   (square: `30A` over `123.45`)
 *   car, older 4 digits          PP L DDDD    30A1234     30A-1234
 *   car, special series          PP SS DDDDD  51LD12345   51LD-123.45  (LD DA KT MK TĐ HC)
 *   motorbike (2 rows)           PP L D DDDDD 29B112345   29-B1 123.45 (`29-B1` over `123.45`)
 *   motorbike, 4 digits          PP L D DDDD  29B11234    29-B1 1234
 *   motorbike, 2-letter series   PP LL DDDDD  29AA12345   29-AA 123.45 (mopeds 29-AA…, newer 95-DB…)
 *   electric motorbike MĐ        PP MĐ D DDDDD 29MĐ101353 29-MĐ1 013.53
 *   diplomatic / foreign         PP DDD SS DD 80011NG01   80-011-NG-01 (NG QT CV NN)
 *
 * A reading is matched against every format of its length. A character the format rules out at its
 * position is corrected when the recogniser's own second choice or a known look-alike (O↔0, I↔1,
 * B↔8, D↔0, S↔5, Z↔2, T↔1, U↔0, G↔6, A↔4 …) gives a character that fits: letters become digits in
 * digit positions and digits letters in letter positions. Readings that do not fit any Vietnamese
 * format are left exactly as read unless the plate is known to be Vietnamese (region 'vn'); with
 * region 'auto' a correction is accepted only for a reading that is already almost a Vietnamese plate
 * (one correction at most, a current province code), so foreign plates are not "fixed".
 */

export interface CharAlternative {
  char: string;
  confidence: number;
}

export interface CharReading {
  char: string;
  confidence: number;
  /** The recogniser's next choices at this character, most probable first. */
  alternatives?: readonly CharAlternative[];
}

/** One way of reading the plate: its characters, in order, and where the second row starts. */
export interface PlateCandidate {
  chars: readonly CharReading[];
  rows: 1 | 2;
  /** Index of the first character of the second row (2-row readings). */
  rowBreak?: number;
  /** A prior for this way of reading (e.g. the row-split's certainty), 0–1; default 1. */
  prior?: number;
  /** What produced it, for diagnostics. */
  source?: string;
}

/** 'vn': the plate is Vietnamese; 'auto': correct only readings that are almost VN plates; 'none': never correct. */
export type PlateRegion = 'vn' | 'auto' | 'none';

export type VnPlateKind = 'car' | 'car-special' | 'motorbike' | 'electric-motorbike' | 'diplomatic';

export type ProvinceStatus = 'current' | 'retired' | 'unknown';

export interface VnPlate {
  compact: string;
  formatted: string;
  kind: VnPlateKind;
  province: string;
  provinceName: string | undefined;
  provinceStatus: ProvinceStatus;
  series: string;
  number: string;
}

export interface Correction {
  index: number;
  from: string;
  to: string;
  /** The recogniser's probability for the new character, or the look-alike prior when it gave none. */
  confidence: number;
  /** 'model': the recogniser's own alternative; 'look-alike': the confusion table alone. */
  by: 'model' | 'look-alike';
}

export interface GrammarResult {
  compact: string;
  formatted: string;
  chars: CharReading[];
  /** Product of the character confidences (after corrections). */
  confidence: number;
  /** The reading is a Vietnamese plate of a known format. */
  valid: boolean;
  plate: VnPlate | undefined;
  corrections: Correction[];
  reviewReasons: string[];
  rows: 1 | 2;
  /** Ranking score among candidates (geometric mean confidence × format and prior factors). */
  score: number;
  /** Index of the chosen candidate (chooseReading). */
  candidate: number;
}

// --- Province codes (Circular 51/2025, Appendix 02) -------------------------------------------------

const PROVINCES: ReadonlyArray<[string, string]> = [
  ['Cao Bằng', '11'],
  ['Lạng Sơn', '12'],
  ['Quảng Ninh', '14'],
  ['Hải Phòng', '15 16 34'],
  ['Hưng Yên', '17 89'],
  ['Ninh Bình', '18 35 90'],
  ['Phú Thọ', '19 28 88'],
  ['Thái Nguyên', '20 97'],
  ['Lào Cai', '21 24'],
  ['Tuyên Quang', '22 23'],
  ['Lai Châu', '25'],
  ['Sơn La', '26'],
  ['Điện Biên', '27'],
  ['Hà Nội', '29 30 31 32 33 40'],
  ['Thanh Hoá', '36'],
  ['Nghệ An', '37'],
  ['Hà Tĩnh', '38'],
  ['Đồng Nai', '39 60 93'],
  ['Đà Nẵng', '43 92'],
  ['Đắk Lắk', '47 78'],
  ['Lâm Đồng', '48 49 86'],
  ['TP Hồ Chí Minh', '41 50 51 52 53 54 55 56 57 58 59 61 72'],
  ['Tây Ninh', '62 70'],
  ['Đồng Tháp', '63 66'],
  ['Vĩnh Long', '64 71 84'],
  ['Cần Thơ', '65 83 95'],
  ['An Giang', '67 68'],
  ['Cà Mau', '69 94'],
  ['Quảng Trị', '73 74'],
  ['Huế', '75'],
  ['Quảng Ngãi', '76 82'],
  ['Gia Lai', '77 81'],
  ['Khánh Hoà', '79 85'],
  ['Bắc Ninh', '98 99'],
  ['central agencies', '80'],
];

/** Province code → province (2025 table). */
export const PROVINCE_CODES: ReadonlyMap<string, string> = new Map(
  PROVINCES.flatMap(([name, codes]) => codes.split(' ').map((c) => [c, name] as [string, string])),
);

/** Codes absent from the 2025 table that old plates may still carry: accepted, routed to review. */
export const RETIRED_PROVINCE_CODES: ReadonlySet<string> = new Set([
  '13',
  '42',
  '44',
  '45',
  '46',
  '87',
  '91',
  '96',
]);

export function provinceStatus(code: string): ProvinceStatus {
  if (PROVINCE_CODES.has(code)) return 'current';
  if (RETIRED_PROVINCE_CODES.has(code)) return 'retired';
  return 'unknown';
}

// --- Series ---------------------------------------------------------------------------------------

/** Letters used as single-letter series (I, J, O, Q, W are not issued). R: trailers. */
export const SERIES_LETTERS = 'ABCDEFGHKLMNPRSTUVXYZ';
/** Two-letter special series on cars (and some motorbikes). */
export const SPECIAL_SERIES: ReadonlySet<string> = new Set(['LD', 'DA', 'KT', 'MK', 'TĐ', 'HC']);
/** Diplomatic and foreign series. */
export const DIPLOMATIC_SERIES: ReadonlySet<string> = new Set(['NG', 'QT', 'CV', 'NN']);

// --- Look-alikes ----------------------------------------------------------------------------------

/** In a digit position: letter → the digit it is mistaken for. */
export const LETTER_TO_DIGIT: Readonly<Record<string, string>> = {
  O: '0',
  Q: '0',
  D: '0',
  U: '0',
  I: '1',
  L: '1',
  T: '1',
  J: '1',
  Z: '2',
  A: '4',
  S: '5',
  G: '6',
  C: '6',
  B: '8',
};

/** In a letter position: digit (or unissued letter) → the series letter it is mistaken for. */
export const TO_SERIES_LETTER: Readonly<Record<string, string>> = {
  '0': 'D',
  '1': 'T',
  '2': 'Z',
  '4': 'A',
  '5': 'S',
  '6': 'G',
  '8': 'B',
  O: 'D',
  Q: 'D',
  I: 'T',
  J: 'T',
  W: 'M',
};

/**
 * Confidence of a look-alike correction the recogniser did not itself propose: this share of the
 * probability it left to other characters (a confidently read character is rarely another one).
 */
const LOOK_ALIKE_PRIOR = 0.5;
/** A recogniser alternative this probable is preferred to the look-alike table. */
const MODEL_ALTERNATIVE = 0.02;
/** Alternatives below this are noise. */
const MIN_ALTERNATIVE = 0.005;

// --- Compact form -----------------------------------------------------------------------------------

/** Upper-case letters, digits and Đ only (đ → Đ; separators and anything else dropped). */
export function compactPlate(text: string): string {
  return text
    .normalize('NFC')
    .replace(/đ/g, 'Đ')
    .toUpperCase()
    .replace(/[^A-Z0-9Đ]/g, '');
}

/** The compact form with Đ compared as D: how readings are scored against labels. */
export function comparablePlate(text: string): string {
  return compactPlate(text).replace(/Đ/g, 'D');
}

// --- Formats --------------------------------------------------------------------------------------

/** Slot kinds: P province digit, D digit, L series letter, M the letter M, Đ the letter Đ, S/G pair heads. */
type Slot = 'P' | 'D' | 'L' | 'M' | 'Đ';

interface Format {
  id: string;
  kind: VnPlateKind;
  slots: readonly Slot[];
  /** Index of the first bottom-row character on a 2-row plate. */
  rowBreak: number;
  /** Rows this format is printed on (1, 2 or either). */
  rows: readonly (1 | 2)[];
  /** How much rarer this format is than the usual ones (score factor, default 1). */
  prior?: number;
  /** Extra check on the series letters (indices into the compact string). */
  series?: { at: number; length: number; allowed: ReadonlySet<string> };
  format: (c: string) => string;
}

const slots = (s: string): Slot[] => [...s] as Slot[];
/**
 * Two-letter motorbike series (29-AA, 95-DB) are rarer than letter + digit (29-B1), and a digit read as
 * a letter (2 as Z, 1 as T) would otherwise turn the one into the other: the letter needs to be clearly
 * read (its probability ≳ 1.2× the digit's over a 9-character plate) to win.
 */
const TWO_LETTER_PRIOR = 0.8;
const group5 = (d: string) => `${d.slice(0, 3)}.${d.slice(3)}`;
const digitsOut = (d: string) => (d.length === 5 ? group5(d) : d);

const FORMATS: readonly Format[] = [
  {
    id: 'car',
    kind: 'car',
    slots: slots('PPLDDDDD'),
    rowBreak: 3,
    rows: [1, 2],
    format: (c) => `${c.slice(0, 3)}-${digitsOut(c.slice(3))}`,
  },
  {
    id: 'car-4',
    kind: 'car',
    slots: slots('PPLDDDD'),
    rowBreak: 3,
    rows: [1, 2],
    format: (c) => `${c.slice(0, 3)}-${c.slice(3)}`,
  },
  {
    id: 'car-special',
    kind: 'car-special',
    slots: slots('PPLLDDDDD'),
    rowBreak: 4,
    rows: [1, 2],
    series: { at: 2, length: 2, allowed: SPECIAL_SERIES },
    format: (c) => `${c.slice(0, 4)}-${digitsOut(c.slice(4))}`,
  },
  {
    id: 'car-special-4',
    kind: 'car-special',
    slots: slots('PPLLDDDD'),
    rowBreak: 4,
    rows: [1, 2],
    series: { at: 2, length: 2, allowed: SPECIAL_SERIES },
    format: (c) => `${c.slice(0, 4)}-${c.slice(4)}`,
  },
  {
    id: 'motorbike',
    kind: 'motorbike',
    slots: slots('PPLDDDDDD'),
    rowBreak: 4,
    rows: [2],
    format: (c) => `${c.slice(0, 2)}-${c.slice(2, 4)} ${digitsOut(c.slice(4))}`,
  },
  {
    id: 'motorbike-4',
    kind: 'motorbike',
    slots: slots('PPLDDDDD'),
    rowBreak: 4,
    rows: [2],
    format: (c) => `${c.slice(0, 2)}-${c.slice(2, 4)} ${c.slice(4)}`,
  },
  {
    id: 'motorbike-2-letter',
    kind: 'motorbike',
    slots: slots('PPLLDDDDD'),
    rowBreak: 4,
    rows: [2],
    prior: TWO_LETTER_PRIOR,
    format: (c) => `${c.slice(0, 2)}-${c.slice(2, 4)} ${digitsOut(c.slice(4))}`,
  },
  {
    id: 'motorbike-2-letter-4',
    kind: 'motorbike',
    slots: slots('PPLLDDDD'),
    rowBreak: 4,
    rows: [2],
    prior: TWO_LETTER_PRIOR,
    format: (c) => `${c.slice(0, 2)}-${c.slice(2, 4)} ${c.slice(4)}`,
  },
  {
    id: 'electric',
    kind: 'electric-motorbike',
    slots: slots('PPMĐDDDDDD'),
    rowBreak: 5,
    rows: [2],
    format: (c) => `${c.slice(0, 2)}-${c.slice(2, 5)} ${digitsOut(c.slice(5))}`,
  },
  {
    id: 'diplomatic',
    kind: 'diplomatic',
    slots: slots('PPDDDLLDD'),
    rowBreak: 5,
    rows: [1, 2],
    series: { at: 5, length: 2, allowed: DIPLOMATIC_SERIES },
    format: (c) => `${c.slice(0, 2)}-${c.slice(2, 5)}-${c.slice(5, 7)}-${c.slice(7)}`,
  },
];

/**
 * Formats in the order ties are broken: on two rows a motorbike (`29-B1` over `1234`) before the much
 * rarer square car plate with the same characters (`29B` over `112.34`).
 */
function formatsFor(rows: 1 | 2 | undefined): Format[] {
  const fits = FORMATS.filter((f) => rows === undefined || f.rows.includes(rows));
  if (rows !== 2) return fits;
  return [...fits.filter((f) => f.kind === 'motorbike'), ...fits.filter((f) => f.kind !== 'motorbike')];
}

const isDigit = (c: string) => c >= '0' && c <= '9';
const isLetter = (c: string) => (c >= 'A' && c <= 'Z') || c === 'Đ';

function slotAccepts(slot: Slot, c: string, special: boolean): boolean {
  switch (slot) {
    case 'P':
    case 'D':
      return isDigit(c);
    case 'L':
      // Letters of a special/diplomatic pair are checked as a pair; Đ only occurs in TĐ.
      return special ? isLetter(c) : SERIES_LETTERS.includes(c);
    case 'M':
      return c === 'M';
    case 'Đ':
      return c === 'Đ' || c === 'D';
  }
}

/** The character a slot wants instead of `c`, with its confidence; undefined when none fits. */
function correctionFor(
  slot: Slot,
  r: CharReading,
  special: boolean,
): { to: string; confidence: number; by: Correction['by'] } | undefined {
  // The recogniser's own most probable alternative that fits the slot.
  let model: { to: string; confidence: number } | undefined;
  for (const a of r.alternatives ?? []) {
    const to = slot === 'Đ' && (a.char === 'D' || a.char === 'Đ') ? 'Đ' : a.char;
    if (slotAccepts(slot, to, special) && (!model || a.confidence > model.confidence)) {
      model = { to, confidence: a.confidence };
    }
  }
  let table: string | undefined;
  if (slot === 'P' || slot === 'D') table = LETTER_TO_DIGIT[r.char];
  else if (slot === 'L') table = TO_SERIES_LETTER[r.char];
  else if (slot === 'Đ') table = r.char === '0' || r.char === 'O' || r.char === 'U' ? 'Đ' : undefined;
  else if (slot === 'M') table = r.char === 'N' || r.char === 'H' || r.char === 'W' ? 'M' : undefined;
  if (table !== undefined && !slotAccepts(slot, table, special)) table = undefined;
  // Digits: the recogniser's next choice when it gave it some weight, else the look-alike. Letters:
  // the look-alike first (an unissued letter or a digit in a series position has a usual source).
  const preferModel = slot === 'P' || slot === 'D';
  if (model && model.confidence >= MODEL_ALTERNATIVE && (preferModel || table === undefined)) {
    return { ...model, by: 'model' };
  }
  if (table !== undefined) {
    const fromModel = model?.to === table ? model.confidence : 0;
    return {
      to: table,
      confidence: Math.max(LOOK_ALIKE_PRIOR * (1 - r.confidence), MIN_ALTERNATIVE, fromModel),
      by: fromModel > 0 ? 'model' : 'look-alike',
    };
  }
  if (model && model.confidence >= MIN_ALTERNATIVE) return { ...model, by: 'model' };
  return undefined;
}

interface Match {
  format: Format;
  chars: CharReading[];
  corrections: Correction[];
}

/** Matches a reading against one format, correcting characters the format rules out. */
function matchFormat(chars: readonly CharReading[], f: Format): Match | undefined {
  if (chars.length !== f.slots.length) return undefined;
  const out: CharReading[] = [];
  const corrections: Correction[] = [];
  for (let i = 0; i < chars.length; i++) {
    const r = chars[i]!;
    const slot = f.slots[i]!;
    const special = f.series !== undefined && i >= f.series.at && i < f.series.at + f.series.length;
    const c = r.char;
    if (slotAccepts(slot, c, special)) {
      out.push(slot === 'Đ' ? { ...r, char: 'Đ' } : { ...r });
      continue;
    }
    const fix = correctionFor(slot, r, special);
    if (!fix) return undefined;
    corrections.push({ index: i, from: c, to: fix.to, confidence: fix.confidence, by: fix.by });
    out.push({ char: fix.to, confidence: fix.confidence, alternatives: r.alternatives ?? [] });
  }
  if (f.series) {
    let pair = out
      .slice(f.series.at, f.series.at + f.series.length)
      .map((r) => r.char)
      .join('');
    // TĐ is read as TD (the recogniser has no Đ).
    if (pair === 'TD' && f.series.allowed.has('TĐ')) {
      out[f.series.at + 1] = { ...out[f.series.at + 1]!, char: 'Đ' };
      pair = 'TĐ';
    }
    if (!f.series.allowed.has(pair)) return undefined;
  }
  return { format: f, chars: out, corrections };
}

/** Parses a compact string (no corrections); undefined when it is not a Vietnamese plate. */
export function parseVnPlate(text: string, rows?: 1 | 2, rowBreak?: number): VnPlate | undefined {
  const compact = compactPlate(text);
  const chars = [...compact].map((char) => ({ char, confidence: 1 }));
  let best: Match | undefined;
  for (const f of formatsFor(rows)) {
    const m = matchFormat(chars, f);
    if (!m || m.corrections.length > 0) continue;
    if (!best || (rowBreak !== undefined && f.rowBreak === rowBreak && best.format.rowBreak !== rowBreak))
      best = m;
  }
  return best ? describe(best) : undefined;
}

function describe(m: Match): VnPlate {
  const compact = m.chars.map((c) => c.char).join('');
  const province = compact.slice(0, 2);
  const f = m.format;
  let series: string;
  let number: string;
  if (f.kind === 'diplomatic') {
    series = compact.slice(5, 7);
    number = `${compact.slice(2, 5)}-${compact.slice(7)}`;
  } else {
    series = compact.slice(2, f.rowBreak);
    number = compact.slice(f.rowBreak);
  }
  return {
    compact,
    formatted: f.format(compact),
    kind: f.kind,
    province,
    provinceName: PROVINCE_CODES.get(province),
    provinceStatus: provinceStatus(province),
    series,
    number,
  };
}

/** Formats a compact Vietnamese plate; the compact string itself when it is none. */
export function formatVnPlate(text: string, rows?: 1 | 2, rowBreak?: number): string {
  return parseVnPlate(text, rows, rowBreak)?.formatted ?? compactPlate(text);
}

// --- Choosing a reading ---------------------------------------------------------------------------

const PROVINCE_FACTOR: Record<ProvinceStatus, number> = { current: 1, retired: 0.9, unknown: 0.25 };
/** A 2-row reading whose row break differs from the format's. */
const ROW_BREAK_FACTOR = 0.6;
/** A two-row reading of a plate that is not known to be Vietnamese. */
const TWO_ROW_ELSEWHERE = 0.7;
/** Dropping a character, besides the chance that it is spurious (1 − its confidence). */
const DROP_FACTOR = 0.9;
/** A reading that is no Vietnamese plate, when the plate is known to be Vietnamese. */
const UNPARSED_FACTOR = 0.2;

function geometricMean(chars: readonly CharReading[]): number {
  if (chars.length === 0) return 0;
  let s = 0;
  for (const c of chars) s += Math.log(Math.max(c.confidence, 1e-6));
  return Math.exp(s / chars.length);
}

function product(chars: readonly CharReading[]): number {
  let p = 1;
  for (const c of chars) p *= c.confidence;
  return chars.length === 0 ? 0 : p;
}

export interface GrammarOptions {
  region?: PlateRegion;
  /** A reading below this confidence is sent to review (default 0.8). */
  minConfidence?: number;
  /** Region 'vn': also try the reading without one of its characters (default true). */
  allowDrop?: boolean;
}

/**
 * A two-row reading that is no Vietnamese plate: rows of a plate are short (≤ 7 characters, ≤ 10 in
 * all); a plate line read together with a dealer's frame or slogan is not. Two-row plates are rarer
 * than one-row plates outside Vietnam.
 */
function twoRowPlausibility(candidate: PlateCandidate): number {
  if (candidate.rows !== 2) return 1;
  const n = candidate.chars.length;
  const top = candidate.rowBreak ?? Math.ceil(n / 2);
  const plausible = n <= 10 && top <= 7 && n - top <= 7 && top >= 1 && n - top >= 1;
  return plausible ? TWO_ROW_ELSEWHERE : TWO_ROW_ELSEWHERE * 0.3;
}

function asIs(
  candidate: PlateCandidate,
  index: number,
  region: PlateRegion,
  minConfidence: number,
): GrammarResult {
  const read = candidate.chars.map((c) => c.char).join('');
  const plate = parseVnPlate(read, candidate.rows, candidate.rowBreak);
  // A parse may only turn D into Đ (MĐ, TĐ series); the characters follow it.
  const chars = candidate.chars.map((c, i) => ({ ...c, char: plate ? [...plate.compact][i]! : c.char }));
  const compact = plate?.compact ?? read;
  const confidence = product(chars);
  const reviewReasons: string[] = [];
  if (!plate) {
    reviewReasons.push(
      region === 'none' ? 'not checked against a plate format' : 'does not parse as a Vietnamese plate',
    );
  }
  if (plate) reviewReasons.push(...provinceReasons(plate));
  if (confidence < minConfidence)
    reviewReasons.push(`low confidence ${confidence.toFixed(2)} < ${minConfidence}`);
  if (compact.length === 0) reviewReasons.push('nothing read');
  const base = geometricMean(chars) * (candidate.prior ?? 1);
  return {
    compact,
    formatted: plate?.formatted ?? compact,
    chars,
    confidence,
    valid: plate !== undefined && plate.provinceStatus !== 'unknown',
    plate,
    corrections: [],
    reviewReasons,
    rows: candidate.rows,
    score: plate
      ? base * PROVINCE_FACTOR[plate.provinceStatus]
      : region === 'vn'
        ? base * UNPARSED_FACTOR
        : base * (compact.length >= 4 ? 1 : 0.5) * twoRowPlausibility(candidate),
    candidate: index,
  };
}

/** Characters that may be dropped: the first and last of each row, alone or in pairs. */
function dropSets(candidate: PlateCandidate): number[][] {
  const n = candidate.chars.length;
  const ends = new Set([0, n - 1]);
  if (
    candidate.rows === 2 &&
    candidate.rowBreak !== undefined &&
    candidate.rowBreak > 0 &&
    candidate.rowBreak < n
  ) {
    ends.add(candidate.rowBreak - 1);
    ends.add(candidate.rowBreak);
  }
  const list = [...ends].sort((a, b) => a - b);
  const sets: number[][] = list.map((i) => [i]);
  for (let a = 0; a < list.length; a++)
    for (let b = a + 1; b < list.length; b++) sets.push([list[a]!, list[b]!]);
  return sets;
}

/** Below this probability a decoded mark is more likely noise than a character (non-VN readings). */
const NOISE_CONFIDENCE = 0.3;

/** Characters of a reading the recogniser barely believed in, alone or in pairs. */
function noiseSets(candidate: PlateCandidate): number[][] {
  const weak = candidate.chars.flatMap((c, i) => (c.confidence < NOISE_CONFIDENCE ? [i] : []));
  const sets: number[][] = weak.map((i) => [i]);
  for (let a = 0; a < weak.length; a++)
    for (let b = a + 1; b < weak.length; b++) sets.push([weak[a]!, weak[b]!]);
  return sets;
}

function provinceReasons(plate: VnPlate): string[] {
  if (plate.provinceStatus === 'retired') {
    return [`province code ${plate.province} is absent from the 2025 table (old plate): check by hand`];
  }
  if (plate.provinceStatus === 'unknown') return [`unknown province code ${plate.province}`];
  return [];
}

/**
 * The best interpretation of one candidate reading: the format match with the highest score, or the
 * reading as is when no format fits (or corrections are not allowed for this region).
 */
export function interpretReading(
  candidate: PlateCandidate,
  options: GrammarOptions = {},
  index = 0,
): GrammarResult {
  const region = options.region ?? 'auto';
  const minConfidence = options.minConfidence ?? 0.8;
  const raw = asIs(candidate, index, region, minConfidence);
  if (region === 'none') return raw;
  let best: GrammarResult | undefined;
  for (const f of formatsFor(candidate.rows)) {
    const m = matchFormat(candidate.chars, f);
    if (!m) continue;
    const plate = describe(m);
    if (region === 'auto' && m.corrections.length > 0) {
      // Only an almost-Vietnamese reading is corrected: one correction, a current province code.
      if (m.corrections.length > 1 || plate.provinceStatus !== 'current') continue;
    }
    let score =
      geometricMean(m.chars) *
      PROVINCE_FACTOR[plate.provinceStatus] *
      (candidate.prior ?? 1) *
      (f.prior ?? 1);
    if (candidate.rows === 2 && candidate.rowBreak !== undefined && candidate.rowBreak !== f.rowBreak) {
      score *= ROW_BREAK_FACTOR;
    }
    if (best && score <= best.score) continue;
    const confidence = product(m.chars);
    const reviewReasons = provinceReasons(plate);
    const guessed = m.corrections.filter((c) => c.by === 'look-alike');
    if (guessed.length > 0) {
      reviewReasons.push(
        `corrected by look-alike only: ${guessed.map((c) => `${c.from}→${c.to} at ${c.index + 1}`).join(', ')}`,
      );
    }
    if (confidence < minConfidence)
      reviewReasons.push(`low confidence ${confidence.toFixed(2)} < ${minConfidence}`);
    best = {
      compact: plate.compact,
      formatted: plate.formatted,
      chars: m.chars,
      confidence,
      valid: plate.provinceStatus !== 'unknown',
      plate,
      corrections: m.corrections,
      reviewReasons,
      rows: candidate.rows,
      score,
      candidate: index,
    };
  }
  if (options.allowDrop !== false && (!best || best.corrections.length > 0)) {
    // Spurious characters read into the plate (a screw, a sticker, the frame; an emblem between
    // character groups): try without one or two of them. Vietnamese plates: the ends of a row; others:
    // only marks the recogniser itself barely believed in.
    for (const drop of region === 'vn' ? dropSets(candidate) : noiseSets(candidate)) {
      const chars = candidate.chars.filter((_, j) => !drop.includes(j));
      if (chars.length < (region === 'vn' ? 6 : 4)) continue;
      // The chance that the dropped marks are noise (1 − confidence each). For Vietnamese plates it
      // weighs the whole reading, so a correction the format allows is preferred to a drop; for
      // others, where nothing is corrected, it counts like one more character of the reading.
      let chance = DROP_FACTOR ** drop.length;
      for (const j of drop) chance *= 1 - candidate.chars[j]!.confidence;
      if (region !== 'vn') chance **= 1 / candidate.chars.length;
      const rowBreak =
        candidate.rowBreak === undefined
          ? undefined
          : candidate.rowBreak - drop.filter((j) => j < candidate.rowBreak!).length;
      const shorter = interpretReading(
        {
          ...candidate,
          chars,
          ...(rowBreak === undefined ? {} : { rowBreak }),
          prior: (candidate.prior ?? 1) * chance,
        },
        { ...options, allowDrop: false },
        index,
      );
      if (
        region === 'vn'
          ? !shorter.plate || (best && shorter.score <= best.score)
          : shorter.score <= (best ?? raw).score
      ) {
        continue;
      }
      const what = drop.map((j) => `'${candidate.chars[j]!.char}' at ${j + 1}`).join(', ');
      best = { ...shorter, reviewReasons: [...shorter.reviewReasons, `ignored ${what}`] };
    }
  }
  return best ?? raw;
}

/**
 * The positions of `longer` whose character, removed, leaves `shorter`: one, or every position of a
 * run of equal characters (`83668` → `8368`: 2 and 3). Empty when `shorter` is not `longer` less one
 * character.
 */
export function missingCharacter(longer: string, shorter: string): number[] {
  const a = [...longer];
  const b = [...shorter];
  if (a.length !== b.length + 1) return [];
  let i = 0;
  while (i < b.length && a[i] === b[i]) i++;
  // a[i] is the first difference; every position of the run of a[i] that starts at or before i works.
  for (let j = i; j < b.length; j++) if (a[j + 1] !== b[j]) return [];
  let first = i;
  while (first > 0 && a[first - 1] === a[i]) first--;
  const out: number[] = [];
  for (let k = first; k <= i; k++) out.push(k);
  return out;
}

/** A character read at least this probably is taken to be on the plate by the readings that lack it. */
const CONFIDENT_CHARACTER = 0.8;

/**
 * The candidate reading that parses best, weighted by character confidence. Candidates are readings
 * of one plate (other crops of it, other recognisers), so a reading that lacks a character another
 * valid reading of the plate read confidently (≥ CONFIDENT_CHARACTER), and is otherwise the same, is
 * scored as if that character had been dropped from the other reading (DROP_FACTOR × the chance that
 * it is spurious, 1 − its confidence): a recogniser loses a character (cut at a crop edge, two equal
 * neighbours merged) more often than it reads one that is not there with high confidence. Less sure
 * extra characters (a row's edge read twice, a dot read as a 0) carry no such weight.
 */
export function chooseReading(
  candidates: readonly PlateCandidate[],
  options: GrammarOptions = {},
): GrammarResult {
  if (candidates.length === 0) throw new Error('chooseReading needs at least one candidate');
  const results = candidates.map((c, i) => interpretReading(c, options, i));
  const scores = results.map((r) => r.score);
  if (options.region !== 'none') {
    results.forEach((r, i) => {
      for (const other of results) {
        if (!other.valid) continue;
        const at = missingCharacter(other.compact, r.compact);
        if (at.length === 0) continue;
        // The most likely of the positions to be spurious (any of a run may be the extra one).
        const spurious = Math.max(...at.map((k) => 1 - other.chars[k]!.confidence));
        if (spurious > 1 - CONFIDENT_CHARACTER) continue;
        scores[i] = Math.min(scores[i]!, r.score * DROP_FACTOR * spurious);
      }
    });
  }
  let best = 0;
  for (let i = 1; i < results.length; i++) if (scores[i]! > scores[best]!) best = i;
  return { ...results[best]!, score: scores[best]! };
}
