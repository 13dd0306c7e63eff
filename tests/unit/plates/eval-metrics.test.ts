import { describe, expect, it } from 'vitest';
import { plateFromFileName } from '../../../scripts/eval/plates/datasets.js';
import {
  coverageCurve,
  editDistance,
  matchPlates,
  score,
  summarise,
  summariseDetection,
} from '../../../scripts/eval/plates/metrics.js';
import { UsageError, detectRegion, parseArgs } from '../../../scripts/eval/eval-plates.js';

describe('plate evaluation metrics', () => {
  it('measures edit distance', () => {
    expect(editDistance('30A12345', '30A12345')).toBe(0);
    expect(editDistance('30A12345', '30A1234')).toBe(1);
    expect(editDistance('30A12345', '3OA12345')).toBe(1);
    expect(editDistance('', 'ABC')).toBe(3);
    expect(editDistance('MĐ', 'MD')).toBe(1);
  });

  it('scores on the compact form with Đ as D', () => {
    expect(score('29-MĐ1 013.53', '29MD101353', 0.9).exact).toBe(true);
    expect(score('30A12345', '30A1234S', 0.9)).toMatchObject({ exact: false, distance: 1, length: 8 });
  });

  it('summarises exact and character accuracy', () => {
    const s = summarise([score('30A12345', '30A12345', 1), score('30A12345', '30A1234', 1)]);
    expect(s).toEqual({ n: 2, exact: 0.5, charAccuracy: 0.9375 });
  });

  it('gives accuracy against coverage above each confidence threshold', () => {
    const items = [
      score('A1', 'A1', 0.95),
      score('B2', 'B2', 0.85),
      score('C3', 'C8', 0.4),
      score('D4', 'D4', 0.2),
    ];
    const c = coverageCurve(items, [0, 0.5, 0.9]);
    expect(c).toEqual([
      { threshold: 0, coverage: 1, exact: 0.75, n: 4 },
      { threshold: 0.5, coverage: 0.5, exact: 1, n: 2 },
      { threshold: 0.9, coverage: 0.25, exact: 1, n: 1 },
    ]);
  });

  it('matches predictions to plates one to one at IoU ≥ 0.5', () => {
    const truths = [
      { box: { x: 0, y: 0, w: 100, h: 50 }, plate: 'AB123' },
      { box: { x: 300, y: 0, w: 100, h: 50 }, plate: 'CD456' },
    ];
    const preds = [
      { box: { x: 5, y: 2, w: 100, h: 50 }, score: 0.9, text: 'AB123', confidence: 0.9 },
      { box: { x: 0, y: 0, w: 100, h: 50 }, score: 0.5, text: 'AB128', confidence: 0.5 },
      { box: { x: 340, y: 0, w: 100, h: 50 }, score: 0.8, text: 'CD456', confidence: 0.9 },
    ];
    const m = matchPlates(truths, preds);
    expect(m[0]!.prediction?.text).toBe('AB128');
    expect(m[0]!.iou).toBe(1);
    expect(m[1]!.prediction).toBeUndefined();
    const s = summariseDetection([{ matches: m, predictions: preds }]);
    expect(s).toMatchObject({ images: 1, n: 2, recall: 0.5, exact: 0, exactTop1: 1, unmatchedPerImage: 2 });
  });

  it('takes the plate text of a names-layout file from its name', () => {
    expect(plateFromFileName('/x/val/B68SPK_1.png')).toBe('B68SPK');
    expect(plateFromFileName('FR199739.png')).toBe('FR199739');
    expect(plateFromFileName('MDT5157.JPG')).toBe('MDT5157');
  });

  it('calls a dataset Vietnamese when most labels parse as VN plates', () => {
    expect(detectRegion(['30A12345', '29B112345', 'M5XSX'])).toEqual({ region: 'vn', vnShare: 0.667 });
    expect(detectRegion(['M5XSX', 'GWAGEN', '30A12345'])).toEqual({ region: 'auto', vnShare: 0.333 });
  });
});

describe('eval CLI arguments', () => {
  it('parses the contract', () => {
    const o = parseArgs(
      [
        '--dataset',
        'd',
        '--layout',
        'openalpr',
        '--out',
        'r.json',
        '--ocr',
        'cct_xs',
        '--detector',
        'yolov8-plate',
      ],
      {
        SHARED_DIR: '/s',
      },
    );
    expect(o).toMatchObject({
      layout: 'openalpr',
      out: 'r.json',
      ocr: 'cct_xs',
      detector: 'yolov8-plate',
      region: 'detect',
      sharedDir: '/s',
    });
    expect(parseArgs(['--dataset=d', '--layout=names', '--limit=5'], {}).limit).toBe(5);
    // The vehicle detector's version, as production selects it (unset: the registry's default).
    expect(
      parseArgs(['--dataset=d', '--layout=openalpr'], { DETECTOR_MODEL_VERSION: '2' }).vehicleVersion,
    ).toBe('2');
    expect(parseArgs(['--dataset=d', '--layout=openalpr'], {}).vehicleVersion).toBeUndefined();
  });

  it('rejects what it does not know', () => {
    expect(() => parseArgs(['--layout', 'crops'], {})).toThrow(UsageError);
    expect(() => parseArgs(['--dataset', 'd', '--layout', 'yolo'], {})).toThrow(/--layout must be one of/);
    expect(() =>
      parseArgs(['--dataset', 'd', '--layout', 'crops', '--detector', 'yolov8-plate'], {}),
    ).toThrow(/openalpr only/);
    expect(() => parseArgs(['--dataset', 'd', '--layout', 'crops', '--colour', 'x'], {})).toThrow(
      /unknown option --colour/,
    );
  });
});
