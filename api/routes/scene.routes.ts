import { z } from 'zod';
import { sceneConfigSchema } from '../../violations/scene-config.js';
import type { RouteTable } from '../route-table.js';
import { idParams } from '../schemas.js';
import type { ApiServices } from '../services/types.js';
import { viewerOf } from './violation.routes.js';

/** Operators (and admins) set up what the rules see: the scene of each camera in their scope. */
const SCENE_ROLES = ['operator'] as const;

const sceneVersionView = z.object({
  version: z.number().int(),
  createdBy: z.string(),
  createdAt: z.string().describe('ISO 8601 time'),
});

export const sceneAnswer = z.object({
  camera: z.object({ id: z.number().int(), code: z.string(), name: z.string(), location: z.string() }),
  latest: sceneVersionView.extend({ config: z.record(z.string(), z.unknown()) }).nullable(),
  versions: z.array(sceneVersionView),
});

export const sceneSaveBody = z.strictObject({
  basedOnVersion: z
    .number()
    .int()
    .min(0)
    .describe('the version the edit started from (0 for a camera without one): a newer version is a 409'),
  config: sceneConfigSchema,
});

export const sceneSavedAnswer = sceneVersionView.extend({ config: z.record(z.string(), z.unknown()) });

/** The scene editor's routes: a camera's scene versions, a new version, the live snapshot. */
export function registerSceneRoutes(routes: RouteTable, services: ApiServices): void {
  routes.add(
    {
      method: 'get',
      path: '/api/cameras/:id/scene',
      roles: SCENE_ROLES,
      summary: "A camera's latest scene configuration and the list of its versions",
      tags: ['scenes'],
      params: idParams,
      response: { status: 200, description: 'The scene', schema: sceneAnswer },
      errors: [404],
    },
    async ({ res, params, principal }) => {
      res.setHeader('Cache-Control', 'no-store');
      res.json(await services.scenes.get(viewerOf(principal, SCENE_ROLES), params.id));
    },
  );

  routes.add(
    {
      method: 'post',
      path: '/api/cameras/:id/scene',
      roles: SCENE_ROLES,
      summary: 'Save a scene configuration as a new version',
      description:
        'Validated by the scene schema (violations/scene-config.ts); stored with every default spelled out. Versions are never edited: violations name the version they were judged under. The ingest worker picks the new version up within about 30 s. Recorded in the audit log with the sha256 of the configuration.',
      tags: ['scenes'],
      params: idParams,
      body: sceneSaveBody,
      response: { status: 201, description: 'Saved', schema: sceneSavedAnswer },
      errors: [404, 409],
    },
    async ({ res, params, body, principal }) => {
      res.status(201).json(await services.scenes.save(viewerOf(principal, SCENE_ROLES), params.id, body));
    },
  );

  routes.add(
    {
      method: 'get',
      path: '/api/cameras/:id/snapshot',
      roles: SCENE_ROLES,
      summary: "The camera's latest frame (JPEG), to draw the scene on",
      description:
        'Asks the ingest worker holding the camera for snapshots (it publishes one every 2 s for a minute after each request) and waits up to a few seconds for one; a camera that stopped answers its last frame, marked stale. The stream URL is never used here. X-Captured-At gives the frame time, X-Snapshot-Fresh whether it is newer than the request. Each view is recorded in the audit log.',
      tags: ['scenes'],
      params: idParams,
      response: { status: 200, description: 'The frame', contentType: 'image/jpeg' },
      errors: [404, 503],
    },
    async ({ res, params, principal }) => {
      const snap = await services.scenes.snapshot(viewerOf(principal, SCENE_ROLES), params.id);
      res
        .status(200)
        .set({
          'Content-Type': 'image/jpeg',
          'Cache-Control': 'no-store',
          'X-Captured-At': new Date(snap.capturedAt).toISOString(),
          'X-Snapshot-Fresh': String(snap.fresh),
          'X-Image-Size': `${snap.width}x${snap.height}`,
        })
        .send(snap.jpeg);
    },
  );
}
