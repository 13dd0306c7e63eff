/**
 * YOLOX head decoding (the ONNX export without `decode_in_inference`). One tensor
 * [1, Σ cells, 5 + classes]: the grids of the strides in order, each ⌈H/s⌉ × ⌈W/s⌉ cells row-major.
 * A row holds dx, dy, log w, log h, objectness and the class scores (objectness and classes already
 * through a sigmoid). The box centre is ((gx + dx)·s, (gy + dy)·s), its size (e^lw·s, e^lh·s), and a
 * class scores objectness × class score. There is no cell-centre offset (unlike NanoDet's 0.5).
 */
import type { Candidate } from './nms.js';

export interface YoloxSpec {
  inputWidth: number;
  inputHeight: number;
  numClasses: number;
  strides: readonly number[];
}

/**
 * Candidates scoring at least `scoreThreshold`, boxes in model-input pixels clipped to the input.
 * `classMask[c]` = 1 keeps class c (null keeps all).
 */
export function decodeYolox(
  data: Float32Array,
  spec: YoloxSpec,
  scoreThreshold: number,
  classMask: Uint8Array | null = null,
): Candidate[] {
  const nc = spec.numClasses;
  const rowLength = 5 + nc;
  let rows = 0;
  for (const s of spec.strides) rows += Math.ceil(spec.inputHeight / s) * Math.ceil(spec.inputWidth / s);
  if (data.length !== rows * rowLength) {
    throw new Error(
      `YOLOX output: expected ${rows}×${rowLength} values for strides ${spec.strides.join('/')} on ` +
        `${spec.inputWidth}×${spec.inputHeight}, got ${data.length}`,
    );
  }
  // Classes to look at, so that masked-out classes cost nothing per cell.
  const wanted: number[] = [];
  for (let c = 0; c < nc; c++) if (classMask === null || classMask[c]) wanted.push(c);
  const out: Candidate[] = [];
  let row = 0;
  for (const stride of spec.strides) {
    const cols = Math.ceil(spec.inputWidth / stride);
    const gridRows = Math.ceil(spec.inputHeight / stride);
    for (let gy = 0; gy < gridRows; gy++) {
      for (let gx = 0; gx < cols; gx++, row++) {
        const o = row * rowLength;
        const objectness = data[o + 4]!;
        // Class scores are at most 1, so a cell below the threshold on objectness has nothing to give.
        if (objectness < scoreThreshold) continue;
        let box: [number, number, number, number] | undefined;
        for (const c of wanted) {
          const score = objectness * data[o + 5 + c]!;
          if (score < scoreThreshold) continue;
          if (!box) {
            const cx = (gx + data[o]!) * stride;
            const cy = (gy + data[o + 1]!) * stride;
            const hw = (Math.exp(data[o + 2]!) * stride) / 2;
            const hh = (Math.exp(data[o + 3]!) * stride) / 2;
            box = [
              Math.max(0, cx - hw),
              Math.max(0, cy - hh),
              Math.min(spec.inputWidth, cx + hw),
              Math.min(spec.inputHeight, cy + hh),
            ];
          }
          out.push({ classId: c, score, x1: box[0], y1: box[1], x2: box[2], y2: box[3] });
        }
      }
    }
  }
  return out;
}
