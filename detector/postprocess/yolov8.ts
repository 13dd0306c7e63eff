/**
 * YOLOv8 head decoding (Ultralytics ONNX export, also YOLO11 and other anchor-free heads of that
 * export). The boxes are already decoded: per anchor cx, cy, w, h in model-input pixels, then one score
 * per class (sigmoid applied), no objectness. The export's layout is attributes-first,
 * [1, 4 + classes, anchors]; some tools transpose it to anchors-first, [1, anchors, 4 + classes].
 */
import type { Candidate } from './nms.js';

export interface Yolov8Spec {
  inputWidth: number;
  inputHeight: number;
  numClasses: number;
  layout: 'attributes-first' | 'anchors-first';
}

/**
 * Candidates scoring at least `scoreThreshold`, boxes in model-input pixels clipped to the input.
 * `classMask[c]` = 1 keeps class c (null keeps all).
 */
export function decodeYolov8(
  data: Float32Array,
  spec: Yolov8Spec,
  scoreThreshold: number,
  classMask: Uint8Array | null = null,
): Candidate[] {
  const attributes = 4 + spec.numClasses;
  if (data.length === 0 || data.length % attributes !== 0) {
    throw new Error(
      `YOLOv8 output: ${data.length} values are not a whole number of anchors × ${attributes} (4 + ${spec.numClasses} classes)`,
    );
  }
  const anchors = data.length / attributes;
  // Value (attribute a, anchor i) sits at a·aStep + i·iStep.
  const aStep = spec.layout === 'attributes-first' ? anchors : 1;
  const iStep = spec.layout === 'attributes-first' ? 1 : attributes;
  const out: Candidate[] = [];
  // Class by class: in the export's layout each class's scores are one contiguous row.
  for (let c = 0; c < spec.numClasses; c++) {
    if (classMask !== null && !classMask[c]) continue;
    const row = (4 + c) * aStep;
    for (let i = 0; i < anchors; i++) {
      const score = data[row + i * iStep]!;
      if (score < scoreThreshold) continue;
      const o = i * iStep;
      const cx = data[o]!;
      const cy = data[o + aStep]!;
      const hw = data[o + 2 * aStep]! / 2;
      const hh = data[o + 3 * aStep]! / 2;
      out.push({
        classId: c,
        score,
        x1: Math.max(0, cx - hw),
        y1: Math.max(0, cy - hh),
        x2: Math.min(spec.inputWidth, cx + hw),
        y2: Math.min(spec.inputHeight, cy + hh),
      });
    }
  }
  return out;
}
