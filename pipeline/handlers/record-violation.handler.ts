import type { Logger } from 'pino';
import type { Database } from '../../db/database.js';
import { inTransaction } from '../../db/database.js';
import { appendAudit } from '../../db/repositories/audit.repository.js';
import { addAsset } from '../../db/repositories/evidence.repository.js';
import { addPlateRead } from '../../db/repositories/plate-read.repository.js';
import { recordViolation } from '../../db/repositories/violation.repository.js';
import type { JsonObject } from '../../db/schema.js';
import type { EvidenceStore } from '../../violations/evidence-store.js';
import type { RecordViolationPayload } from '../payloads.js';
import { plateFromManifest } from '../plate-from-manifest.js';

export interface RecordViolationResult {
  violationId: number;
  created: boolean;
}

/**
 * `violation.record`: checks every referenced evidence file against its sha256 (a missing or altered file
 * is a permanent failure: the violation cannot stand on it), then in one transaction records the violation
 * (unique on camera + track + rule), its evidence assets (unique on violation + kind) and, when new, an
 * audit entry. Running it again for the same act changes nothing.
 */
export function recordViolationHandler(deps: { db: Database['db']; store: EvidenceStore; log: Logger }) {
  return async (p: RecordViolationPayload): Promise<RecordViolationResult> => {
    for (const asset of p.evidence) await deps.store.verify(asset);
    // The plate travels in the signed manifest, not in the job (Redis keeps job data in clear text).
    const manifestRef = p.evidence.find((e) => e.kind === 'manifest');
    const plate = manifestRef ? plateFromManifest(await deps.store.read(manifestRef.storageUri)) : undefined;
    const result = await inTransaction(deps.db, async (trx) => {
      const { id, created } = await recordViolation(trx, {
        cameraId: p.cameraId,
        trackKey: p.trackKey,
        ruleCode: p.ruleCode,
        observedAt: new Date(p.observedAt),
        vehicleClass: p.vehicleClass,
        sceneConfigVersion: p.sceneConfigVersion,
        details: (plate ? { ...p.details, plateConsensus: plate.summary } : p.details) as JsonObject,
        ...(plate?.text
          ? { plate: plate.text, plateColor: plate.colour, plateConfidence: plate.confidence }
          : {}),
      });
      for (const asset of p.evidence) {
        await addAsset(trx, {
          violationId: id,
          kind: asset.kind,
          mediaType: asset.mediaType,
          sha256: asset.sha256,
          sizeBytes: asset.sizeBytes,
          storageUri: asset.storageUri,
        });
      }
      if (created && plate) {
        for (const read of plate.reads) {
          await addPlateRead(trx, {
            violationId: id,
            cameraId: p.cameraId,
            trackKey: p.trackKey,
            plate: read.text,
            confidence: read.confidence,
            modelName: plate.model.name,
            modelVersion: plate.model.version,
            readAt: read.capturedAt,
            details: { box: read.box, valid: read.valid },
          });
        }
      }
      if (created) {
        await appendAudit(trx, {
          actor: 'system:pipeline',
          action: 'violation.flagged',
          entityType: 'violation',
          entityId: String(id),
          details: { ruleCode: p.ruleCode, cameraId: p.cameraId, evidence: p.evidence.map((e) => e.sha256) },
        });
      }
      return { violationId: id, created };
    });
    deps.log.info(
      { violationId: result.violationId, created: result.created, rule: p.ruleCode },
      'violation recorded',
    );
    return result;
  };
}
