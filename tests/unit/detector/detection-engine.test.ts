import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import committed from '../../../models/nanodet-coco/1/card.json' with { type: 'json' };
import { createDecoder, defaultClassesFor } from '../../../detector/detection-engine.js';
import { classMaskFor, parseModelCard } from '../../../detector/model-card.js';

/** A tiny YOLOX card: 16×8 input, one stride of 8 (2 cells), the COCO labels. */
function tinyYolox() {
  const card = structuredClone(committed) as Record<string, unknown>;
  (card['input'] as { shape: number[] }).shape = [1, 3, 8, 16];
  card['output'] = {
    format: 'yolox',
    description: 'tiny',
    strides: [8],
    scoresActivated: true,
    tensor: { name: 'output', shape: [1, 2, 85] },
  };
  return parseModelCard(card, 'tiny');
}

describe('decoder selection', () => {
  it("decodes with the family the card's output format names", () => {
    const card = tinyYolox();
    const rows = new Float32Array(2 * 85);
    // Cell 1 (centre (8 + 0.5·8, 4)), a car (class 2) at 0.9 × 0.8, 8×8 pixels.
    rows.set([0.5, 0.5, 0, 0, 0.9], 85);
    rows[85 + 5 + 2] = 0.8;
    const decode = createDecoder(card, 0.5, classMaskFor(card, ['car']));
    const out = decode({ output: new ort.Tensor('float32', rows, [1, 2, 85]) });
    expect(out).toEqual([{ classId: 2, score: expect.closeTo(0.72, 6), x1: 8, y1: 0, x2: 16, y2: 8 }]);
    expect(() => decode({})).toThrow("model output 'output' is missing");
  });

  it('keeps the NanoDet decoder for the committed card', () => {
    const card = parseModelCard(committed, 'card.json');
    const decode = createDecoder(card, 0.5, classMaskFor(card, ['car']));
    const outputs: Record<string, ort.Tensor> = {};
    if (card.output.format !== 'nanodet-gfl') throw new Error('committed card is NanoDet');
    for (const t of card.output.tensors) {
      outputs[t.name] = new ort.Tensor('float32', new Float32Array(t.shape[1]! * t.shape[2]!), t.shape);
    }
    // Stride 32, cell 0: a car at 0.6 with every distance distribution uniform (expectation 5 × 32).
    outputs['cls_stride32']!.data[2] = 0.6;
    expect(decode(outputs)).toEqual([
      { classId: 2, score: expect.closeTo(0.6, 6), x1: 0, y1: 0, x2: 176, y2: 176 },
    ]);
  });
});

describe('default classes', () => {
  it('are the road users for a COCO card and every label of a card that has none of them', () => {
    const coco = parseModelCard(committed, 'card.json');
    expect(defaultClassesFor(coco)).toEqual([
      'car',
      'motorcycle',
      'bus',
      'truck',
      'bicycle',
      'person',
      'traffic light',
    ]);
    const plates = structuredClone(committed) as Record<string, unknown>;
    plates['labels'] = ['plate'];
    const out = (plates['output'] as { tensors: { role: string; shape: number[] }[] }).tensors;
    for (const t of out) if (t.role === 'scores') t.shape[2] = 1;
    expect(defaultClassesFor(parseModelCard(plates, 'plates'))).toEqual(['plate']);
  });
});
