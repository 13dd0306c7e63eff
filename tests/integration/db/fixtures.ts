/** Small builders shared by the db integration tests. */
import { upsertCameraByCode, type Camera } from '../../../db/repositories/camera.repository.js';
import { addSceneConfigVersion } from '../../../db/repositories/scene-config.repository.js';
import type { DbExecutor } from '../../../db/schema.js';

/** A camera with scene config version 1. */
export async function cameraWithScene(db: DbExecutor, code = 'TN-001'): Promise<Camera> {
  const camera = await upsertCameraByCode(db, {
    code,
    name: `Camera ${code}`,
    location: 'Ngã tư Trần Hưng Đạo – Lê Duẩn',
    lat: 21.0245,
    lon: 105.8412,
    rtspUrl: `rtsp://viewer:s3cret@10.0.0.1:554/${code}`,
  });
  await addSceneConfigVersion(db, {
    cameraId: camera.id,
    config: {
      stopLine: [
        [0, 0.7],
        [1, 0.7],
      ],
    },
    createdBy: 'test',
  });
  return camera;
}
