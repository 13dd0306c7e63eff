/**
 * DB (differentiable binarisation) post-processing, as PaddleOCR's DBPostProcess: threshold the text
 * probability map, take each connected region, keep it when its mean probability reaches the box
 * threshold, and grow its box by area × unclipRatio / perimeter on every side (the network marks a
 * shrunk core of each text line). Boxes are axis-aligned, in map pixels.
 */

export interface DbThresholds {
  binary: number;
  box: number;
  unclipRatio: number;
  minSize: number;
  maxCandidates: number;
}

export interface MapBox {
  x1: number;
  y1: number;
  x2: number;
  y2: number;
  /** Mean probability over the region's pixels. */
  score: number;
}

export function dbBoxes(prob: Float32Array, width: number, height: number, t: DbThresholds): MapBox[] {
  const n = width * height;
  const label = new Int32Array(n);
  const stack = new Int32Array(n);
  const boxes: MapBox[] = [];
  let next = 0;
  for (let start = 0; start < n; start++) {
    if (label[start] !== 0 || prob[start]! <= t.binary) continue;
    next++;
    let top = 0;
    stack[top++] = start;
    label[start] = next;
    let x1 = width;
    let y1 = height;
    let x2 = -1;
    let y2 = -1;
    let sum = 0;
    let count = 0;
    while (top > 0) {
      const i = stack[--top]!;
      const y = (i / width) | 0;
      const x = i - y * width;
      sum += prob[i]!;
      count++;
      if (x < x1) x1 = x;
      if (x > x2) x2 = x;
      if (y < y1) y1 = y;
      if (y > y2) y2 = y;
      // 8-connected neighbours.
      for (let dy = -1; dy <= 1; dy++) {
        const yy = y + dy;
        if (yy < 0 || yy >= height) continue;
        for (let dx = -1; dx <= 1; dx++) {
          const xx = x + dx;
          if (xx < 0 || xx >= width || (dx === 0 && dy === 0)) continue;
          const j = yy * width + xx;
          if (label[j] === 0 && prob[j]! > t.binary) {
            label[j] = next;
            stack[top++] = j;
          }
        }
      }
    }
    const w = x2 - x1 + 1;
    const h = y2 - y1 + 1;
    if (Math.min(w, h) < t.minSize) continue;
    const score = sum / count;
    if (score < t.box) continue;
    const d = (w * h * t.unclipRatio) / (2 * (w + h));
    const box = { x1: x1 - d, y1: y1 - d, x2: x2 + 1 + d, y2: y2 + 1 + d, score };
    if (Math.min(box.x2 - box.x1, box.y2 - box.y1) < t.minSize + 2) continue;
    boxes.push(box);
  }
  boxes.sort((a, b) => b.score - a.score);
  return boxes.slice(0, t.maxCandidates);
}
