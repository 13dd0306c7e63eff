import { describe, expect, it } from 'vitest';
import ownCard from '../../../models/vn-plate-ocr/1/card.json' with { type: 'json' };
import { AppError } from '../../../core/errors.js';
import type { PlateRecognitionCard } from '../../../detector/model-card.js';
import { parseOcrModelCard, recognitionClasses } from '../../../detector/model-card.js';
import { ctcGreedyDecode } from '../../../detector/plates/ctc.js';
import type { RgbImage } from '../../../detector/plates/image.js';
import { plateSymbolMap, preprocessPlate, splitRows } from '../../../detector/plates/plate-recogniser.js';

const CHARSET = [...'0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZĐ|'];
const INPUT: PlateRecognitionCard['input'] = {
  name: 'image',
  shape: ['N', 1, 4, 6],
  layout: 'NCHW',
  dtype: 'float32',
  pixelFormat: 'GRAY',
  normalisation: { mean: [127.5], std: [127.5] },
  resize: 'stretch',
  warmUpShape: [1, 1, 4, 6],
};

function image(width: number, height: number, pixel: (x: number, y: number) => [number, number, number]) {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data.set(pixel(x, y), (y * width + x) * 3);
  return { data, width, height } satisfies RgbImage;
}

/** Probabilities for a path of class indices (0 = blank): `p` on the path, the rest spread evenly. */
function probsFor(path: readonly number[], p = 0.9, classes = CHARSET.length + 1): Float32Array {
  const out = new Float32Array(path.length * classes).fill((1 - p) / (classes - 1));
  path.forEach((c, t) => (out[t * classes + c] = p));
  return out;
}
const cls = (ch: string) => CHARSET.indexOf(ch) + 1;

describe('whole-plate recogniser pre-processing', () => {
  it('stretches the crop to the input size and normalises its luma to -1..1', () => {
    // Left half black, right half white, on a crop 12 wide: columns 0-2 black, 3-5 white.
    const x = preprocessPlate(
      image(12, 8, (px) => (px < 6 ? [0, 0, 0] : [255, 255, 255])),
      INPUT,
    );
    expect(x).toHaveLength(24);
    for (let row = 0; row < 4; row++) {
      expect([...x.subarray(row * 6, row * 6 + 6)]).toEqual([-1, -1, -1, 1, 1, 1]);
    }
  });

  it('uses BT.601 luma, so a red plate is dark and a yellow one light', () => {
    const red = preprocessPlate(
      image(6, 4, () => [255, 0, 0]),
      INPUT,
    );
    const yellow = preprocessPlate(
      image(6, 4, () => [255, 255, 0]),
      INPUT,
    );
    expect(red[0]).toBeCloseTo((76 - 127.5) / 127.5, 5);
    expect(yellow[0]).toBeCloseTo((226 - 127.5) / 127.5, 5);
  });

  it('writes each crop at its offset in a batch', () => {
    const batch = new Float32Array(48).fill(7);
    preprocessPlate(
      image(3, 2, () => [255, 255, 255]),
      INPUT,
      batch,
      24,
    );
    expect(batch[23]).toBe(7);
    expect(batch[24]).toBe(1);
    expect(batch[47]).toBe(1);
  });

  it('rejects a buffer that does not match its size', () => {
    expect(() => preprocessPlate({ data: new Uint8Array(5), width: 2, height: 2 }, INPUT)).toThrow(AppError);
  });
});

describe('whole-plate recogniser decoding', () => {
  const map = plateSymbolMap(CHARSET, '|');

  it('splits a two-row reading at the row break', () => {
    // 2 9 - B 1 | 1 2 3 4 5 with blanks and a repeated 1 that CTC must merge.
    const path = [cls('2'), cls('9'), 0, cls('B'), cls('1'), cls('1'), 0, cls('|'), cls('1'), cls('2')];
    const ctc = ctcGreedyDecode(probsFor(path), path.length, map);
    const r = splitRows(ctc.chars, '|');
    expect(r.text).toBe('29B112');
    expect(r.rows).toBe(2);
    expect(r.rowBreak).toBe(4);
    expect(r.chars.map((c) => c.char).join('')).toBe('29B112');
    // Seven decoded symbols (the row break included), each at 0.9.
    expect(r.confidence).toBeCloseTo(0.9 ** 7, 6);
  });

  it('reads a one-row plate and keeps Đ', () => {
    const path = [cls('2'), cls('9'), cls('M'), cls('Đ'), 0, cls('1')];
    const r = splitRows(ctcGreedyDecode(probsFor(path), path.length, map).chars, '|');
    expect(r).toMatchObject({ text: '29MĐ1', rows: 1 });
    expect(r.rowBreak).toBeUndefined();
  });

  it('reads a row break with nothing before it as one row', () => {
    const path = [cls('|'), cls('3'), cls('0'), cls('A')];
    const r = splitRows(ctcGreedyDecode(probsFor(path), path.length, map).chars, '|');
    expect(r).toMatchObject({ text: '30A', rows: 1 });
  });

  it('never offers the row break as an alternative character', () => {
    const classes = CHARSET.length + 1;
    const probs = probsFor([cls('8')], 0.5);
    probs[cls('|')] = 0.3;
    probs[cls('B')] = 0.15;
    const r = splitRows(ctcGreedyDecode(probs, 1, map, { alternatives: 3 }).chars, '|');
    expect(r.chars[0]!.char).toBe('8');
    expect(r.chars[0]!.alternatives!.map((a) => a.char)).not.toContain('|');
    expect(r.chars[0]!.alternatives![0]!.char).toBe('B');
    expect(classes).toBe(39);
  });

  it('gives an empty reading no confidence', () => {
    const r = splitRows(ctcGreedyDecode(probsFor([0, 0, 0]), 3, map).chars, '|');
    expect(r).toMatchObject({ text: '', rows: 1, confidence: 0 });
  });
});

describe('plate-recognition card', () => {
  it('accepts the committed vn-plate-ocr card', () => {
    const card = parseOcrModelCard(ownCard, 'vn-plate-ocr');
    if (card.task !== 'plate-recognition') throw new Error('not a plate-recognition card');
    expect(card.licence.spdx).toBe('Apache-2.0');
    expect(card.input.shape.slice(1)).toEqual([1, 48, 144]);
    expect(recognitionClasses(card)).toBe(39);
    expect(card.output.tensor.shape[2]).toBe(39);
    expect(card.output.rowBreak).toBe('|');
  });

  it('rejects an output whose classes do not fit the charset', () => {
    const bad = structuredClone(ownCard) as unknown as { output: { tensor: { shape: unknown[] } } };
    bad.output.tensor.shape = ['N', 72, 40];
    expect(() => parseOcrModelCard(bad, 'bad')).toThrow(/should be \[N,T,39\]/);
  });

  it('rejects a colour input for a grey model', () => {
    const bad = structuredClone(ownCard) as unknown as { input: { shape: unknown[] } };
    bad.input.shape = ['N', 3, 48, 144];
    expect(() => parseOcrModelCard(bad, 'bad')).toThrow(AppError);
  });
});
