/**
 * CTC greedy decoding of a recogniser's per-time-step class probabilities, keeping a probability for
 * every character and the best alternatives at its strongest step (the grammar uses them to correct a
 * character the plate format rules out).
 *
 * Model classes are folded onto output symbols first: several classes may make one symbol (a and A
 * are both A on a plate), separators (- . space) are symbols that end a run but are dropped from the
 * text, and every class the map does not name is pooled into one "other" symbol that is dropped too.
 * A symbol's probability at a step is the sum over its classes.
 */

export interface CtcAlternative {
  char: string;
  confidence: number;
}

export interface CtcChar {
  char: string;
  /** The symbol's highest probability over the time steps of its run. */
  confidence: number;
  /** Time step of that maximum. */
  step: number;
  /** Other kept symbols at that step, most probable first (at most `alternatives`). */
  alternatives: CtcAlternative[];
}

export interface CtcReading {
  text: string;
  chars: CtcChar[];
  steps: number;
}

/** Folds model classes onto output symbols; symbol 0 is the CTC blank. */
export class SymbolMap {
  /** Output symbols; index 0 is the blank, the last one pools unnamed classes. */
  readonly symbols: readonly string[];
  /** Model class → symbol index. */
  readonly classToSymbol: Int32Array;
  /** Symbols that end a run but are not part of the text (blank, separators, other). */
  readonly dropped: Uint8Array;
  readonly other: number;

  constructor(symbols: readonly string[], classToSymbol: Int32Array, dropped: Uint8Array) {
    this.symbols = symbols;
    this.classToSymbol = classToSymbol;
    this.dropped = dropped;
    this.other = symbols.length - 1;
  }

  get classes(): number {
    return this.classToSymbol.length;
  }

  /**
   * From a recogniser's character list (classes 1..n; class `blank` is the blank) and a fold: a
   * character → its symbol, `null` for a separator, `undefined` for a character that cannot occur.
   */
  static fromCharset(
    charset: readonly string[],
    fold: (ch: string) => string | null | undefined,
    blank = 0,
  ): SymbolMap {
    const classes = charset.length + 1;
    const symbols = ['<blank>'];
    const index = new Map<string, number>();
    const dropped: number[] = [0];
    const classToSymbol = new Int32Array(classes);
    const pending: number[] = [];
    for (let c = 0; c < classes; c++) {
      if (c === blank) {
        classToSymbol[c] = 0;
        continue;
      }
      const ch = charset[c < blank ? c : c - 1]!;
      const s = fold(ch);
      if (s === undefined) {
        pending.push(c);
        continue;
      }
      const key = s === null ? `sep:${ch}` : s;
      let i = index.get(key);
      if (i === undefined) {
        i = symbols.length;
        symbols.push(s === null ? ch : s);
        index.set(key, i);
        if (s === null) dropped.push(i);
      }
      classToSymbol[c] = i;
    }
    const other = symbols.length;
    symbols.push('<other>');
    dropped.push(other);
    for (const c of pending) classToSymbol[c] = other;
    const mask = new Uint8Array(symbols.length);
    for (const d of dropped) mask[d] = 1;
    return new SymbolMap(symbols, classToSymbol, mask);
  }
}

/**
 * Greedy CTC decoding of one sequence: `probs` holds `steps` × `map.classes` probabilities (softmax
 * applied) starting at `offset`. The best symbol per step; runs of the same symbol merge; blanks,
 * separators and unnamed classes are dropped.
 */
export function ctcGreedyDecode(
  probs: Float32Array,
  steps: number,
  map: SymbolMap,
  options: { offset?: number; alternatives?: number } = {},
): CtcReading {
  const classes = map.classes;
  const offset = options.offset ?? 0;
  const keepAlternatives = options.alternatives ?? 3;
  const nSymbols = map.symbols.length;
  const scores = new Float64Array(nSymbols);
  const chars: CtcChar[] = [];
  let previous = -1;
  let current: { symbol: number; confidence: number; step: number; scores: Float64Array } | undefined;
  const close = () => {
    if (!current) return;
    const alternatives: CtcAlternative[] = [];
    for (let s = 1; s < nSymbols; s++) {
      if (s === current.symbol || map.dropped[s]) continue;
      alternatives.push({ char: map.symbols[s]!, confidence: current.scores[s]! });
    }
    alternatives.sort((a, b) => b.confidence - a.confidence);
    chars.push({
      char: map.symbols[current.symbol]!,
      confidence: current.confidence,
      step: current.step,
      alternatives: alternatives.slice(0, keepAlternatives).filter((a) => a.confidence > 0),
    });
    current = undefined;
  };
  for (let t = 0; t < steps; t++) {
    scores.fill(0);
    const base = offset + t * classes;
    for (let c = 0; c < classes; c++) scores[map.classToSymbol[c]!]! += probs[base + c]!;
    let best = 0;
    for (let s = 1; s < nSymbols; s++) if (scores[s]! > scores[best]!) best = s;
    if (best !== previous) {
      close();
      if (!map.dropped[best])
        current = { symbol: best, confidence: scores[best]!, step: t, scores: scores.slice() };
    } else if (current && scores[best]! > current.confidence) {
      current.confidence = scores[best]!;
      current.step = t;
      current.scores = scores.slice();
    }
    previous = best;
  }
  close();
  return { text: chars.map((c) => c.char).join(''), chars, steps };
}

const FULLWIDTH_0 = 0xff10;
const FULLWIDTH_A = 0xff21;
const FULLWIDTH_a = 0xff41;

/**
 * The plate fold: digits and Latin letters (either case, half- or full-width) as upper-case ASCII,
 * dashes, dots and spaces as separators; everything else cannot occur on a plate.
 */
export function plateFold(ch: string): string | null | undefined {
  if (/^[0-9A-Z]$/.test(ch)) return ch;
  if (/^[a-z]$/.test(ch)) return ch.toUpperCase();
  const code = ch.codePointAt(0) ?? 0;
  if (ch.length === 1 && code >= FULLWIDTH_0 && code < FULLWIDTH_0 + 10) return String(code - FULLWIDTH_0);
  if (ch.length === 1 && code >= FULLWIDTH_A && code < FULLWIDTH_A + 26) {
    return String.fromCharCode(65 + code - FULLWIDTH_A);
  }
  if (ch.length === 1 && code >= FULLWIDTH_a && code < FULLWIDTH_a + 26) {
    return String.fromCharCode(65 + code - FULLWIDTH_a);
  }
  if ('-‐‑‒–—―－_~'.includes(ch) || ch === ' ' || ch === '\u3000') return null;
  if ('.·•。．,，:：'.includes(ch)) return null;
  return undefined;
}
