import type { ClipResult } from '../ingest/clip-buffer.js';
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
 * The violation's clip (the camera's own H.264, a few seconds either side of the act), or why there is
 * none: what ingest/clip-buffer.ts produces.
 */
export type EvidenceClip = ClipResult;

/** What the manifest needs of a flag: everything but the frames' pixels. */
export type FlagSummary = Omit<Flag, 'stills'> & {
  stills: readonly { role: Flag['stills'][number]['role']; frame: { capturedAt: number } }[];
};

/** A flag without its frames' pixels, for work that outlives the frames (waiting for the clip). */
export function summariseFlag(flag: Flag): FlagSummary {
  return {
    ...flag,
    stills: flag.stills.map((s) => ({ role: s.role, frame: { capturedAt: s.frame.capturedAt } })),
  };
}

/**
 * Renders and stores the flag's images: stills before/at/after with overlays and the vehicle crop.
 * Done as soon as the flag is raised, so its frames can be let go while the clip is still recording.
 */
export async function renderEvidenceImages(opts: {
  flag: Flag;
  camera: CameraRef;
  scene: SceneConfig;
  store: EvidenceStore;
}): Promise<EvidenceRef[]> {
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
  return evidence;
}

const NO_CLIP: EvidenceClip = { status: 'missing', reason: 'no clip recorder for this camera' };

/**
 * Turns an engine flag into stored evidence (stills before/at/after with overlays, the vehicle crop,
 * the plate crop, the clip, and a manifest naming every file by sha256, signed when a signer is given: the signature is
 * made once the clip is in, so it covers the clip too) and the payload of the job that records it. Only
 * references travel on the queue. `images`: the flag's images already stored by renderEvidenceImages
 * (then `flag` may be a summary without pixels); `clip`: absent means no recorder (the manifest says so).
 */
export async function buildEvidence(opts: {
  flag: Flag | FlagSummary;
  camera: CameraRef;
  scene: SceneConfig;
  sceneConfigVersion: number;
  store: EvidenceStore;
  workerId: string;
  signer?: EvidenceSigner;
  /** The track's plate (reads on several frames and their consensus), when a reader is configured. */
  plate?: TrackPlate;
  images?: EvidenceRef[];
  clip?: EvidenceClip;
  /** Sealed by another worker than the one that saw the act, from the evidence journal. */
  recovery?: { fromWorker: string; journalledAt: string };
}): Promise<RecordViolationPayload> {
  const { flag, camera, scene, store } = opts;
  const evidence: EvidenceRef[] = [
    ...(opts.images ?? (await renderEvidenceImages({ flag: flag as Flag, camera, scene, store }))),
  ];
  if (opts.plate?.crop) {
    evidence.push({ kind: 'plate_crop', ...(await store.put(opts.plate.crop, 'image/jpeg')) });
  }
  const clip = opts.clip ?? NO_CLIP;
  let clipSection: Record<string, unknown>;
  if (clip.status === 'missing') clipSection = { status: 'missing', reason: clip.reason };
  else {
    const stored = await store.put(clip.bytes, clip.mediaType);
    evidence.push({ kind: 'clip', ...stored });
    clipSection = {
      status: clip.status,
      file: `${stored.sha256}.mp4`,
      sha256: stored.sha256,
      mediaType: clip.mediaType,
      container: 'mp4',
      codec: clip.codec,
      startCapturedAt: new Date(clip.startAt).toISOString(),
      endCapturedAt: new Date(clip.endAt).toISOString(),
      durationS: round(clip.durationS),
      frameCount: clip.frameCount,
      ...(clip.reason !== undefined && { reason: clip.reason }),
    };
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
      clip: clipSection,
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
      ...(opts.recovery ? { recovery: { ...opts.recovery, source: 'evidence-journal' } } : {}),
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
function captionDetail(flag: Pick<Flag, 'details'>): string | undefined {
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
