import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FlagSummary } from '../../../pipeline/evidence-builder.js';
import { EvidenceJournal } from '../../../pipeline/evidence-journal.js';
import type { EvidenceRef } from '../../../pipeline/payloads.js';
import type { TrackPlate } from '../../../pipeline/plate-evidence.js';

const log = pino({ level: 'silent' });

const flag = (trackKey: string): FlagSummary => ({
  ruleCode: 'red_light',
  trackKey,
  trackId: 3,
  vehicleClass: 'car',
  at: Date.parse('2026-11-22T08:00:00Z'),
  details: { redForMs: 1200, lane: 'L1' },
  trajectory: [{ t: Date.parse('2026-11-22T08:00:00Z'), box: { x: 1, y: 2, w: 30, h: 20 }, score: 0.8 }],
  stills: [{ role: 'at', frame: { capturedAt: Date.parse('2026-11-22T08:00:00Z') } }],
  sightings: [],
  models: [{ name: 'nanodet-coco', version: '1', sha256: 'a'.repeat(64) }],
});

const image: EvidenceRef = {
  kind: 'still_at',
  sha256: 'b'.repeat(64),
  mediaType: 'image/jpeg',
  sizeBytes: 1234,
  storageUri: `cas:bb/${'b'.repeat(64)}.jpg`,
};

const plate = {
  consensus: { plate: '30A12345', agreement: 1, needsReview: false, reason: 'agreed' },
  reads: [],
  best: undefined,
  crop: Buffer.from([0xff, 0xd8, 0x00, 0x01, 0xff, 0xd9]),
  failures: [],
  models: { detector: { name: 'ppocr-det', version: '4' }, recogniser: { name: 'ppocr-rec', version: '4' } },
  confidence: 0.93,
} as unknown as TrackPlate;

describe('evidence journal', () => {
  let dir: string;
  let journal: EvidenceJournal;
  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pn-journal-'));
    journal = new EvidenceJournal(dir, log);
  });
  afterEach(() => fs.rm(dir, { recursive: true, force: true }));

  const base = (trackKey: string) => ({
    cameraId: 7,
    trackKey,
    ruleCode: 'red_light',
    workerId: 'w1',
    sceneConfigVersion: 4,
    flag: flag(trackKey),
    images: [image],
  });

  it('keeps an act on disk, with its plate crop byte for byte, until it is removed', async () => {
    await journal.write({ ...base('t1'), plate });
    const [entry, ...rest] = await journal.pending(7, 0);
    expect(rest).toEqual([]);
    expect(entry!.flag.trackKey).toBe('t1');
    expect(entry!.flag.details).toEqual({ redForMs: 1200, lane: 'L1' });
    expect(entry!.images).toEqual([image]);
    expect(entry!.sceneConfigVersion).toBe(4);
    expect(entry!.plate!.crop!.equals(plate.crop!)).toBe(true);
    expect(entry!.plate!.confidence).toBe(0.93);
    expect(entry!.payload).toBeUndefined();
    await journal.remove({ cameraId: 7, trackKey: 't1', ruleCode: 'red_light' });
    expect(await journal.pending(7, 0)).toEqual([]);
    // No temporary file is left behind by the atomic write.
    expect(await fs.readdir(path.join(dir, 'camera-7'))).toEqual([]);
  });

  it('replaces an entry when the act moves on (one file per camera, track and rule)', async () => {
    await journal.write(base('t1'));
    const payload = {
      cameraId: 7,
      trackKey: 't1',
      ruleCode: 'red_light',
      observedAt: '2026-11-22T08:00:00.000Z',
      vehicleClass: 'car',
      sceneConfigVersion: 4,
      details: {},
      evidence: [image],
    };
    await journal.write({ ...base('t1'), payload });
    const entries = await journal.pending(7, 0);
    expect(entries).toHaveLength(1);
    expect(entries[0]!.payload).toEqual(payload);
  });

  it('leaves young entries to the worker that may still be finishing them, and gives the rest oldest first', async () => {
    await journal.write(base('t1'));
    await new Promise((r) => setTimeout(r, 20));
    await journal.write(base('t2'));
    expect(await journal.pending(7, 60_000)).toEqual([]);
    const later = Date.now() + 120_000;
    expect((await journal.pending(7, 60_000, later)).map((e) => e.trackKey)).toEqual(['t1', 't2']);
    expect(await journal.pending(8, 0)).toEqual([]);
  });

  it('sets aside an entry it cannot read instead of failing or deleting it', async () => {
    await journal.write(base('t1'));
    const file = path.join(dir, 'camera-7', 'red_light.t1.json');
    await fs.writeFile(file, '{"schema":"phat-nguoi/evidence-journal@1","cameraId":');
    expect(await journal.pending(7, 0)).toEqual([]);
    expect(journal.corrupt).toBe(1);
    expect(await fs.readdir(path.join(dir, 'camera-7'))).toEqual(['red_light.t1.json.corrupt']);
  });

  it('names files safely whatever the track key holds', async () => {
    await journal.write(base('../../etc/x'));
    const names = await fs.readdir(path.join(dir, 'camera-7'));
    expect(names).toHaveLength(1);
    expect(names[0]).not.toContain('/');
    expect((await journal.pending(7, 0))[0]!.trackKey).toBe('../../etc/x');
  });
});
