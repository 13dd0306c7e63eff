import { describe, expect, it } from 'vitest';
import { DEFAULT_TRACK_PLATE, pickSightings, vehicleRegion } from '../../../pipeline/plate-evidence.js';
import { plateFromManifest } from '../../../pipeline/plate-from-manifest.js';
import type { StillRef } from '../../../violations/engine.js';

function sighting(t: number, w: number, h = w): StillRef {
  return {
    role: 'before',
    frame: { capturedAt: t, width: 1000, height: 500, data: Buffer.alloc(0) },
    box: { x: 0.1, y: 0.1, w, h },
  };
}

const section = {
  text: '30A12345',
  formatted: '30A-123.45',
  colour: 'white',
  confidence: 0.9,
  agreement: 1,
  support: 2,
  total: 2,
  needsReview: false,
  reviewReasons: [],
  alternatives: [],
  bestFrameAt: '2026-11-22T03:00:00.000Z',
  reads: [
    {
      capturedAt: '2026-11-22T03:00:00.000Z',
      text: '30A12345',
      confidence: 0.9,
      valid: true,
      box: { x: 1, y: 2, w: 3, h: 4 },
    },
  ],
  failures: [],
  models: { detector: { name: 'ppocr-det', version: '4' }, recogniser: { name: 'ppocr-rec', version: '4' } },
};
const bytes = (v: unknown) => Buffer.from(JSON.stringify(v));

describe('pickSightings', () => {
  it('keeps the largest boxes, at most maxFrames, in time order', () => {
    const picked = pickSightings([sighting(1, 0.1), sighting(2, 0.4), sighting(3, 0.2), sighting(4, 0.3)], {
      ...DEFAULT_TRACK_PLATE,
      maxFrames: 2,
    });
    expect(picked.map((s) => s.frame.capturedAt)).toEqual([2, 4]);
  });

  it('skips vehicles too small to carry a readable plate and sightings without a box', () => {
    const none: StillRef = { ...sighting(5, 0.5), box: undefined };
    const picked = pickSightings([sighting(1, 0.03), none, sighting(2, 0.05)], DEFAULT_TRACK_PLATE);
    // 0.03 × 1000 px = 30 px < 40 px.
    expect(picked.map((s) => s.frame.capturedAt)).toEqual([2]);
  });
});

describe('vehicleRegion', () => {
  it('adds a margin and stays inside the frame', () => {
    expect(vehicleRegion(sighting(1, 0.5, 0.5))).toEqual({ x: 70, y: 35, w: 560, h: 280 });
    const edge: StillRef = { ...sighting(1, 0.5), box: { x: 0.6, y: 0.7, w: 0.4, h: 0.3 } };
    expect(vehicleRegion(edge)).toEqual({ x: 576, y: 340, w: 424, h: 160 });
  });
});

describe('plateFromManifest', () => {
  it('reads the plate section the evidence builder writes', () => {
    const p = plateFromManifest(bytes({ ruleCode: 'red_light', plate: section }))!;
    expect(p).toMatchObject({ text: '30A12345', colour: 'white', confidence: 0.9 });
    expect(p.model).toEqual({ name: 'ppocr-rec', version: '4' });
    expect(p.reads[0]!.capturedAt.toISOString()).toBe('2026-11-22T03:00:00.000Z');
    expect(p.summary).toMatchObject({ needsReview: false, agreement: 1 });
  });

  it('gives nothing for a manifest without a plate (no reader configured)', () => {
    expect(plateFromManifest(bytes({ ruleCode: 'red_light' }))).toBeUndefined();
  });

  it('keeps a plate the database cannot hold off the row and sends it to review', () => {
    const p = plateFromManifest(bytes({ plate: { ...section, text: '30A', colour: 'unknown' } }))!;
    expect(p.text).toBeUndefined();
    expect(p.colour).toBeNull();
    expect(p.summary).toMatchObject({ needsReview: true, reviewReasons: ['no_usable_plate'] });
  });

  it('refuses a malformed plate section or manifest, permanently', () => {
    expect(() => plateFromManifest(bytes({ plate: { ...section, confidence: 3 } }))).toThrow(
      expect.objectContaining({ permanent: true, message: expect.stringContaining('confidence') }),
    );
    expect(() => plateFromManifest(Buffer.from('{not json'))).toThrow(/not JSON/);
  });
});
