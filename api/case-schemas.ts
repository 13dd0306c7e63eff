import { z } from 'zod';
import { NOTICE_STATES, PAYMENT_METHODS } from '../db/schema.js';
import { CASE_ACTIONS } from '../fines/case-machine.js';

/**
 * zod schemas of the fine-case routes: inputs (validated before a handler runs) and the shapes of
 * answers (for the OpenAPI document and as test oracles). Standalone (no import of schemas.ts, which
 * imports openCaseAnswer from here).
 */

export const caseIdParams = z.strictObject({
  id: z
    .string()
    .regex(/^\d{1,15}$/, 'must be a numeric id')
    .transform(Number),
});

export const caseListQuery = z.strictObject({
  state: z
    .string()
    .max(200)
    .transform((s) => s.split(','))
    .pipe(z.array(z.enum(NOTICE_STATES)).min(1))
    .optional()
    .describe('states, comma-separated, e.g. issued,delivered'),
  camera: z
    .string()
    .regex(/^\d{1,15}$/)
    .optional()
    .describe('camera id'),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z
    .string()
    .regex(/^\d{1,15}$/)
    .optional(),
});

const pastTime = z.iso.datetime({ offset: true }).describe('ISO 8601 time, not in the future');

export const whenBody = z
  .strictObject({
    at: pastTime
      .optional()
      .describe('when it happened, if earlier than now (e.g. the date on a postal receipt)'),
  })
  .default({});

export const decideBody = z.strictObject({
  decisionNumber: z
    .string()
    .trim()
    .regex(/^[0-9A-Za-zĐđ][0-9A-Za-zĐđ/._-]{0,63}$/, 'letters, digits and / . _ -, up to 64')
    .describe('the number of the sanction decision (số quyết định)'),
  fineAmountVnd: z
    .number()
    .int()
    .positive()
    .max(1_000_000_000)
    .optional()
    .describe('the fine; default the midpoint of the range. Another amount needs a reason'),
  reason: z.string().trim().min(1).max(2000).optional().describe('aggravating or mitigating circumstances'),
});

export const cancelBody = z.strictObject({
  reason: z.string().trim().min(1).max(2000),
});

export const paymentBody = z.strictObject({
  amountVnd: z.number().int().positive().max(10_000_000_000),
  method: z.enum(PAYMENT_METHODS),
  reference: z
    .string()
    .regex(
      /^[A-Za-z0-9][A-Za-z0-9/._:-]{0,99}$/,
      'a receipt or transaction reference: letters, digits and / . _ : -',
    )
    .describe('receipt or bank transaction reference; one reference per method records one payment'),
  paidAt: pastTime,
});

// ---------------------------------------------------------------------------------------------------
// Answers.

const isoTime = z.string().describe('ISO 8601 time');

export const caseSanctionView = z.object({
  ruleId: z.number().int().nullable(),
  legalBasis: z.string(),
  citation: z.string(),
  descriptionVi: z.string().nullable(),
  description: z.string().nullable(),
  fineMinVnd: z.number().int().nullable(),
  fineMaxVnd: z.number().int().nullable(),
  fineAmountVnd: z.number().int(),
  points: z.number().int(),
  provisional: z.boolean().describe('amounts not verified against the text in force: show as unconfirmed'),
});

export const openCaseAnswer = z.discriminatedUnion('opened', [
  z.object({
    opened: z.literal(true),
    created: z.boolean(),
    caseId: z.number().int(),
    noticeCode: z.string(),
    state: z.enum(NOTICE_STATES),
    sanction: caseSanctionView,
  }),
  z.object({
    opened: z.literal(false),
    reason: z.enum(['no_plate', 'vehicle_class_not_fined', 'no_sanction_rule']),
  }),
]);

export const caseView = z.object({
  id: z.number().int(),
  violationId: z.number().int(),
  noticeCode: z.string(),
  state: z.enum(NOTICE_STATES),
  plate: z.string(),
  vehicleClass: z.string(),
  ruleCode: z.string(),
  observedAt: isoTime,
  cameraCode: z.string(),
  unit: z.string().nullable(),
  sanction: caseSanctionView,
  offenderKind: z.enum(['individual', 'organisation']).nullable(),
  decisionNumber: z.string().nullable(),
  fineReason: z.string().nullable(),
  cancelReason: z.string().nullable(),
  times: z.object({
    createdAt: isoTime,
    issuedAt: isoTime.nullable(),
    deliveredAt: isoTime.nullable(),
    escalatedAt: isoTime.nullable(),
    respondedAt: isoTime.nullable(),
    decidedAt: isoTime.nullable(),
    paidAt: isoTime.nullable(),
    cancelledAt: isoTime.nullable(),
    expiredAt: isoTime.nullable(),
  }),
  deadlines: z.object({
    noticeBy: isoTime.describe('notice to the owner within 10 days of detection'),
    escalateAfter: isoTime.nullable().describe('no response after this: warn the registration agencies'),
    recordBy: isoTime.nullable().describe('violation record within 3 working days of the response'),
    payBy: isoTime.nullable().describe('payment within 10 days of the decision'),
    limitationEndsAt: isoTime.describe('no notice or decision after this (one year)'),
  }),
  allowedActions: z.array(z.enum(CASE_ACTIONS)),
});

export const paymentView = z.object({
  id: z.number().int(),
  amountVnd: z.number().int(),
  principalVnd: z.number().int(),
  interestVnd: z.number().int(),
  daysLate: z.number().int(),
  method: z.enum(PAYMENT_METHODS),
  reference: z.string(),
  paidAt: isoTime,
  recordedBy: z.string(),
});

export const caseDetail = caseView.extend({
  payments: z.array(paymentView),
  balance: z
    .object({
      principalOutstandingVnd: z.number().int(),
      interestOutstandingVnd: z.number().int(),
      owedVnd: z.number().int(),
      daysLate: z.number().int(),
    })
    .nullable(),
});

export const casePage = z.object({ items: z.array(caseView), nextCursor: z.string().nullable() });

export const paymentAnswer = z.object({ payment: paymentView, case: caseDetail });

export const deadlineSweepAnswer = z.object({
  escalated: z.number().int(),
  overdue: z.number().int(),
  expired: z.number().int(),
  unchanged: z.number().int(),
});
