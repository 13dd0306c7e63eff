import { randomBytes } from 'node:crypto';
import { AppError } from '../core/errors.js';
import type { NoticeState } from '../db/schema.js';
import { calendarDeadline, limitationEnd, PERIODS, workingDeadline } from './legal-time.js';

/**
 * The fine case state machine, as data and pure functions (no I/O). The case service applies a plan
 * with compare-and-set on notice.state, in one transaction with the violation status and the audit
 * entry; the database re-checks the states' timestamps and the limitation (migration
 * 2026_11_24_143700_fine_cases).
 *
 * The procedure for camera-detected violations (Circular 73/2024 Art 24; Decree 135/2021 Art 15;
 * Decree 168/2024 Art 47), as the shared law notes summarise it:
 *
 *   draft ──issue (owner identified, notice sent; within 10 days of detection)──► issued
 *   issued ──deliver──► delivered
 *   issued | delivered ──escalate (more than 20 days after the notice, no response)──► escalated
 *   issued | delivered | escalated ──respond (the violator came forward)──► responded
 *   responded ──decide (record within 3 working days; decision; fine in the range)──► decided
 *   decided ──mark_overdue (10 days after the decision, not paid)──► overdue
 *   decided | overdue ──settle (fine and late interest paid in full)──► paid
 *   any state before paid ──cancel (with a reason)──► cancelled
 *   any state before a decision ──expire (one year after the violation)──► expired
 *
 * paid, cancelled and expired are final.
 */

export const CASE_ACTIONS = [
  'issue',
  'deliver',
  'escalate',
  'respond',
  'decide',
  'mark_overdue',
  'settle',
  'cancel',
  'expire',
] as const;
export type CaseAction = (typeof CASE_ACTIONS)[number];

export const CASE_TRANSITIONS: Readonly<
  Record<CaseAction, { readonly from: readonly NoticeState[]; readonly to: NoticeState }>
> = Object.freeze({
  issue: { from: ['draft'], to: 'issued' },
  deliver: { from: ['issued'], to: 'delivered' },
  escalate: { from: ['issued', 'delivered'], to: 'escalated' },
  respond: { from: ['issued', 'delivered', 'escalated'], to: 'responded' },
  decide: { from: ['responded'], to: 'decided' },
  mark_overdue: { from: ['decided'], to: 'overdue' },
  settle: { from: ['decided', 'overdue'], to: 'paid' },
  cancel: {
    from: ['draft', 'issued', 'delivered', 'escalated', 'responded', 'decided', 'overdue'],
    to: 'cancelled',
  },
  expire: { from: ['draft', 'issued', 'delivered', 'escalated', 'responded'], to: 'expired' },
});

export const FINAL_STATES: readonly NoticeState[] = ['paid', 'cancelled', 'expired'];

/** What the machine needs to know about a case. */
export interface CaseFacts {
  state: NoticeState;
  /** When the violation was recorded (the camera's capture time). */
  observedAt: Date;
  issuedAt: Date | null;
  respondedAt: Date | null;
  decidedAt: Date | null;
  /** Payment deadline (set by the decision). */
  dueAt: Date | null;
  fineMinVnd: number;
  fineMaxVnd: number;
}

export interface CaseDeadlines {
  /** Notice to the owner due by (10 days from detection). */
  noticeBy: Date;
  /** Escalation allowed after (20 days from the notice); null before the notice. */
  escalateAfter: Date | null;
  /** Violation record due by (3 working days from the response); null before a response. */
  recordBy: Date | null;
  /** Payment due by (10 days from the decision); null before a decision. */
  payBy: Date | null;
  /** No notice or decision after this moment. */
  limitationEndsAt: Date;
}

export function caseDeadlines(c: CaseFacts, holidays: ReadonlySet<string>): CaseDeadlines {
  return {
    noticeBy: calendarDeadline(c.observedAt, PERIODS.noticeDays, holidays),
    escalateAfter: c.issuedAt && calendarDeadline(c.issuedAt, PERIODS.escalateAfterDays, holidays),
    recordBy: c.respondedAt && workingDeadline(c.respondedAt, PERIODS.recordWorkingDays, holidays),
    payBy: c.dueAt ?? (c.decidedAt && calendarDeadline(c.decidedAt, PERIODS.paymentDays, holidays)),
    limitationEndsAt: limitationEnd(c.observedAt),
  };
}

/** The default fine: the midpoint of the range (Decree 68/2025 amending Decree 118/2021). */
export function defaultFine(minVnd: number, maxVnd: number): number {
  return Math.floor((minVnd + maxVnd) / 2);
}

/** The inputs an action needs beyond the case itself. */
export interface ActionInput {
  /** When the act happens (the server clock for acts of the authority). */
  at: Date;
  holidays: ReadonlySet<string>;
  /** decide: the fine (default: the midpoint), the decision number, and why when not the midpoint. */
  decision?: { decisionNumber: string; fineAmountVnd?: number | undefined; reason?: string | undefined };
  /** settle: what is still owed (fine and interest) after the payments; must be 0. */
  owedVnd?: number;
  /** cancel: why. */
  reason?: string;
}

/** The columns a transition sets (camelCase names of notice columns). */
export interface CaseChanges {
  issuedAt?: Date;
  deliveredAt?: Date;
  escalatedAt?: Date;
  respondedAt?: Date;
  decidedAt?: Date;
  dueAt?: Date;
  decisionNumber?: string;
  fineAmountVnd?: number;
  fineReason?: string | null;
  paidAt?: Date;
  cancelledAt?: Date;
  cancelReason?: string;
  expiredAt?: Date;
}

export interface CasePlan {
  action: CaseAction;
  from: NoticeState;
  to: NoticeState;
  set: CaseChanges;
  /** Deadlines of the law the act came after (recorded in the audit entry; the act is not refused). */
  late: ('notice' | 'record')[];
}

function conflict(message: string): AppError {
  return new AppError('conflict', message);
}

/**
 * Plans an action on a case, or throws: conflict (409) when the state does not allow it or a legal
 * condition is not met, bad_request (400) when the input is wrong.
 */
export function planCaseTransition(c: CaseFacts, action: CaseAction, input: ActionInput): CasePlan {
  const t = CASE_TRANSITIONS[action];
  if (!t.from.includes(c.state)) {
    throw conflict(
      `a case that is ${c.state} cannot ${action.replace('_', ' ')} (only from ${t.from.join(', ')})`,
    );
  }
  const at = input.at;
  if (Number.isNaN(at.getTime())) throw new AppError('bad_request', 'invalid time');
  const d = caseDeadlines(c, input.holidays);
  const plan: CasePlan = { action, from: c.state, to: t.to, set: {}, late: [] };
  const notBefore = (when: Date | null, what: string) => {
    if (when && at < when) throw new AppError('bad_request', `the time given is before ${what}`);
  };
  const withinLimitation = (what: string) => {
    if (at > d.limitationEndsAt) {
      throw conflict(
        `limitation: the violation is more than one year old (${d.limitationEndsAt.toISOString()}); no ${what} may be made`,
      );
    }
  };
  switch (action) {
    case 'issue':
      withinLimitation('notice');
      if (at > d.noticeBy) plan.late.push('notice');
      plan.set = { issuedAt: at };
      break;
    case 'deliver':
      notBefore(c.issuedAt, 'the notice was issued');
      plan.set = { deliveredAt: at };
      break;
    case 'escalate':
      if (!d.escalateAfter || at <= d.escalateAfter) {
        throw conflict(
          `escalation comes only after ${PERIODS.escalateAfterDays} days from the notice (after ${d.escalateAfter?.toISOString()})`,
        );
      }
      plan.set = { escalatedAt: at };
      break;
    case 'respond':
      notBefore(c.issuedAt, 'the notice was issued');
      plan.set = { respondedAt: at };
      break;
    case 'decide': {
      withinLimitation('decision');
      notBefore(c.respondedAt, 'the violator came forward');
      const decision = input.decision;
      if (!decision) throw new AppError('bad_request', 'a decision needs its number');
      const standard = defaultFine(c.fineMinVnd, c.fineMaxVnd);
      const amount = decision.fineAmountVnd ?? standard;
      if (!Number.isSafeInteger(amount) || amount < c.fineMinVnd || amount > c.fineMaxVnd) {
        throw new AppError(
          'bad_request',
          `the fine must be a whole amount from ${c.fineMinVnd} to ${c.fineMaxVnd} VND`,
        );
      }
      const reason = decision.reason?.trim() || null;
      if (amount !== standard && !reason) {
        throw new AppError(
          'bad_request',
          `a fine other than the default ${standard} VND (the midpoint) needs a reason (aggravating or mitigating circumstances)`,
        );
      }
      if (d.recordBy && at > d.recordBy) plan.late.push('record');
      plan.set = {
        decidedAt: at,
        dueAt: calendarDeadline(at, PERIODS.paymentDays, input.holidays),
        decisionNumber: decision.decisionNumber,
        fineAmountVnd: amount,
        fineReason: reason,
      };
      break;
    }
    case 'mark_overdue':
      if (!c.dueAt || at <= c.dueAt) {
        throw conflict(`the payment deadline (${c.dueAt?.toISOString()}) has not passed`);
      }
      plan.set = {};
      break;
    case 'settle':
      if (input.owedVnd === undefined || input.owedVnd !== 0) {
        throw conflict(`the fine is not paid in full (${input.owedVnd ?? '?'} VND still owed)`);
      }
      plan.set = { paidAt: at };
      break;
    case 'cancel': {
      const reason = input.reason?.trim();
      if (!reason) throw new AppError('bad_request', 'a cancellation needs a reason');
      plan.set = { cancelledAt: at, cancelReason: reason };
      break;
    }
    case 'expire':
      if (at <= d.limitationEndsAt) {
        throw conflict(`the limitation ends at ${d.limitationEndsAt.toISOString()}: the case is still open`);
      }
      plan.set = { expiredAt: at };
      break;
  }
  return plan;
}

/** Which actions the state allows (for the UI; the plan still checks times and inputs). */
export function allowedActions(state: NoticeState): CaseAction[] {
  return CASE_ACTIONS.filter((a) => CASE_TRANSITIONS[a].from.includes(state));
}

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/**
 * A new notice code: 'PN-' and 12 Crockford base-32 characters in groups of four (60 random bits). The
 * code lets its holder see the case, so it must not be guessable.
 */
export function newNoticeCode(random: (n: number) => Buffer = randomBytes): string {
  const bytes = random(12);
  let out = '';
  for (let i = 0; i < 12; i++) out += CROCKFORD[bytes[i]! & 31];
  return `PN-${out.slice(0, 4)}-${out.slice(4, 8)}-${out.slice(8)}`;
}
