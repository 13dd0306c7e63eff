/**
 * `npm run cameras:import -- cameras.json`: registers or updates real cameras and their scene
 * configurations. The file is a JSON array of
 *   { "code": "TN-001", "name": "…", "location": "…", "lat": 21.59, "lon": 105.84,
 *     "rtspUrl": "rtsp://user:pass@host/stream", "enabled": true, "scene": { …SceneConfig… } }
 * Every entry is validated before anything is written; stream URLs are never printed.
 */
import fs from 'node:fs/promises';
import { isDeepStrictEqual } from 'node:util';
import { z } from 'zod';
import { openDatabase } from '../db/database.js';
import { upsertCameraByCode } from '../db/repositories/camera.repository.js';
import { addSceneConfigVersion, latestSceneConfig } from '../db/repositories/scene-config.repository.js';
import type { JsonObject } from '../db/schema.js';
import { sceneConfigSchema } from '../violations/scene-config.js';
import { boot, run } from './boot.js';

const cameraFileSchema = z.array(
  z.strictObject({
    code: z.string().regex(/^[A-Z0-9][A-Z0-9-]{1,31}$/, 'like TN-001'),
    name: z.string().min(1).max(200),
    location: z.string().max(500).optional(),
    lat: z.number().min(-90).max(90).optional(),
    lon: z.number().min(-180).max(180).optional(),
    rtspUrl: z.string().regex(/^rtsps?:\/\//, 'must be an rtsp:// or rtsps:// URL'),
    enabled: z.boolean().default(true),
    timezone: z.string().optional(),
    scene: sceneConfigSchema.optional(),
  }),
);

run('cameras:import', async () => {
  const { config, log } = boot('cameras:import');
  const file = process.argv[2];
  if (!file) throw new Error('usage: npm run cameras:import -- <cameras.json>');
  const parsed = cameraFileSchema.safeParse(JSON.parse(await fs.readFile(file, 'utf8')));
  if (!parsed.success) {
    throw new Error(
      `${file} is not valid:\n  ${parsed.error.issues.map((i) => `[${i.path.join('.')}] ${i.message}`).join('\n  ')}`,
    );
  }
  const database = await openDatabase(config, log);
  try {
    let scenes = 0;
    for (const cam of parsed.data) {
      const camera = await upsertCameraByCode(database.db, {
        code: cam.code,
        name: cam.name,
        ...(cam.location !== undefined ? { location: cam.location } : {}),
        lat: cam.lat ?? null,
        lon: cam.lon ?? null,
        rtspUrl: cam.rtspUrl,
        enabled: cam.enabled,
        ...(cam.timezone !== undefined ? { timezone: cam.timezone } : {}),
      });
      if (cam.scene) {
        const scene = cam.scene as unknown as JsonObject;
        const latest = await latestSceneConfig(database.db, camera.id);
        if (!latest || !isDeepStrictEqual(latest.config, scene)) {
          await addSceneConfigVersion(database.db, {
            cameraId: camera.id,
            config: scene,
            createdBy: 'cameras:import',
            basedOnVersion: latest?.version ?? 0,
          });
          scenes += 1;
        }
      }
      process.stdout.write(`  ${camera.code}  ${camera.name}\n`);
    }
    process.stdout.write(`${parsed.data.length} cameras imported, ${scenes} new scene versions\n`);
  } finally {
    await database.close();
  }
});
