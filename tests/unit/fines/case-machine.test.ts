import { describe, expect, it } from 'vitest';
import { AppError } from '../../../core/errors.js';
import { NOTICE_STATES, type NoticeState } from '../../../db/schema.js';
import {
  allowedActions,
  CASE_ACTIONS,
  CASE_TRANSITIONS,
  caseDeadlines,
  defaultFine,
  FINAL_STATES,
  newNoticeCode,
  planCaseTransition,
  type ActionInput,
  type CaseAction,
  type CaseFacts,
} from '../../../fines/case-machine.js';

const vn = (local: string) => new Date(`${local}+07:00`);
const holidays = new Set<string>();

/** A case in `state` whose timestamps fit it: observed 20 Nov 2026, notice 25 Nov, response 1 Dec, decision 2 Dec. */
function facts(state: NoticeState): CaseFacts {
  const issued = !['draft'].includes(state);
  const responded = ['responded', 'decided', 'overdue', 'paid'].includes(state);
  const decided = ['decided', 'overdue', 'paid'].includes(state);
  return {
    state,
    observedAt: vn('2026-11-20T08:00:00'),
    issuedAt: issued ? vn('2026-11-25T09:00:00') : null,
    respondedAt: responded ? vn('2026-12-01T09:00:00') : null,
    decidedAt: decided ? vn('2026-12-02T09:00:00') : null,
    dueAt: decided ? vn('2026-12-12T23:59:59.999') : null,
    fineMinVnd: 18_000_000,
    fineMaxVnd: 20_000_000,
  };
}

/** An input that satisfies every guard of `action`, so only the state can refuse it. */
function goodInput(action: CaseAction): ActionInput {
  switch (action) {
    case 'escalate':
      return { at: vn('2026-12-16T00:00:00'), holidays };
    case 'mark_overdue':
      return { at: vn('2026-12-13T00:00:00'), holidays };
    case 'expire':
      return { at: vn('2027-11-21T00:00:00'), holidays };
    case 'decide':
      return { at: vn('2026-12-02T09:00:00'), holidays, decision: { decisionNumber: '123/QĐ-XPHC' } };
    case 'settle':
      return { at: vn('2026-12-05T09:00:00'), holidays, owedVnd: 0 };
    case 'cancel':
      return { at: vn('2026-12-05T09:00:00'), holidays, reason: 'evidence withdrawn' };
    default:
      return { at: vn('2026-12-05T09:00:00'), holidays };
  }
}

function conflictOf(fn: () => unknown): AppError {
  try {
    fn();
  } catch (err) {
    if (err instanceof AppError) return err;
    throw err;
  }
  throw new Error('expected an AppError');
}

describe('case state machine', () => {
  it('refuses every action from every state the table does not list, and allows the listed ones', () => {
    let refused = 0;
    let allowed = 0;
    for (const state of NOTICE_STATES) {
      for (const action of CASE_ACTIONS) {
        const ok = CASE_TRANSITIONS[action].from.includes(state);
        if (ok) {
          const plan = planCaseTransition(facts(state), action, goodInput(action));
          expect(plan, `${state} ${action}`).toMatchObject({ from: state, to: CASE_TRANSITIONS[action].to });
          allowed++;
        } else {
          const err = conflictOf(() => planCaseTransition(facts(state), action, goodInput(action)));
          expect(err.code, `${state} ${action}`).toBe('conflict');
          expect(err.message).toContain(`a case that is ${state} cannot`);
          refused++;
        }
      }
    }
    expect(allowed + refused).toBe(NOTICE_STATES.length * CASE_ACTIONS.length);
    expect(allowed).toBe(23);
  });

  it('keeps paid, cancelled and expired final', () => {
    for (const state of FINAL_STATES) expect(allowedActions(state)).toEqual([]);
    for (const state of NOTICE_STATES.filter((s) => !FINAL_STATES.includes(s))) {
      expect(allowedActions(state).length, state).toBeGreaterThan(0);
    }
  });

  it('computes the deadlines from the law: 10 days, 20 days, 3 working days, 10 days, one year', () => {
    const d = caseDeadlines(facts('decided'), holidays);
    expect(d.noticeBy).toEqual(vn('2026-11-30T23:59:59.999'));
    expect(d.escalateAfter).toEqual(vn('2026-12-15T23:59:59.999'));
    // Tuesday 1 Dec + 3 working days: Wed 2, Thu 3, Fri 4.
    expect(d.recordBy).toEqual(vn('2026-12-04T23:59:59.999'));
    expect(d.payBy).toEqual(vn('2026-12-12T23:59:59.999'));
    expect(d.limitationEndsAt).toEqual(vn('2027-11-20T08:00:00'));
    const draft = caseDeadlines(facts('draft'), holidays);
    expect([draft.escalateAfter, draft.recordBy, draft.payBy]).toEqual([null, null, null]);
  });

  it('marks a notice sent after the 10th day as late but sends it', () => {
    const onTime = planCaseTransition(facts('draft'), 'issue', { at: vn('2026-11-30T23:59:59'), holidays });
    expect(onTime.late).toEqual([]);
    expect(onTime.set).toEqual({ issuedAt: vn('2026-11-30T23:59:59') });
    const late = planCaseTransition(facts('draft'), 'issue', { at: vn('2026-12-01T00:00:00'), holidays });
    expect(late.late).toEqual(['notice']);
  });

  it('refuses a notice or a decision past the one-year limitation, to the millisecond', () => {
    const last = vn('2027-11-20T08:00:00');
    expect(planCaseTransition(facts('draft'), 'issue', { at: last, holidays }).to).toBe('issued');
    const err = conflictOf(() =>
      planCaseTransition(facts('draft'), 'issue', { at: new Date(last.getTime() + 1), holidays }),
    );
    expect(err.message).toMatch(/^limitation/);
    const decide = (at: Date) =>
      planCaseTransition(facts('responded'), 'decide', {
        at,
        holidays,
        decision: { decisionNumber: '1/QĐ' },
      });
    expect(decide(last).to).toBe('decided');
    expect(conflictOf(() => decide(new Date(last.getTime() + 1))).message).toMatch(/^limitation/);
  });

  it('escalates only after the 20th day from the notice', () => {
    const at = (t: string) => planCaseTransition(facts('issued'), 'escalate', { at: vn(t), holidays });
    expect(conflictOf(() => at('2026-12-15T23:59:59.999')).code).toBe('conflict');
    expect(at('2026-12-16T00:00:00').set).toEqual({ escalatedAt: vn('2026-12-16T00:00:00') });
  });

  it('expires only after the limitation, and marks overdue only after the payment deadline', () => {
    const expire = (t: string) => planCaseTransition(facts('escalated'), 'expire', { at: vn(t), holidays });
    expect(conflictOf(() => expire('2027-11-20T08:00:00')).code).toBe('conflict');
    expect(expire('2027-11-20T08:00:00.001').to).toBe('expired');
    const overdue = (t: string) =>
      planCaseTransition(facts('decided'), 'mark_overdue', { at: vn(t), holidays });
    expect(conflictOf(() => overdue('2026-12-12T23:59:59.999')).code).toBe('conflict');
    expect(overdue('2026-12-13T00:00:00').to).toBe('overdue');
  });

  it('decides the midpoint by default, another amount in the range only with a reason', () => {
    const decide = (decision: ActionInput['decision']) =>
      planCaseTransition(facts('responded'), 'decide', { at: vn('2026-12-03T10:00:00'), holidays, decision });
    const plan = decide({ decisionNumber: '7/QĐ-XPHC' });
    expect(plan.set).toMatchObject({
      fineAmountVnd: 19_000_000,
      decisionNumber: '7/QĐ-XPHC',
      // 3 Dec + 10 days is Sunday 13 Dec: the period ends with Monday 14 Dec (Civil Code Art 148.5).
      dueAt: vn('2026-12-14T23:59:59.999'),
      fineReason: null,
    });
    expect(plan.late).toEqual([]);
    expect(conflictOf(() => decide({ decisionNumber: '7', fineAmountVnd: 18_500_000 })).code).toBe(
      'bad_request',
    );
    expect(
      decide({ decisionNumber: '7', fineAmountVnd: 18_500_000, reason: 'first offence' }).set.fineAmountVnd,
    ).toBe(18_500_000);
    expect(
      conflictOf(() => decide({ decisionNumber: '7', fineAmountVnd: 20_000_001, reason: 'x' })).code,
    ).toBe('bad_request');
    expect(
      conflictOf(() => decide({ decisionNumber: '7', fineAmountVnd: 17_999_999, reason: 'x' })).code,
    ).toBe('bad_request');
    expect(conflictOf(() => decide(undefined)).code).toBe('bad_request');
    // A decision after the 3 working days of the record is made, but marked late.
    const late = planCaseTransition(facts('responded'), 'decide', {
      at: vn('2026-12-05T00:00:00'),
      holidays,
      decision: { decisionNumber: '8' },
    });
    expect(late.late).toEqual(['record']);
  });

  it('settles only when nothing is owed, cancels only with a reason, refuses times before the notice', () => {
    expect(
      conflictOf(() =>
        planCaseTransition(facts('overdue'), 'settle', {
          at: vn('2026-12-20T00:00:00'),
          holidays,
          owedVnd: 9_500,
        }),
      ).code,
    ).toBe('conflict');
    expect(
      conflictOf(() =>
        planCaseTransition(facts('issued'), 'cancel', {
          at: vn('2026-12-20T00:00:00'),
          holidays,
          reason: '  ',
        }),
      ).code,
    ).toBe('bad_request');
    expect(
      conflictOf(() =>
        planCaseTransition(facts('issued'), 'deliver', { at: vn('2026-11-25T08:59:59'), holidays }),
      ).code,
    ).toBe('bad_request');
  });

  it('takes the default fine as the midpoint of the range', () => {
    expect(defaultFine(18_000_000, 20_000_000)).toBe(19_000_000);
    expect(defaultFine(400_000, 600_000)).toBe(500_000);
  });

  it('makes unguessable notice codes the notice table accepts', () => {
    const codes = new Set(Array.from({ length: 200 }, () => newNoticeCode()));
    expect(codes.size).toBe(200);
    for (const code of codes)
      expect(code).toMatch(/^PN-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$/);
    expect(newNoticeCode(() => Buffer.alloc(12, 0))).toBe('PN-0000-0000-0000');
    expect(newNoticeCode(() => Buffer.alloc(12, 31))).toBe('PN-ZZZZ-ZZZZ-ZZZZ');
  });
});
