import { AppError } from '../../core/errors.js';
import type { ReviewStage, ViolationStatus } from '../../db/schema.js';

/**
 * The review state machine, as data and one pure function (no I/O; the review service applies the plan
 * with compare-and-set on violation.status, in one transaction with the review row and the audit entry).
 *
 *   flagged ──claim──► in_review ──approve (plate read confidently, not corrected)──► approved
 *      ▲                  │ ├──approve with a corrected plate / low-confidence read──► second_review
 *      └────release───────┘ ├──escalate (with a note)─────────────────────────────────► second_review
 *                           └──reject (reason from REJECT_REASONS)───────────────────► rejected
 *
 *   second_review ──claim by a supervisor who did not make the first review──► (claimed)
 *                 ──approve (may correct the plate again)──► approved
 *                 ──reject (reason)──────────────────────────► rejected
 *
 * A lease that expires puts the case back in the queue: in_review with a lapsed claim is claimable.
 */

export const REJECT_REASONS = [
  { code: 'no_violation', vi: 'Không có hành vi vi phạm', en: 'The evidence shows no violation' },
  {
    code: 'plate_unreadable',
    vi: 'Không đọc được biển số',
    en: 'The plate cannot be read from the evidence',
  },
  {
    code: 'evidence_incomplete',
    vi: 'Hình ảnh, dữ liệu chứng cứ không đầy đủ hoặc bị hỏng',
    en: 'Evidence before, at or after the act is missing or damaged',
  },
  {
    code: 'emergency_vehicle',
    vi: 'Xe được quyền ưu tiên đang làm nhiệm vụ',
    en: 'A priority vehicle on duty (fire, ambulance, police, military)',
  },
  {
    code: 'directed_by_officer',
    vi: 'Chấp hành hiệu lệnh của người điều khiển giao thông',
    en: "The driver followed a traffic officer's direction",
  },
  {
    code: 'signal_fault',
    vi: 'Đèn tín hiệu hỏng hoặc không xác định được pha đèn',
    en: 'Signal fault, or the signal phase cannot be verified',
  },
  {
    code: 'camera_fault',
    vi: 'Camera lỗi (sai giờ, lệch góc, sai cấu hình)',
    en: 'Camera fault (wrong time, moved view, wrong scene configuration)',
  },
  { code: 'duplicate', vi: 'Trùng với vi phạm đã ghi nhận', en: 'Duplicate of a violation already recorded' },
  { code: 'other', vi: 'Lý do khác (ghi rõ trong ghi chú)', en: 'Other (explain in the note)' },
] as const;

export type RejectReason = (typeof REJECT_REASONS)[number]['code'];
export const REJECT_REASON_CODES = REJECT_REASONS.map((r) => r.code) as [RejectReason, ...RejectReason[]];

export type Decision =
  | { decision: 'approve'; plate?: string | undefined; note?: string | undefined }
  | { decision: 'reject'; reason: RejectReason; note?: string | undefined }
  | { decision: 'escalate'; note: string };

export type SecondReviewReason = 'plate_corrected' | 'low_confidence' | 'confidence_unknown' | 'escalated';

export interface DecisionPlan {
  /** The status a review at this stage starts from (compare-and-set). */
  from: ViolationStatus;
  to: ViolationStatus;
  /** Present when the plate is corrected (compact forms). */
  plateChange: { before: string | null; after: string } | null;
  /** Why the case goes to a supervisor; empty when it does not. */
  secondReviewReasons: SecondReviewReason[];
}

export interface DecisionContext {
  stage: ReviewStage;
  plate: string | null;
  plateConfidence: number | null;
  /** Reads below this confidence need a supervisor's confirmation. */
  secondReviewBelow: number;
}

/** The status a case must be in to be reviewed at a stage. */
export function statusOfStage(stage: ReviewStage): ViolationStatus {
  return stage === 'first' ? 'in_review' : 'second_review';
}

/** The review stage a case in `status` waits for, or undefined when it waits for none. */
export function stageOfStatus(status: ViolationStatus): ReviewStage | undefined {
  if (status === 'flagged' || status === 'in_review') return 'first';
  if (status === 'second_review') return 'second';
  return undefined;
}

/** Compact plate form: uppercase letters and digits, Đ kept; separators dropped. */
export function compactPlate(input: string): string {
  return input
    .normalize('NFC')
    .toUpperCase()
    .replace(/[\s.\-_/]/g, '');
}

export function planDecision(ctx: DecisionContext, d: Decision): DecisionPlan {
  const from = statusOfStage(ctx.stage);
  const bad = (message: string) => new AppError('bad_request', message);
  switch (d.decision) {
    case 'approve': {
      const corrected = d.plate !== undefined && d.plate !== ctx.plate ? d.plate : undefined;
      const plate = corrected ?? ctx.plate;
      if (plate === null) throw bad('approving needs a plate: enter the plate read from the evidence');
      const plateChange = corrected === undefined ? null : { before: ctx.plate, after: corrected };
      if (ctx.stage === 'second') return { from, to: 'approved', plateChange, secondReviewReasons: [] };
      const reasons: SecondReviewReason[] = [];
      if (plateChange) reasons.push('plate_corrected');
      else if (ctx.plateConfidence === null) reasons.push('confidence_unknown');
      else if (ctx.plateConfidence < ctx.secondReviewBelow) reasons.push('low_confidence');
      return {
        from,
        to: reasons.length > 0 ? 'second_review' : 'approved',
        plateChange,
        secondReviewReasons: reasons,
      };
    }
    case 'reject':
      if (d.reason === 'other' && !d.note?.trim()) throw bad("rejecting for 'other' needs a note");
      return { from, to: 'rejected', plateChange: null, secondReviewReasons: [] };
    case 'escalate':
      if (ctx.stage === 'second') throw bad('a second review decides: approve or reject');
      if (!d.note.trim()) throw bad('escalating needs a note for the supervisor');
      return { from, to: 'second_review', plateChange: null, secondReviewReasons: ['escalated'] };
  }
}
