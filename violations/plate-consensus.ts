/**
 * One plate per track from the plate reads of its frames. A vehicle is read in several frames, each
 * read may be wrong in a character or two (or belong to a neighbouring vehicle the box overlapped), so:
 *
 * 1. reads are normalised to the compact form (A–Z, 0–9 and Đ; everything else dropped);
 * 2. clustered by edit distance, where swaps between glyphs OCR confuses (0/O/D, 1/I, 8/B, 5/S, 2/Z,
 *    6/G, D/Đ) cost half: strongest reads seed clusters, a read joins the nearest seed within
 *    `maxDistance`;
 * 3. the cluster with the largest summed confidence wins; its text is voted position by position,
 *    weighted by confidence, over its reads of the most common (weighted) length;
 * 4. the best frame is the most confident read equal to the result (else the cluster's most confident);
 * 5. weak agreement is flagged for review with the reasons, never silently accepted.
 *
 * When the reader says which reads are well-formed plates (`valid`: they parse in the plate grammar),
 * and some are, only those take part in the vote: a fragment (the bottom row of a two-row plate read
 * alone, `08758`) or a read with a stray mark must not outvote a whole plate. They still count in the
 * agreement's denominator, so many of them lower it. A result no well-formed read supports is flagged
 * `invalid_plate`.
 *
 * Pure: no I/O, deterministic for the same reads in any order.
 */

export interface PlateRead {
  text: string;
  /** The reader's confidence, 0..1. */
  confidence: number;
  /** When the frame was captured (ms since the epoch). */
  frameAt: number;
  /** Whether the read parses as a plate in the reader's grammar; unknown when absent. */
  valid?: boolean;
}

export interface PlateConsensusOptions {
  /** Largest edit distance at which a read joins a cluster. */
  maxDistance: number;
  /** Below this share of the total confidence agreeing exactly with the result, review. */
  minAgreement: number;
  /** Fewer reads than this in the winning cluster, review. */
  minReads: number;
  /** A runner-up cluster with at least this share of the winner's weight makes the result ambiguous. */
  maxRunnerUpRatio: number;
  /** The best read's confidence below this, review. */
  minBestConfidence: number;
}

export const DEFAULT_PLATE_CONSENSUS: PlateConsensusOptions = {
  maxDistance: 2,
  minAgreement: 0.6,
  minReads: 2,
  maxRunnerUpRatio: 0.5,
  minBestConfidence: 0.5,
};

export type PlateReviewReason =
  | 'no_reads'
  | 'few_reads'
  | 'low_agreement'
  | 'competing_plate'
  | 'low_confidence'
  | 'voted_text_never_read'
  | 'invalid_plate';

export interface PlateConsensus {
  /** Compact plate, or undefined when nothing readable was read. */
  plate: string | undefined;
  /** Summed confidence of reads equal to `plate` over the summed confidence of all reads. */
  agreement: number;
  /** Reads in the winning cluster / all usable reads. */
  support: number;
  total: number;
  bestRead: PlateRead | undefined;
  /** Other clusters' texts with their share of the total confidence, strongest first. */
  alternatives: { text: string; share: number }[];
  needsReview: boolean;
  reasons: PlateReviewReason[];
}

/** Compact form: uppercase letters and digits, Đ kept (`30A-123.45` → `30A12345`). */
export function compactPlate(text: string): string {
  return text
    .normalize('NFC')
    .toUpperCase()
    .replace(/[^A-Z0-9Đ]/g, '');
}

const CONFUSABLE = [
  ['0', 'O', 'D', 'Q'],
  ['1', 'I', 'L'],
  ['8', 'B'],
  ['5', 'S'],
  ['2', 'Z'],
  ['6', 'G'],
  ['D', 'Đ'],
];
const confusable = new Set<string>();
for (const group of CONFUSABLE)
  for (const a of group) for (const b of group) if (a !== b) confusable.add(`${a}${b}`);

/** Edit distance with substitutions of confusable glyphs at half cost. */
export function plateDistance(a: string, b: string): number {
  const A = [...a];
  const B = [...b];
  let prev = Array.from({ length: B.length + 1 }, (_, j) => j);
  for (let i = 1; i <= A.length; i++) {
    const cur = [i];
    for (let j = 1; j <= B.length; j++) {
      const x = A[i - 1]!;
      const y = B[j - 1]!;
      const sub = x === y ? 0 : confusable.has(`${x}${y}`) ? 0.5 : 1;
      cur.push(Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + sub));
    }
    prev = cur;
  }
  return prev[B.length]!;
}

interface Usable extends PlateRead {
  compact: string;
  weight: number;
}

export function plateConsensus(
  reads: readonly PlateRead[],
  options: Partial<PlateConsensusOptions> = {},
): PlateConsensus {
  const o = { ...DEFAULT_PLATE_CONSENSUS, ...options };
  const usable: Usable[] = reads
    .map((r) => ({ ...r, compact: compactPlate(r.text), weight: clamp01(r.confidence) }))
    .filter((r) => r.compact.length > 0 && r.weight > 0)
    // Strongest first; ties broken by text and time so any input order gives the same result.
    .sort((a, b) => b.weight - a.weight || a.compact.localeCompare(b.compact) || a.frameAt - b.frameAt);
  if (usable.length === 0) {
    return {
      plate: undefined,
      agreement: 0,
      support: 0,
      total: 0,
      bestRead: undefined,
      alternatives: [],
      needsReview: true,
      reasons: ['no_reads'],
    };
  }

  // Well-formed reads, when the reader says which are and there is one, alone decide the text.
  const anyValid = usable.some((r) => r.valid === true);
  const voting = anyValid ? usable.filter((r) => r.valid === true) : usable;
  const clusters: { seed: string; reads: Usable[]; weight: number }[] = [];
  for (const r of voting) {
    let best: (typeof clusters)[number] | undefined;
    let bestD = Infinity;
    for (const c of clusters) {
      const d = plateDistance(r.compact, c.seed);
      if (d <= o.maxDistance && d < bestD) {
        best = c;
        bestD = d;
      }
    }
    if (best) {
      best.reads.push(r);
      best.weight += r.weight;
    } else clusters.push({ seed: r.compact, reads: [r], weight: r.weight });
  }
  clusters.sort((a, b) => b.weight - a.weight || a.seed.localeCompare(b.seed));
  const winner = clusters[0]!;
  const totalWeight = usable.reduce((s, r) => s + r.weight, 0);

  const plate = voteText(winner.reads);
  const exact = voting.filter((r) => r.compact === plate);
  const agreement = exact.reduce((s, r) => s + r.weight, 0) / totalWeight;
  const bestRead = strip(exact[0] ?? winner.reads[0]!);

  const reasons: PlateReviewReason[] = [];
  if (winner.reads.length < o.minReads) reasons.push('few_reads');
  if (agreement < o.minAgreement) reasons.push('low_agreement');
  const runnerUp = clusters[1];
  if (runnerUp && runnerUp.weight >= o.maxRunnerUpRatio * winner.weight) reasons.push('competing_plate');
  if (bestRead.confidence < o.minBestConfidence) reasons.push('low_confidence');
  if (exact.length === 0) reasons.push('voted_text_never_read');
  if (!anyValid && usable.some((r) => r.valid === false)) reasons.push('invalid_plate');

  return {
    plate,
    agreement: round3(agreement),
    support: winner.reads.length,
    total: usable.length,
    bestRead,
    alternatives: clusters
      .slice(1)
      .map((c) => ({ text: voteText(c.reads), share: round3(c.weight / totalWeight) })),
    needsReview: reasons.length > 0,
    reasons,
  };
}

/** Confidence-weighted vote per character position over the reads of the weightiest length. */
function voteText(reads: readonly Usable[]): string {
  const byLength = new Map<number, number>();
  for (const r of reads) {
    const n = [...r.compact].length;
    byLength.set(n, (byLength.get(n) ?? 0) + r.weight);
  }
  const length = [...byLength.entries()].sort((a, b) => b[1] - a[1] || b[0] - a[0])[0]![0];
  const same = reads.filter((r) => [...r.compact].length === length);
  let out = '';
  for (let i = 0; i < length; i++) {
    const votes = new Map<string, number>();
    for (const r of same) {
      const ch = [...r.compact][i]!;
      votes.set(ch, (votes.get(ch) ?? 0) + r.weight);
    }
    out += [...votes.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))[0]![0];
  }
  return out;
}

function strip(r: Usable): PlateRead {
  return { text: r.text, confidence: r.confidence, frameAt: r.frameAt };
}

function clamp01(v: number): number {
  return Number.isFinite(v) ? Math.min(1, Math.max(0, v)) : 0;
}

function round3(v: number): number {
  return Math.round(v * 1000) / 1000;
}
