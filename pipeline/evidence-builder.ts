import type { Flag } from '../violations/engine.js';
import { signManifest, type EvidenceSigner } from '../violations/evidence-signature.js';
import { cropVehicle, renderStill, type StillHighlight } from '../violations/evidence-stills.js';
import type { EvidenceStore } from '../violations/evidence-store.js';
import type { SceneConfig } from '../violations/scene-config.js';
import type { EvidenceRef, RecordViolationPayload } from './payloads.js';
import { plateManifest, type TrackPlate } from './plate-evidence.js';

export interface CameraRef {
  id: number;
  code: string;
  name: string;
  location: string | null;
}

const RULE_LABELS: Record<string, string> = {
  red_light: 'Vượt đèn đỏ / Red light',
  stop_line: 'Dừng quá vạch dừng / Stopped past the stop line',
  wrong_way: 'Đi ngược chiều / Wrong way',
  wrong_lane: 'Đi sai làn đường / Wrong lane',
  speeding: 'Chạy quá tốc độ / Speeding',
  sidewalk: 'Đi trên vỉa hè / On the sidewalk',
  no_parking: 'Dừng, đỗ xe nơi cấm / No stopping or parking',
  intersection_stopping:
    'Dừng, đỗ xe tại nút giao, điểm đón trả khách / Stopping in an intersection or bus stop',
};

/**
 * Turns an engine flag into stored evidence (stills before/at/after with overlays, the vehicle crop and a
 * manifest naming every file by sha256, signed when a signer is given) and the payload of the job that
 * records it. Only references travel on the queue.
 */
export async function buildEvidence(opts: {
  flag: Flag;
  camera: CameraRef;
  scene: SceneConfig;
  sceneConfigVersion: number;
  store: EvidenceStore;
  workerId: string;
  signer?: EvidenceSigner;
  /** The track's plate (reads on several frames and their consensus), when a reader is configured. */
  plate?: TrackPlate;
}): Promise<RecordViolationPayload> {
  const { flag, camera, scene, store } = opts;
  const caption = {
    cameraCode: camera.code,
    ruleLabel: RULE_LABELS[flag.ruleCode] ?? flag.ruleCode,
    signal: captionDetail(flag),
  };
  const highlight = highlightOf(flag, scene);

  const evidence: EvidenceRef[] = [];
  for (const still of flag.stills) {
    const jpeg = await renderStill(still, scene, caption, highlight);
    evidence.push({ kind: `still_${still.role}`, ...(await store.put(jpeg, 'image/jpeg')) });
  }
  const atStill = flag.stills.find((s) => s.role === 'at') ?? flag.stills[0];
  const crop = atStill ? await cropVehicle(atStill) : undefined;
  if (crop) evidence.push({ kind: 'vehicle_crop', ...(await store.put(crop, 'image/jpeg')) });
  if (opts.plate?.crop) {
    evidence.push({ kind: 'plate_crop', ...(await store.put(opts.plate.crop, 'image/jpeg')) });
  }

  // Through JSON once, so what is signed is exactly what is stored (no undefined, no NaN).
  const manifest = JSON.parse(
    JSON.stringify({
      schema: 'phat-nguoi/evidence-manifest@1',
      camera: { id: camera.id, code: camera.code, name: camera.name, location: camera.location },
      ruleCode: flag.ruleCode,
      observedAt: new Date(flag.at).toISOString(),
      trackKey: flag.trackKey,
      vehicleClass: flag.vehicleClass,
      sceneConfigVersion: opts.sceneConfigVersion,
      models: flag.models,
      details: flag.details,
      ...(opts.plate ? { plate: plateManifest(opts.plate) } : {}),
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
    }),
  ) as Record<string, unknown>;
  const stored = opts.signer ? signManifest(manifest, opts.signer) : manifest;
  const manifestBytes = Buffer.from(JSON.stringify(stored, null, 2));
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

/** The rule's key figure for the caption: how long red had shown, the measured speed, the dwell. */
function captionDetail(flag: Flag): string | undefined {
  const d = flag.details;
  if (typeof d['redForMs'] === 'number') return `ĐỎ ${(d['redForMs'] / 1000).toFixed(1)} s`;
  if (typeof d['measuredKmh'] === 'number') {
    return `${d['measuredKmh']} km/h (giới hạn ${String(d['limitKmh'])}, sai số ${String(d['toleranceKmh'])})`;
  }
  if (typeof d['dwellMs'] === 'number') return `đứng yên ${(d['dwellMs'] / 1000).toFixed(0)} s`;
  return undefined;
}

/** The scene geometry the flag was judged by. */
function highlightOf(flag: Flag, scene: SceneConfig): StillHighlight {
  const d = flag.details;
  const lane = scene.lanes.find((l) => l.id === d['lane']);
  if (lane) return { polygons: [lane.polygon] };
  const zone = scene.stoppingZones.find((z) => z.id === d['zone']);
  if (zone) return { polygons: [zone.polygon] };
  const sidewalk = scene.sidewalks.find((s) => s.id === d['sidewalk']);
  if (sidewalk) return { polygons: [sidewalk.polygon] };
  const gate = scene.speed?.gates.find((g) => g.id === d['gate']);
  if (gate) return { lines: [gate.entry, gate.exit] };
  if (d['method'] === 'homography' && scene.speed?.homography)
    return { polygons: [scene.speed.homography.image] };
  return {};
}

function round(v: number): number {
  return Math.round(v * 1000) / 1000;
}
