import { createHash } from 'node:crypto';
import { z } from 'zod';
import { EVIDENCE_KINDS } from '../db/schema.js';
import { JobName } from './queues.js';

/**
 * Job payloads carry ids and references, never frames and never owner data (Redis keeps job data in clear
 * text). Each payload is validated when a handler takes it; a malformed one fails permanently.
 */
const sha256 = z.string().regex(/^[0-9a-f]{64}$/);

export const evidenceRefSchema = z.strictObject({
  kind: z.enum(EVIDENCE_KINDS),
  sha256,
  mediaType: z.string().min(1),
  sizeBytes: z.number().int().positive(),
  storageUri: z.string().startsWith('cas:'),
});

export const recordViolationSchema = z.strictObject({
  cameraId: z.number().int().positive(),
  trackKey: z.string().min(1).max(64),
  ruleCode: z.string().min(1),
  observedAt: z.iso.datetime(),
  vehicleClass: z.string().min(1),
  sceneConfigVersion: z.number().int().positive(),
  details: z.record(z.string(), z.unknown()),
  evidence: z.array(evidenceRefSchema).min(1),
});

export type EvidenceRef = z.output<typeof evidenceRefSchema>;
export type RecordViolationPayload = z.output<typeof recordViolationSchema>;

export interface JobPayloads {
  [JobName.RecordViolation]: RecordViolationPayload;
}

export const JOB_SCHEMAS: { [K in JobName]: z.ZodType<JobPayloads[K]> } = {
  [JobName.RecordViolation]: recordViolationSchema,
};

/**
 * Deterministic job id: the same act enqueued twice is one job while BullMQ remembers it. The database's
 * unique key (camera, track, rule) is the real guarantee, since BullMQ delivers at least once.
 */
export function recordViolationJobId(
  p: Pick<RecordViolationPayload, 'cameraId' | 'trackKey' | 'ruleCode'>,
): string {
  const digest = createHash('sha256').update(`${p.cameraId}\n${p.trackKey}\n${p.ruleCode}`).digest('hex');
  return `violation-${digest.slice(0, 32)}`;
}
