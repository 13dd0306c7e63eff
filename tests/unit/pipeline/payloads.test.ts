import { describe, expect, it } from 'vitest';
import { recordViolationJobId, recordViolationSchema } from '../../../pipeline/payloads.js';

const sha = 'a'.repeat(64);
const payload = {
  cameraId: 12,
  trackKey: 'lq3k2-7',
  ruleCode: 'red_light',
  observedAt: '2026-11-22T04:00:00.000Z',
  vehicleClass: 'car',
  sceneConfigVersion: 1,
  details: { redForMs: 400 },
  evidence: [
    {
      kind: 'still_at',
      sha256: sha,
      mediaType: 'image/jpeg',
      sizeBytes: 1000,
      storageUri: `cas:sha256/aa/${sha}.jpg`,
    },
  ],
};

describe('violation.record payload', () => {
  it('accepts a payload of references', () => {
    expect(recordViolationSchema.parse(payload)).toEqual(payload);
  });

  it('refuses fields it does not know, such as owner data or frame bytes', () => {
    expect(recordViolationSchema.safeParse({ ...payload, ownerName: 'Nguyễn Văn A' }).success).toBe(false);
    expect(recordViolationSchema.safeParse({ ...payload, frame: 'base64…' }).success).toBe(false);
  });

  it('refuses evidence that is not a store reference with a sha256', () => {
    const bad = { ...payload, evidence: [{ ...payload.evidence[0], sha256: 'xyz' }] };
    expect(recordViolationSchema.safeParse(bad).success).toBe(false);
  });

  it('derives the same job id for the same act and different ids for different acts', () => {
    expect(recordViolationJobId(payload)).toBe(recordViolationJobId({ ...payload }));
    expect(recordViolationJobId(payload)).not.toBe(recordViolationJobId({ ...payload, trackKey: 'lq3k2-8' }));
    expect(recordViolationJobId(payload)).not.toBe(
      recordViolationJobId({ ...payload, ruleCode: 'wrong_way' }),
    );
    expect(recordViolationJobId(payload)).not.toContain(':');
  });
});
