import type { Flag } from '../violations/engine.js';
import { cropVehicle, renderStill } from '../violations/evidence-stills.js';
import type { EvidenceStore } from '../violations/evidence-store.js';
import type { SceneConfig } from '../violations/scene-config.js';
import type { EvidenceRef, RecordViolationPayload } from './payloads.js';

export interface CameraRef {
  id: number;
  code: string;
  name: string;
  location: string | null;
}

const RULE_LABELS: Record<string, string> = { red_light: 'Vượt đèn đỏ / Red light' };

/**
 * Turns an engine flag into stored evidence (stills before/at/after with overlays, the vehicle crop and a
 * manifest naming every file by sha256) and the payload of the job that records it. Only references travel
 * on the queue.
 */
export async function buildEvidence(opts: {
  flag: Flag;
  camera: CameraRef;
  scene: SceneConfig;
  sceneConfigVersion: number;
  store: EvidenceStore;
  workerId: string;
}): Promise<RecordViolationPayload> {
  const { flag, camera, scene, store } = opts;
  const signal =
    typeof flag.details['redForMs'] === 'number'
      ? `ĐỎ ${(Number(flag.details['redForMs']) / 1000).toFixed(1)} s`
      : undefined;
  const caption = { cameraCode: camera.code, ruleLabel: RULE_LABELS[flag.ruleCode] ?? flag.ruleCode, signal };

  const evidence: EvidenceRef[] = [];
  for (const still of flag.stills) {
    const jpeg = await renderStill(still, scene, caption);
    evidence.push({ kind: `still_${still.role}`, ...(await store.put(jpeg, 'image/jpeg')) });
  }
  const atStill = flag.stills.find((s) => s.role === 'at') ?? flag.stills[0];
  const crop = atStill ? await cropVehicle(atStill) : undefined;
  if (crop) evidence.push({ kind: 'vehicle_crop', ...(await store.put(crop, 'image/jpeg')) });

  const manifest = {
    schema: 'phat-nguoi/evidence-manifest@1',
    camera: { id: camera.id, code: camera.code, name: camera.name, location: camera.location },
    ruleCode: flag.ruleCode,
    observedAt: new Date(flag.at).toISOString(),
    trackKey: flag.trackKey,
    vehicleClass: flag.vehicleClass,
    sceneConfigVersion: opts.sceneConfigVersion,
    models: flag.models,
    details: flag.details,
    stills: flag.stills.map((s) => ({
      role: s.role,
      capturedAt: new Date(s.frame.capturedAt).toISOString(),
    })),
    trajectory: flag.trajectory.map((p) => ({
      t: new Date(p.t).toISOString(),
      box: p.box,
      score: round(p.score),
    })),
    files: evidence.map((e) => ({
      kind: e.kind,
      sha256: e.sha256,
      mediaType: e.mediaType,
      sizeBytes: e.sizeBytes,
    })),
    producedBy: opts.workerId,
  };
  const manifestBytes = Buffer.from(JSON.stringify(manifest, null, 2));
  evidence.push({ kind: 'manifest', ...(await store.put(manifestBytes, 'application/json')) });

  return {
    cameraId: camera.id,
    trackKey: flag.trackKey,
    ruleCode: flag.ruleCode,
    observedAt: new Date(flag.at).toISOString(),
    vehicleClass: flag.vehicleClass,
    sceneConfigVersion: opts.sceneConfigVersion,
    details: flag.details,
    evidence,
  };
}

function round(v: number): number {
  return Math.round(v * 1000) / 1000;
}
