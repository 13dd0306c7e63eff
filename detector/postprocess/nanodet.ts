/**
 * NanoDet (GFL head) output decoding. Per stride s the model gives, for every cell of the
 * ⌈H/s⌉ × ⌈W/s⌉ grid (row-major), class scores (sigmoid already applied) and 4 × (regMax + 1)
 * logits: for each side (left, top, right, bottom) a distribution over distances 0…regMax in units of
 * s. The distance is the expectation of the softmax; the box is centre ∓ distance × s, where the centre
 * is ((x + offset)·s, (y + offset)·s).
 */
import type { Candidate } from './nms.js';

export interface NanodetSpec {
  inputWidth: number;
  inputHeight: number;
  numClasses: number;
  regMax: number;
  /** 0.5 for the original NanoDet head (cell centres), 0 for NanoDet-Plus. */
  centerOffset: number;
}

export interface NanodetLevel {
  stride: number;
  /** [cells × numClasses] */
  scores: Float32Array;
  /** [cells × 4 × (regMax + 1)] */
  distances: Float32Array;
}

/** Softmax expectation of `bins` logits starting at `offset`: Σ i·softmax(z)_i. */
export function distributionExpectation(logits: Float32Array, offset: number, bins: number): number {
  let max = -Infinity;
  for (let i = 0; i < bins; i++) if (logits[offset + i]! > max) max = logits[offset + i]!;
  let sum = 0;
  let weighted = 0;
  for (let i = 0; i < bins; i++) {
    const e = Math.exp(logits[offset + i]! - max);
    sum += e;
    weighted += i * e;
  }
  return weighted / sum;
}

/**
 * Candidates scoring at least `scoreThreshold`, boxes in model-input pixels clipped to the input.
 * `classMask[c]` = 1 keeps class c (null keeps all).
 */
export function decodeNanodet(
  levels: readonly NanodetLevel[],
  spec: NanodetSpec,
  scoreThreshold: number,
  classMask: Uint8Array | null = null,
): Candidate[] {
  const out: Candidate[] = [];
  const bins = spec.regMax + 1;
  const nc = spec.numClasses;
  for (const { stride, scores, distances } of levels) {
    const cols = Math.ceil(spec.inputWidth / stride);
    const rows = Math.ceil(spec.inputHeight / stride);
    const cells = cols * rows;
    if (scores.length !== cells * nc || distances.length !== cells * 4 * bins) {
      throw new Error(
        `stride ${stride}: expected ${cells}×${nc} scores and ${cells}×${4 * bins} distances, ` +
          `got ${scores.length} and ${distances.length}`,
      );
    }
    for (let cell = 0; cell < cells; cell++) {
      const base = cell * nc;
      let box: [number, number, number, number] | undefined;
      for (let c = 0; c < nc; c++) {
        const score = scores[base + c]!;
        if (score < scoreThreshold || (classMask !== null && !classMask[c])) continue;
        if (!box) {
          const cx = ((cell % cols) + spec.centerOffset) * stride;
          const cy = (Math.floor(cell / cols) + spec.centerOffset) * stride;
          const d = cell * 4 * bins;
          box = [
            Math.max(0, cx - distributionExpectation(distances, d, bins) * stride),
            Math.max(0, cy - distributionExpectation(distances, d + bins, bins) * stride),
            Math.min(spec.inputWidth, cx + distributionExpectation(distances, d + 2 * bins, bins) * stride),
            Math.min(spec.inputHeight, cy + distributionExpectation(distances, d + 3 * bins, bins) * stride),
          ];
        }
        out.push({ classId: c, score, x1: box[0], y1: box[1], x2: box[2], y2: box[3] });
      }
    }
  }
  return out;
}
