/**
 * Which version of a registry model loads when none is named: the newest whose card is not marked
 * `preview`. A preview version (nanodet-coco/2, the 320 input) loads only when named, as
 * DETECTOR_MODEL_VERSION does; removing the flag makes it the default.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../core/config.js';
import { detectorOptionsFromConfig } from '../../../detector/detector.js';
import { listModelVersions, resolveModelDir } from '../../../detector/model-registry.js';

describe('registry version selection', () => {
  let root: string;

  const card = async (version: string, body: Record<string, unknown> | string) => {
    const dir = path.join(root, 'nanodet-coco', version);
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, 'card.json'), typeof body === 'string' ? body : JSON.stringify(body));
  };

  beforeEach(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'model-versions-'));
  });

  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('defaults to the newest version not marked preview, in numeric order', async () => {
    await card('1', { version: '1' });
    await card('2', { version: '2' });
    await card('10', { version: '10', preview: true });
    await mkdir(path.join(root, 'nanodet-coco', '11')); // no card: not a version
    expect(await listModelVersions(root, 'nanodet-coco')).toEqual(['1', '2', '10']);
    expect(await resolveModelDir(root, 'nanodet-coco')).toEqual({
      dir: path.join(root, 'nanodet-coco', '2'),
      version: '2',
    });
    // A preview version loads when named.
    expect((await resolveModelDir(root, 'nanodet-coco', '10')).version).toBe('10');
  });

  it('makes a version the default once its preview flag is removed', async () => {
    await card('1', { version: '1' });
    await card('2', { version: '2', preview: true });
    expect((await resolveModelDir(root, 'nanodet-coco')).version).toBe('1');
    await card('2', { version: '2', preview: false });
    expect((await resolveModelDir(root, 'nanodet-coco')).version).toBe('2');
  });

  it('falls back to the newest preview when every version is one, and leaves bad cards to the loader', async () => {
    await card('1', { preview: true });
    await card('2', '{ not json');
    expect((await resolveModelDir(root, 'nanodet-coco')).version).toBe('2');
    await card('2', { preview: true });
    expect((await resolveModelDir(root, 'nanodet-coco')).version).toBe('2');
  });

  it('passes DETECTOR_MODEL_VERSION to the detector, and nothing when it is unset', () => {
    expect(detectorOptionsFromConfig(loadConfig({ DETECTOR_MODEL_VERSION: '2' }), root)).toMatchObject({
      modelName: 'nanodet-coco',
      modelVersion: '2',
    });
    expect(detectorOptionsFromConfig(loadConfig({}), root)).not.toHaveProperty('modelVersion');
    expect(() => loadConfig({ DETECTOR_MODEL_VERSION: '../1' })).toThrow();
  });
});
