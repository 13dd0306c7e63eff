import { describe, expect, it } from 'vitest';
import type { FoundPlate, RgbImage } from '../../../detector/plates/index.js';
import {
  DEFAULT_TRACK_PLATE,
  enlargeForReading,
  pickSightings,
  readingScale,
  readTrackPlate,
  toFramePixels,
  vehicleRegion,
  type TrackPlateReader,
} from '../../../pipeline/plate-evidence.js';
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

  it('reads whole vehicles before larger ones cut off by the frame edge', () => {
    const cut = (t: number): StillRef => ({ ...sighting(t, 0.5), box: { x: 0.6, y: 0.6, w: 0.4, h: 0.4 } });
    const picked = pickSightings([cut(1), sighting(2, 0.1), cut(3), sighting(4, 0.2)], {
      ...DEFAULT_TRACK_PLATE,
      maxFrames: 3,
    });
    // The two whole ones (smaller), then the larger cut one that came first.
    expect(picked.map((s) => s.frame.capturedAt)).toEqual([1, 2, 4]);
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

describe('small vehicles are enlarged before reading', () => {
  it('enlarges crops narrower than minCropPx, by at most maxUpscale, and leaves wide ones alone', () => {
    const o = { minCropPx: 320, maxUpscale: 3 };
    expect(readingScale(160, o)).toBe(2);
    expect(readingScale(80, o)).toBe(3);
    expect(readingScale(320, o)).toBe(1);
    expect(readingScale(900, o)).toBe(1);
  });

  it('resamples the pixels (not a nearest copy) and reports the factors applied', async () => {
    // A 4×2 crop: black left half, white right half.
    const data = new Uint8Array(4 * 2 * 3);
    for (let y = 0; y < 2; y++)
      for (let x = 2; x < 4; x++) data.fill(255, (y * 4 + x) * 3, (y * 4 + x) * 3 + 3);
    const { image, scale } = await enlargeForReading(
      { data, width: 4, height: 2 },
      { minCropPx: 10, maxUpscale: 3 },
    );
    expect([image.width, image.height]).toEqual([10, 5]);
    expect(scale).toEqual({ x: 2.5, y: 2.5 });
    expect(image.data.length).toBe(10 * 5 * 3);
    const row = Array.from({ length: 10 }, (_, x) => image.data[(2 * 10 + x) * 3]!);
    expect(row[0]).toBeLessThan(30);
    expect(row[9]).toBeGreaterThan(225);
    // The edge is interpolated: some pixel lies strictly between black and white.
    expect(row.some((v) => v > 30 && v < 225)).toBe(true);
    const same = { data, width: 4, height: 2 };
    expect((await enlargeForReading(same, { minCropPx: 4, maxUpscale: 3 })).image).toBe(same);
  });

  it('maps a box found on the enlarged crop back to frame pixels', () => {
    expect(
      toFramePixels({ x: 30, y: 60, w: 90, h: 30 }, { x: 100, y: 200, w: 50, h: 40 }, { x: 3, y: 3 }),
    ).toEqual({
      x: 110,
      y: 220,
      w: 30,
      h: 10,
    });
  });

  it('reads a small vehicle on the enlarged crop and records the plate box in frame pixels', async () => {
    const seen: { width: number; height: number }[] = [];
    const reader: TrackPlateReader = {
      model: { name: 'rec', version: '1' },
      detModel: { name: 'det', version: '1' },
      readPlates(image: RgbImage): Promise<FoundPlate[]> {
        seen.push({ width: image.width, height: image.height });
        const plate = { x: image.width / 4, y: image.height / 2, w: image.width / 4, h: image.height / 10 };
        return Promise.resolve([
          {
            box: plate,
            text: plate,
            score: 0.9,
            rows: 1,
            model: { name: 'det', version: '1' },
            reading: {
              compact: '30A12345',
              formatted: '30A-123.45',
              rows: 1,
              chars: [],
              confidence: 0.9,
              colour: 'white',
              valid: true,
              reviewReasons: [],
              corrections: [],
              model: { name: 'rec', version: '1' },
            },
          },
        ]);
      },
    };
    const frame = { capturedAt: 1, width: 1000, height: 500, data: Buffer.alloc(1000 * 500 * 3, 90) };
    // A 100 × 50 px vehicle: its crop (with the margin, 112–113 px wide) is read 320 px wide.
    const small: StillRef = { role: 'before', frame, box: { x: 0.2, y: 0.2, w: 0.1, h: 0.1 } };
    const plate = await readTrackPlate({ sightings: [small], stills: [] }, reader);
    const region = vehicleRegion(small);
    expect(region.w).toBeLessThan(120);
    expect(seen).toEqual([{ width: 320, height: Math.round((region.h * 320) / region.w) }]);
    expect(plate.best?.box.x).toBeCloseTo(region.x + region.w / 4, 6);
    expect(plate.best?.box.y).toBeCloseTo(region.y + region.h / 2, 6);
    expect(plate.best?.box.w).toBeCloseTo(region.w / 4, 6);
    expect(plate.best?.box.h).toBeCloseTo(region.h / 10, 6);
    // A large one is read at its own pixels.
    seen.length = 0;
    const large: StillRef = { role: 'before', frame, box: { x: 0.2, y: 0.2, w: 0.5, h: 0.5 } };
    await readTrackPlate({ sightings: [large], stills: [] }, reader);
    expect(seen).toEqual([{ width: vehicleRegion(large).w, height: vehicleRegion(large).h }]);
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
