/**
 * A flagged vehicle's plate, end to end on real components: the PP-OCR plate reader (registry, worker
 * thread) reads the plate on several buffered frames of a moving vehicle (rendered here), the consensus
 * goes into the signed manifest with the plate crop, and the worker's handler puts the plate on the
 * violation row and the reads in plate_read — without the plate ever travelling in the job.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../../core/logger.js';
import { upsertCameraByCode } from '../../../db/repositories/camera.repository.js';
import { listPlateReadsForViolation } from '../../../db/repositories/plate-read.repository.js';
import { addSceneConfigVersion } from '../../../db/repositories/scene-config.repository.js';
import { getViolationById } from '../../../db/repositories/violation.repository.js';
import { createPlateReader, type PlateReader } from '../../../detector/plates/plate-reader.js';
import { COPIES, MODELS_DIR, copyModel } from '../../../models/build.js';
import { buildEvidence } from '../../../pipeline/evidence-builder.js';
import { recordViolationHandler } from '../../../pipeline/handlers/record-violation.handler.js';
import { readTrackPlate } from '../../../pipeline/plate-evidence.js';
import type { EngineFrame, Flag, StillRef } from '../../../violations/engine.js';
import { EvidenceStore } from '../../../violations/evidence-store.js';
import { parseSceneConfig } from '../../../violations/scene-config.js';
import { renderScene, toRgb } from '../../unit/plates/render-plate.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';

const log = createLogger({ level: 'silent' });
const SIZE = { width: 800, height: 500 };
const PLATE = { rows: ['30A-123.45'], width: 235, height: 55 };
const t0 = Date.UTC(2026, 10, 22, 3, 0, 0);

/** Frame i of a red car driving right with its plate, and the car's normalised box. */
async function carFrame(i: number, withPlate = true): Promise<StillRef> {
  const at = { x: 180 + 40 * i, y: 260 };
  const { file } = await renderScene(withPlate ? PLATE : { ...PLATE, rows: [' '] }, at, SIZE);
  const img = await toRgb(file);
  const frame: EngineFrame = {
    capturedAt: t0 + i * 500,
    width: img.width,
    height: img.height,
    data: Buffer.from(img.data.buffer, img.data.byteOffset, img.data.length),
  };
  const box = {
    x: (at.x - PLATE.width * 0.6) / SIZE.width,
    y: (at.y - PLATE.height * 1.5) / SIZE.height,
    w: (PLATE.width * 2.2) / SIZE.width,
    h: (PLATE.height * 3) / SIZE.height,
  };
  return { role: i < 2 ? 'before' : 'after', frame, box };
}

function flagOf(sightings: StillRef[], trackKey: string): Flag {
  return {
    ruleCode: 'red_light',
    trackKey,
    trackId: 7,
    vehicleClass: 'car',
    at: t0 + 1000,
    details: { redForMs: 2500, signalGroup: 'main' },
    trajectory: sightings.map((s) => ({ t: s.frame.capturedAt, box: s.box!, score: 0.8 })),
    stills: [
      { ...sightings[0]!, role: 'before' },
      { ...sightings[2]!, role: 'at' },
      { ...sightings[sightings.length - 1]!, role: 'after' },
    ],
    sightings,
    models: [{ name: 'nanodet-coco', version: '1' }],
  };
}

let reader: PlateReader;
let tdb: TestDatabase;
let dir: string;
let store: EvidenceStore;
let cameraId: number;
let sceneVersion: number;

beforeAll(async () => {
  for (const c of COPIES) await copyModel(c);
  reader = await createPlateReader({ modelsDir: MODELS_DIR });
  tdb = await createTestDatabase();
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pn-plate-evidence-'));
  store = new EvidenceStore(dir);
  cameraId = (
    await upsertCameraByCode(tdb.db, { code: 'TN-310', name: 'Plate camera', rtspUrl: 'rtsp://x/y' })
  ).id;
  sceneVersion = (await addSceneConfigVersion(tdb.db, { cameraId, config: {}, createdBy: 'test' })).version;
});

afterAll(async () => {
  await reader?.close();
  await tdb?.drop();
  if (dir) await fs.rm(dir, { recursive: true, force: true });
});

describe('plate of a flagged track', () => {
  it('reads the plate on several frames and agrees on it', async () => {
    const sightings = await Promise.all([0, 1, 2, 3, 4].map((i) => carFrame(i)));
    const plate = await readTrackPlate(flagOf(sightings, 'k-1'), reader, { maxFrames: 3 });
    expect(plate.reads).toHaveLength(3);
    expect(plate.consensus).toMatchObject({ plate: '30A12345', needsReview: false, support: 3 });
    expect(plate.best?.formatted).toBe('30A-123.45');
    expect(plate.best?.colour).toBe('white');
    expect(plate.confidence).toBeGreaterThan(0.5);
    expect(plate.models.recogniser).toEqual(reader.model);
    // The plate box is in frame pixels, on the rendered plate of the chosen frame.
    const frameIndex = (plate.best!.frameAt - t0) / 500;
    const platePos = { x: 180 + 40 * frameIndex, y: 260 };
    expect(Math.abs(plate.best!.box.x - platePos.x)).toBeLessThan(30);
    expect(Math.abs(plate.best!.box.y - platePos.y)).toBeLessThan(20);
    const meta = await sharp(plate.crop!).metadata();
    expect(meta.format).toBe('jpeg');
    expect(meta.width).toBeGreaterThan(PLATE.width * 0.7);
    expect(meta.width).toBeLessThan(PLATE.width * 1.6);
  });

  it('puts the plate on the violation row and its reads in plate_read, from the manifest', async () => {
    const sightings = await Promise.all([0, 1, 2, 3].map((i) => carFrame(i)));
    const flag = flagOf(sightings, 'k-2');
    const plate = await readTrackPlate(flag, reader);
    const payload = await buildEvidence({
      flag,
      camera: { id: cameraId, code: 'TN-310', name: 'Plate camera', location: null },
      scene: parseSceneConfig({}),
      sceneConfigVersion: sceneVersion,
      store,
      workerId: 'test',
      plate,
    });
    expect(JSON.stringify(payload)).not.toContain('30A12345');
    expect(payload.evidence.map((e) => e.kind)).toContain('plate_crop');

    const handle = recordViolationHandler({ db: tdb.db, store, log });
    const { violationId, created } = await handle(payload);
    expect(created).toBe(true);
    const v = await getViolationById(tdb.db, violationId);
    expect(v).toMatchObject({ plate: '30A12345', plateColor: 'white' });
    expect(v!.plateConfidence).toBeCloseTo(plate.confidence, 3);
    expect(v!.details['plateConsensus']).toMatchObject({ needsReview: false, support: 4, total: 4 });
    const reads = await listPlateReadsForViolation(tdb.db, violationId);
    expect(reads).toHaveLength(4);
    expect(reads.every((r) => r.modelName === reader.model.name)).toBe(true);

    // A replay changes nothing: no second set of reads.
    await expect(handle(payload)).resolves.toEqual({ violationId, created: false });
    expect(await listPlateReadsForViolation(tdb.db, violationId)).toHaveLength(4);
  });

  it('sends a vehicle with no readable plate to review, without a plate', async () => {
    const sightings = await Promise.all([0, 1, 2].map((i) => carFrame(i, false)));
    const flag = flagOf(sightings, 'k-3');
    const plate = await readTrackPlate(flag, reader);
    expect(plate.consensus).toMatchObject({ plate: undefined, needsReview: true, reasons: ['no_reads'] });
    expect(plate.crop).toBeUndefined();
    const payload = await buildEvidence({
      flag,
      camera: { id: cameraId, code: 'TN-310', name: 'Plate camera', location: null },
      scene: parseSceneConfig({}),
      sceneConfigVersion: sceneVersion,
      store,
      workerId: 'test',
      plate,
    });
    const { violationId } = await recordViolationHandler({ db: tdb.db, store, log })(payload);
    const v = await getViolationById(tdb.db, violationId);
    expect(v).toMatchObject({ plate: null, plateConfidence: null });
    expect(v!.details['plateConsensus']).toMatchObject({ needsReview: true });
    expect((v!.details['plateConsensus'] as { reviewReasons: string[] }).reviewReasons).toContain(
      'no_usable_plate',
    );
  });
});
