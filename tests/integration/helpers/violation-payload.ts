/**
 * A violation job as the ingest side makes it: a random still and a small manifest put in the evidence
 * store, referenced by sha256. For the fault tests that push many violations through real workers.
 */
import { randomBytes } from 'node:crypto';
import type { RecordViolationPayload } from '../../../pipeline/payloads.js';
import type { EvidenceStore } from '../../../violations/evidence-store.js';

export async function storedViolationPayload(
  store: EvidenceStore,
  v: { cameraId: number; trackKey: string; n: number; stillBytes?: number },
): Promise<RecordViolationPayload> {
  const still = await store.put(randomBytes(v.stillBytes ?? 8 * 1024), 'image/jpeg');
  const manifest = await store.put(Buffer.from(JSON.stringify({ n: v.n })), 'application/json');
  return {
    cameraId: v.cameraId,
    trackKey: v.trackKey,
    ruleCode: 'red_light',
    observedAt: new Date(Date.UTC(2026, 10, 22, 2, 0, 0) + v.n * 1000).toISOString(),
    vehicleClass: 'car',
    sceneConfigVersion: 1,
    details: { n: v.n },
    evidence: [
      { kind: 'still_at', ...still },
      { kind: 'manifest', ...manifest },
    ],
  };
}
