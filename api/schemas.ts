import { z } from 'zod';
import { openCaseAnswer } from './case-schemas.js';
import { ROLES } from './principal.js';
import { compactPlate, REJECT_REASON_CODES } from './services/review-policy.js';

/**
 * zod schemas shared by the routes: inputs (validated before a handler runs) and the shapes of answers
 * (for the OpenAPI document; the integration tests check real answers against them).
 */

export const idParam = z
  .string()
  .regex(/^\d{1,15}$/, 'must be a numeric id')
  .transform(Number);

export const idParams = z.strictObject({ id: idParam });

const cursor = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,200}$/)
  .optional();

const limit = z.coerce.number().int().min(1).max(200).default(50);

export const violationQuery = z.strictObject({
  camera: z
    .string()
    .regex(/^\d{1,15}$/)
    .optional()
    .describe('camera id'),
  rule: z
    .string()
    .regex(/^[a-z_]{1,40}$/)
    .optional()
    .describe('rule code, e.g. red_light'),
  status: z
    .string()
    .regex(/^[a-z_]{1,20}$/)
    .optional(),
  from: z.iso.datetime().optional().describe('observed at or after'),
  to: z.iso.datetime().optional().describe('observed before'),
  limit,
  cursor,
});

const confidence = z.coerce.number().min(0).max(1).optional();

export const reviewQueueQuery = z.strictObject({
  stage: z
    .enum(['first', 'second'])
    .default('first')
    .describe("'first': flagged cases; 'second': cases waiting for a supervisor (supervisors only)"),
  camera: z
    .string()
    .regex(/^\d{1,15}$/)
    .optional()
    .describe('camera id'),
  rule: z
    .string()
    .regex(/^[a-z_]{1,40}$/)
    .optional()
    .describe('rule code, e.g. red_light'),
  from: z.iso.datetime().optional().describe('observed at or after'),
  to: z.iso.datetime().optional().describe('observed before'),
  minConfidence: confidence.describe('plate read confidence at least this (an unread plate counts as 0)'),
  maxConfidence: confidence.describe('plate read confidence at most this (an unread plate counts as 0)'),
  limit,
  cursor,
});

/** A plate as typed by a reviewer ('30A-123.45', '29-MĐ1 013.53'), checked in compact form. */
export const plateInput = z
  .string()
  .max(24)
  .transform(compactPlate)
  .pipe(z.string().regex(/^[A-Z0-9Đ]{4,12}$/, 'a plate has 4 to 12 letters and digits'));

const note = z.string().trim().min(1).max(2000);

export const decisionBody = z.discriminatedUnion('decision', [
  z.strictObject({
    decision: z.literal('approve'),
    plate: plateInput
      .optional()
      .describe('the plate read from the evidence, when it differs from the stored one (a correction)'),
    note: note.optional(),
  }),
  z.strictObject({
    decision: z.literal('reject'),
    reason: z.enum(REJECT_REASON_CODES).describe('GET /api/review/reasons lists them with their labels'),
    note: note.optional().describe("required for reason 'other'"),
  }),
  z.strictObject({
    decision: z.literal('escalate'),
    note: note.describe('what the supervisor should look at'),
  }),
]);

export const loginBody = z.strictObject({
  username: z.string().min(1).max(64),
  password: z.string().min(1).max(1024),
});

export const tokenBody = z.strictObject({
  name: z.string().trim().min(1).max(100),
  expiresInDays: z.number().int().min(1).max(3650).optional(),
});

// ---------------------------------------------------------------------------------------------------
// Answers (documentation and test oracles).

const isoTime = z.string().describe('ISO 8601 time');

export const grantView = z.object({ role: z.enum(ROLES), scope: z.string() });

export const userView = z.object({
  id: z.number().int(),
  username: z.string(),
  displayName: z.string(),
  unit: z.string().nullable(),
  roles: z.array(grantView),
  disabled: z.boolean(),
  lockedUntil: isoTime.nullable(),
  lastLoginAt: isoTime.nullable(),
});

export const loginAnswer = z.object({
  user: userView,
  csrfToken: z.string().describe('send as X-CSRF-Token on state-changing requests'),
  expiresAt: isoTime,
});

export const meAnswer = z.object({
  kind: z.enum(['session', 'api_token', 'static_token']),
  user: z
    .object({
      id: z.number().int(),
      username: z.string(),
      displayName: z.string(),
      unit: z.string().nullable(),
    })
    .nullable(),
  grants: z.array(grantView),
  csrfToken: z.string().optional(),
});

export const apiTokenView = z.object({
  id: z.number().int(),
  userId: z.number().int(),
  name: z.string(),
  prefix: z.string(),
  createdBy: z.string(),
  createdAt: isoTime,
  expiresAt: isoTime.nullable(),
  lastUsedAt: isoTime.nullable(),
  revokedAt: isoTime.nullable(),
});

export const issuedTokenAnswer = z.object({
  token: apiTokenView,
  secret: z.string().describe('shown once: store it now'),
});

const evidenceView = z.object({
  kind: z.string(),
  mediaType: z.string(),
  sha256: z.string(),
  sizeBytes: z.number().int(),
  url: z.string(),
});

export const violationView = z.object({
  id: z.number().int(),
  cameraId: z.number().int(),
  cameraCode: z.string(),
  ruleCode: z.string(),
  status: z.string(),
  observedAt: isoTime,
  vehicleClass: z.string(),
  plate: z.string().nullable(),
  plateConfidence: z.number().nullable(),
  sceneConfigVersion: z.number().int(),
  details: z.record(z.string(), z.unknown()),
  evidence: z.array(evidenceView),
  createdAt: isoTime,
});

export const violationPage = z.object({
  items: z.array(violationView),
  total: z.number().int(),
  nextCursor: z.string().nullable(),
});

export const claimView = z.object({
  stage: z.enum(['first', 'second']),
  claimedAt: isoTime,
  expiresAt: isoTime,
  mine: z.boolean(),
  live: z.boolean(),
});

export const reviewView = z.object({
  id: z.number().int(),
  stage: z.enum(['first', 'second']),
  decision: z.enum(['approve', 'reject', 'escalate']),
  reasonCode: z.string().nullable(),
  plateBefore: z.string().nullable(),
  plateAfter: z.string().nullable(),
  note: z.string().nullable(),
  reviewerId: z.number().int(),
  createdAt: isoTime,
});

export const violationDetail = violationView.extend({
  reviews: z.array(reviewView),
  claim: claimView.nullable(),
});

export const reviewQueuePage = z.object({
  stage: z.enum(['first', 'second']),
  items: z.array(violationView.extend({ claim: claimView.nullable() })),
  total: z.number().int(),
  nextCursor: z.string().nullable(),
});

export const claimAnswer = z.object({
  violationId: z.number().int(),
  stage: z.enum(['first', 'second']),
  status: z.string(),
  claim: claimView,
});

export const decisionAnswer = z.object({
  violationId: z.number().int(),
  status: z.string(),
  review: reviewView,
  secondReview: z.object({
    required: z.boolean(),
    reasons: z.array(z.enum(['plate_corrected', 'low_confidence', 'confidence_unknown', 'escalated'])),
  }),
  case: openCaseAnswer.nullable().describe('the fine case opened on approval (null when not approved)'),
});

export const rejectReasonsAnswer = z.object({
  items: z.array(z.object({ code: z.string(), vi: z.string(), en: z.string() })),
});

export const evidenceCheckAnswer = z.object({
  ok: z.boolean().describe('every check passed'),
  checkedAt: isoTime,
  manifestSha256: z.string(),
  signature: z.object({
    ok: z.boolean(),
    pinned: z.boolean().describe('checked against the deployment key, not only the key in the manifest'),
    keyId: z.string().optional(),
    reason: z.string().optional(),
  }),
  files: z.array(
    z.object({ kind: z.string(), sha256: z.string(), ok: z.boolean(), reason: z.string().optional() }),
  ),
  clip: z.record(z.string(), z.unknown()).optional(),
  problems: z.array(z.string()).describe('every fault, one line each'),
});
