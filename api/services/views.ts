import type { EvidenceAsset } from '../../db/repositories/evidence.repository.js';
import type { ViolationListItem } from '../../db/repositories/violation.repository.js';
import type { ViolationView } from './types.js';

/** A violation as the API shows it; evidence links point at the evidence route. */
export function toViolationView(v: ViolationListItem, evidence: readonly EvidenceAsset[]): ViolationView {
  return {
    id: v.id,
    cameraId: v.cameraId,
    cameraCode: v.cameraCode,
    ruleCode: v.ruleCode,
    status: v.status,
    observedAt: v.observedAt.toISOString(),
    vehicleClass: v.vehicleClass,
    plate: v.plate,
    plateConfidence: v.plateConfidence,
    sceneConfigVersion: v.sceneConfigVersion,
    details: v.details,
    evidence: evidence.map((e) => ({
      kind: e.kind,
      mediaType: e.mediaType,
      sha256: e.sha256,
      sizeBytes: e.sizeBytes,
      url: `/api/violations/${v.id}/evidence/${e.sha256}`,
    })),
    createdAt: v.createdAt.toISOString(),
  };
}
