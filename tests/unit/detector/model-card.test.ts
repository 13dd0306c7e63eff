import { describe, expect, it } from 'vitest';
import committed from '../../../models/nanodet-coco/1/card.json' with { type: 'json' };
import { AppError } from '../../../core/errors.js';
import {
  checkSessionAgainstCard,
  checkSha256,
  classMaskFor,
  outputTensors,
  parseModelCard,
  type SessionSignature,
} from '../../../detector/model-card.js';

const clone = (): Record<string, unknown> => structuredClone(committed) as Record<string, unknown>;

function thrown(fn: () => unknown): AppError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(AppError);
    return err as AppError;
  }
  throw new Error('expected an error');
}

/** The session signature that matches the committed card. */
function signature(): SessionSignature {
  const card = parseModelCard(committed, 'card.json');
  return {
    inputNames: [card.input.name],
    outputNames: outputTensors(card).map((t) => t.name),
    inputMetadata: [{ name: card.input.name, isTensor: true, type: 'float32', shape: [...card.input.shape] }],
    outputMetadata: outputTensors(card).map((t) => ({
      name: t.name,
      isTensor: true,
      type: 'float32',
      shape: [...t.shape],
    })),
  };
}

describe('model card', () => {
  it('accepts the committed nanodet-coco card', () => {
    const card = parseModelCard(committed, 'card.json');
    expect(card).toMatchObject({ name: 'nanodet-coco', version: '1', licence: { spdx: 'Apache-2.0' } });
    expect(card.labels).toHaveLength(80);
    expect(card.labels.slice(0, 4)).toEqual(['person', 'bicycle', 'car', 'motorcycle']);
  });

  it('names a malformed sha256 and unknown keys', () => {
    const bad = clone();
    bad['sha256'] = 'abc';
    bad['colour'] = 'blue';
    const err = thrown(() => parseModelCard(bad, 'models/x/1/card.json'));
    expect(err.code).toBe('model_invalid');
    expect(err.message).toContain('models/x/1/card.json is invalid');
    expect(err.message).toMatch(/sha256: 64 lower-case hex digits/);
    expect(err.message).toMatch(/colour/);
  });

  it('names an output tensor whose shape does not fit the grid, labels and regMax', () => {
    const bad = clone() as { output: { tensors: { name: string; shape: number[] }[] } };
    bad.output.tensors[0]!.shape = [1, 2704, 81];
    const err = thrown(() => parseModelCard(bad, 'card.json'));
    expect(err.code).toBe('model_invalid');
    expect(err.message).toContain('output.tensors.cls_stride8: shape [1,2704,81] should be [1,2704,80]');
  });

  it('rejects an input that is not NCHW with 3 channels', () => {
    const bad = clone() as { input: { shape: number[] } };
    bad.input.shape = [1, 416, 416, 3];
    expect(thrown(() => parseModelCard(bad, 'card.json')).message).toMatch(/input\.shape\.1/);
  });

  it('reports a file whose sha256 differs from the card, with both hashes', () => {
    const card = parseModelCard(committed, 'card.json');
    const other = 'f'.repeat(64);
    const err = thrown(() => checkSha256(card, other, 'models/nanodet-coco/1/model.onnx'));
    expect(err.code).toBe('model_invalid');
    expect(err.permanent).toBe(true);
    expect(err.message).toContain(`has sha256 ${other}, but its card says ${card.sha256}`);
    expect(() => checkSha256(card, card.sha256, 'model.onnx')).not.toThrow();
  });

  it('accepts a session that matches the card', () => {
    expect(() =>
      checkSessionAgainstCard(parseModelCard(committed, 'c'), signature(), 'model.onnx'),
    ).not.toThrow();
  });

  it('names a renamed input and a wrong output shape of the session', () => {
    const card = parseModelCard(committed, 'c');
    const sig = signature();
    const wrong: SessionSignature = {
      ...sig,
      inputMetadata: [{ name: 'images', isTensor: true, type: 'float32', shape: [1, 3, 416, 416] }],
      outputMetadata: sig.outputMetadata.map((m) =>
        m.name === 'dist_stride32' ? { ...m, shape: [1, 169, 68] } : m,
      ),
    };
    const err = thrown(() => checkSessionAgainstCard(card, wrong, 'model.onnx'));
    expect(err.code).toBe('model_invalid');
    expect(err.message).toContain("input 'input_1' is missing (model has 'images')");
    expect(err.message).toContain("output 'dist_stride32' has shape [1,169,68], card says [1,169,44]");
  });

  it('accepts symbolic dimensions but not a different dtype', () => {
    const card = parseModelCard(committed, 'c');
    const sig = signature();
    const symbolic = {
      ...sig,
      inputMetadata: [{ name: 'input_1', isTensor: true, type: 'float32', shape: ['batch', 3, 416, 416] }],
    };
    expect(() => checkSessionAgainstCard(card, symbolic, 'm')).not.toThrow();
    const f16 = {
      ...sig,
      inputMetadata: [{ name: 'input_1', isTensor: true, type: 'float16', shape: [1, 3, 416, 416] }],
    };
    expect(thrown(() => checkSessionAgainstCard(card, f16, 'm')).message).toContain(
      "input 'input_1' is float16",
    );
  });

  it('turns class names into a mask and names unknown ones', () => {
    const card = parseModelCard(committed, 'c');
    const mask = classMaskFor(card, ['car', 'traffic light']);
    expect([...mask.keys()].filter((i) => mask[i])).toEqual([2, 9]);
    const err = thrown(() => classMaskFor(card, ['car', 'tuk-tuk']));
    expect(err.code).toBe('config_invalid');
    expect(err.message).toContain("'tuk-tuk'");
  });

  it('rejects an output format it has no decoder for, naming the field', () => {
    const bad = clone() as { output: { format: string } };
    bad.output.format = 'ssd';
    expect(thrown(() => parseModelCard(bad, 'card.json')).message).toMatch(/output\.format/);
  });
});

/** A YOLOX-nano card (416 letterbox, BGR 0–255, 3549 grid rows of 5 + 80 values). */
function yoloxCard(): Record<string, unknown> {
  const card = clone();
  card['name'] = 'yolox-nano';
  card['input'] = {
    name: 'images',
    shape: [1, 3, 416, 416],
    layout: 'NCHW',
    dtype: 'float32',
    pixelFormat: 'BGR',
    normalisation: { mean: [0, 0, 0], std: [1, 1, 1] },
    resize: 'bilinear',
    letterbox: { enabled: true, align: 'top-left', padValue: 114 },
  };
  card['output'] = {
    format: 'yolox',
    description: 'raw YOLOX head',
    strides: [8, 16, 32],
    scoresActivated: true,
    tensor: { name: 'output', shape: [1, 3549, 85] },
  };
  return card;
}

/** A one-class YOLOv8 plate detector card (640, RGB 0–1, [1, 5, 8400]). */
function yolov8Card(): Record<string, unknown> {
  const card = yoloxCard();
  card['name'] = 'plate-yolov8n';
  card['labels'] = ['plate'];
  (card['input'] as Record<string, unknown>)['shape'] = [1, 3, 640, 640];
  (card['input'] as Record<string, unknown>)['pixelFormat'] = 'RGB';
  (card['input'] as Record<string, unknown>)['normalisation'] = { mean: [0, 0, 0], std: [255, 255, 255] };
  card['output'] = {
    format: 'yolov8',
    description: 'Ultralytics export',
    layout: 'attributes-first',
    scoresActivated: true,
    tensor: { name: 'output0', shape: [1, 5, 8400] },
  };
  return card;
}

describe('model card of other detector families', () => {
  it('accepts a YOLOX card and lists its one output tensor', () => {
    const card = parseModelCard(yoloxCard(), 'card.json');
    expect(card.output.format).toBe('yolox');
    expect(outputTensors(card)).toEqual([{ name: 'output', shape: [1, 3549, 85] }]);
  });

  it('names a YOLOX tensor whose rows do not fit the grids of its strides', () => {
    const bad = yoloxCard() as { output: { tensor: { shape: number[] } } };
    bad.output.tensor.shape = [1, 8400, 85];
    expect(thrown(() => parseModelCard(bad, 'card.json')).message).toContain(
      'output.tensor output: shape [1,8400,85] should be [1,3549,85]',
    );
    const noDecoderFields = yoloxCard() as { output: Record<string, unknown> };
    noDecoderFields.output['regMax'] = 10;
    expect(thrown(() => parseModelCard(noDecoderFields, 'card.json')).message).toMatch(/regMax/);
  });

  it('accepts a one-class YOLOv8 card and checks 4 + classes attributes in the layout it names', () => {
    expect(parseModelCard(yolov8Card(), 'card.json').labels).toEqual(['plate']);
    const transposed = yolov8Card() as { output: { layout: string; tensor: { shape: number[] } } };
    transposed.output.layout = 'anchors-first';
    expect(thrown(() => parseModelCard(transposed, 'card.json')).message).toContain(
      'shape [1,5,8400] should be [1,anchors,5]',
    );
    transposed.output.tensor.shape = [1, 8400, 5];
    expect(() => parseModelCard(transposed, 'card.json')).not.toThrow();
  });

  it('compares a YOLOX session with the single tensor of its card', () => {
    const card = parseModelCard(yoloxCard(), 'card.json');
    const session: SessionSignature = {
      inputNames: ['images'],
      outputNames: ['output'],
      inputMetadata: [{ name: 'images', isTensor: true, type: 'float32', shape: [1, 3, 416, 416] }],
      outputMetadata: [{ name: 'output', isTensor: true, type: 'float32', shape: [1, 3549, 85] }],
    };
    expect(() => checkSessionAgainstCard(card, session, 'm')).not.toThrow();
    const other = { ...session, outputMetadata: [{ ...session.outputMetadata[0]!, shape: [1, 2100, 85] }] };
    expect(thrown(() => checkSessionAgainstCard(card, other, 'm')).message).toContain(
      "output 'output' has shape [1,2100,85], card says [1,3549,85]",
    );
  });
});
