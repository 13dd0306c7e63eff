import { describe, expect, it } from 'vitest';
import { AppError } from '../../../../core/errors.js';
import {
  compactPlate,
  planDecision,
  stageOfStatus,
  type DecisionContext,
} from '../../../../api/services/review-policy.js';

const first = (over: Partial<DecisionContext> = {}): DecisionContext => ({
  stage: 'first',
  plate: '30A12345',
  plateConfidence: 0.97,
  secondReviewBelow: 0.9,
  ...over,
});

describe('review decisions', () => {
  it('approve a confident read at the first review', () => {
    expect(planDecision(first(), { decision: 'approve' })).toEqual({
      from: 'in_review',
      to: 'approved',
      plateChange: null,
      secondReviewReasons: [],
    });
  });

  it('send a corrected plate, a low-confidence read or an unknown confidence to a supervisor', () => {
    expect(planDecision(first(), { decision: 'approve', plate: '30A12346' })).toMatchObject({
      to: 'second_review',
      plateChange: { before: '30A12345', after: '30A12346' },
      secondReviewReasons: ['plate_corrected'],
    });
    expect(planDecision(first({ plateConfidence: 0.89 }), { decision: 'approve' })).toMatchObject({
      to: 'second_review',
      secondReviewReasons: ['low_confidence'],
    });
    expect(planDecision(first({ plateConfidence: 0.9 }), { decision: 'approve' }).to).toBe('approved');
    expect(planDecision(first({ plateConfidence: null }), { decision: 'approve' })).toMatchObject({
      secondReviewReasons: ['confidence_unknown'],
    });
  });

  it('do not count the stored plate typed again as a correction', () => {
    expect(planDecision(first(), { decision: 'approve', plate: '30A12345' }).plateChange).toBeNull();
  });

  it('refuse to approve without any plate', () => {
    expect(() =>
      planDecision(first({ plate: null, plateConfidence: null }), { decision: 'approve' }),
    ).toThrow(AppError);
  });

  it('let the second review approve (correcting again) or reject, but not escalate', () => {
    const second = first({ stage: 'second', plateConfidence: 0.1 });
    expect(planDecision(second, { decision: 'approve' })).toEqual({
      from: 'second_review',
      to: 'approved',
      plateChange: null,
      secondReviewReasons: [],
    });
    expect(planDecision(second, { decision: 'approve', plate: '30A99999' }).plateChange).toEqual({
      before: '30A12345',
      after: '30A99999',
    });
    expect(planDecision(second, { decision: 'reject', reason: 'no_violation' }).to).toBe('rejected');
    expect(() => planDecision(second, { decision: 'escalate', note: 'hm' })).toThrow(/second review decides/);
  });

  it("require a note to reject for 'other' and to escalate", () => {
    expect(() => planDecision(first(), { decision: 'reject', reason: 'other' })).toThrow(/note/);
    expect(() => planDecision(first(), { decision: 'reject', reason: 'other', note: '  ' })).toThrow(/note/);
    expect(planDecision(first(), { decision: 'reject', reason: 'other', note: 'lý do' }).to).toBe('rejected');
    expect(planDecision(first(), { decision: 'escalate', note: 'xem giúp' })).toMatchObject({
      to: 'second_review',
      secondReviewReasons: ['escalated'],
    });
  });

  it('map statuses to the review stage they wait for', () => {
    expect(stageOfStatus('flagged')).toBe('first');
    expect(stageOfStatus('in_review')).toBe('first');
    expect(stageOfStatus('second_review')).toBe('second');
    expect(stageOfStatus('approved')).toBeUndefined();
    expect(stageOfStatus('notified')).toBeUndefined();
  });
});

describe('compactPlate', () => {
  it('keeps letters, digits and Đ, uppercased', () => {
    expect(compactPlate('30a-123.45')).toBe('30A12345');
    expect(compactPlate('29-mđ1 013.53')).toBe('29MĐ101353');
    expect(compactPlate('80-011-NG-01')).toBe('80011NG01');
  });
});
