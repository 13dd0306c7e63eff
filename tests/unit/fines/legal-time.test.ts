import { describe, expect, it } from 'vitest';
import {
  calendarDeadline,
  daysLate,
  limitationEnd,
  OverpaymentError,
  replayLedger,
  vnDay,
  weekday,
  workingDeadline,
} from '../../../fines/legal-time.js';

/** A Vietnam local time (UTC+7). */
const vn = (local: string) => new Date(`${local}+07:00`);
const none = new Set<string>();

describe('legal time', () => {
  it('counts days in Vietnam time, whatever the UTC date', () => {
    // 23:30 in Hà Nội on 20 Nov is still 20 Nov, though UTC says 16:30 the same day; 00:30 on 21 Nov is 17:30 UTC on the 20th.
    expect(vnDay(vn('2026-11-20T23:30:00'))).toBe(vnDay(vn('2026-11-20T00:00:00')));
    expect(vnDay(vn('2026-11-21T00:30:00'))).toBe(vnDay(vn('2026-11-20T00:00:00')) + 1);
    expect(weekday(vnDay(vn('2026-11-22T12:00:00')))).toBe(0); // a Sunday
  });

  it('ends a period of N calendar days at the end of the Nth day after the event', () => {
    // Friday 20 Nov + 10 days: Monday 30 Nov.
    expect(calendarDeadline(vn('2026-11-20T08:15:00'), 10, none)).toEqual(vn('2026-11-30T23:59:59.999'));
    // An event just before midnight belongs to its own day.
    expect(calendarDeadline(vn('2026-11-20T23:59:59'), 10, none)).toEqual(vn('2026-11-30T23:59:59.999'));
    expect(calendarDeadline(vn('2026-11-21T00:00:00'), 10, none)).toEqual(vn('2026-12-01T23:59:59.999'));
    expect(() => calendarDeadline(vn('2026-11-21T00:00:00'), -1, none)).toThrow(RangeError);
  });

  it('moves a last day that is a weekend day or a holiday to the next working day (Civil Code Art 148.5)', () => {
    // Wednesday 18 Nov + 10 days = Saturday 28 Nov → Monday 30 Nov.
    expect(calendarDeadline(vn('2026-11-18T10:00:00'), 10, none)).toEqual(vn('2026-11-30T23:59:59.999'));
    // Thursday 19 Nov + 10 days = Sunday 29 Nov → Monday 30 Nov.
    expect(calendarDeadline(vn('2026-11-19T10:00:00'), 10, none)).toEqual(vn('2026-11-30T23:59:59.999'));
    // Monday 30 Nov a holiday as well → Tuesday 1 Dec.
    expect(calendarDeadline(vn('2026-11-18T10:00:00'), 10, new Set(['2026-11-30']))).toEqual(
      vn('2026-12-01T23:59:59.999'),
    );
    // 22 Dec + 10 days = Friday 1 Jan 2027 (New Year) → Monday 4 Jan.
    expect(calendarDeadline(vn('2026-12-22T10:00:00'), 10, new Set(['2027-01-01']))).toEqual(
      vn('2027-01-04T23:59:59.999'),
    );
    // A holiday inside the period, not at its end, changes nothing.
    expect(calendarDeadline(vn('2026-11-20T08:15:00'), 10, new Set(['2026-11-25']))).toEqual(
      vn('2026-11-30T23:59:59.999'),
    );
  });

  it('counts working days past weekends and public holidays', () => {
    // Thursday 26 Nov 2026 + 3 working days: Fri 27, Mon 30, Tue 1 Dec.
    expect(workingDeadline(vn('2026-11-26T10:00:00'), 3, none)).toEqual(vn('2026-12-01T23:59:59.999'));
    // Friday: Mon, Tue, Wed.
    expect(workingDeadline(vn('2026-11-27T10:00:00'), 3, none)).toEqual(vn('2026-12-02T23:59:59.999'));
    // Saturday: Mon, Tue, Wed.
    expect(workingDeadline(vn('2026-11-28T10:00:00'), 3, none)).toEqual(vn('2026-12-02T23:59:59.999'));
    // A holiday on the Monday pushes it a day.
    expect(workingDeadline(vn('2026-11-27T10:00:00'), 3, new Set(['2026-11-30']))).toEqual(
      vn('2026-12-03T23:59:59.999'),
    );
    // New Year 2027 (Friday) and the weekend: Thu 31 Dec 2026 + 1 working day is Monday 4 Jan.
    expect(workingDeadline(vn('2026-12-31T09:00:00'), 1, new Set(['2027-01-01']))).toEqual(
      vn('2027-01-04T23:59:59.999'),
    );
  });

  it('ends the limitation one calendar year after the recorded moment, 29 February going to the 28th', () => {
    expect(limitationEnd(vn('2026-11-20T08:15:30.250'))).toEqual(vn('2027-11-20T08:15:30.250'));
    expect(limitationEnd(vn('2028-02-29T10:00:00'))).toEqual(vn('2029-02-28T10:00:00'));
    // 00:30 Vietnam time on 1 Jan is still 31 Dec in UTC: the year is counted in Vietnam time.
    expect(limitationEnd(vn('2027-01-01T00:30:00'))).toEqual(vn('2028-01-01T00:30:00'));
  });

  it('counts days late from the day after the deadline', () => {
    const due = vn('2026-12-10T23:59:59.999');
    expect(daysLate(due, vn('2026-12-10T23:59:59'))).toBe(0);
    expect(daysLate(due, vn('2026-12-11T00:00:00'))).toBe(1);
    expect(daysLate(due, vn('2026-12-20T12:00:00'))).toBe(10);
    expect(daysLate(due, vn('2026-12-01T12:00:00'))).toBe(0);
  });
});

describe('payment ledger', () => {
  const due = vn('2026-12-10T23:59:59.999');

  it('owes the fine alone when paid on time', () => {
    const s = replayLedger(
      19_000_000,
      due,
      [{ amountVnd: 19_000_000, paidAt: vn('2026-12-10T16:00:00') }],
      vn('2026-12-20T00:00:00'),
    );
    expect(s).toMatchObject({ owedVnd: 0, interestAccruedVnd: 0 });
    expect(s.allocations).toEqual([{ principalVnd: 19_000_000, interestVnd: 0, daysLate: 0 }]);
  });

  it('adds 0.05 % of the unpaid fine for each day late', () => {
    // 3 days late on 19,000,000: 3 × 9,500 = 28,500.
    const s = replayLedger(19_000_000, due, [], vn('2026-12-13T09:00:00'));
    expect(s).toMatchObject({
      principalOutstandingVnd: 19_000_000,
      interestOutstandingVnd: 28_500,
      owedVnd: 19_028_500,
      daysLate: 3,
    });
  });

  it('pays the fine first, so interest stops growing, then the interest', () => {
    const s = replayLedger(
      19_000_000,
      due,
      [
        { amountVnd: 10_000_000, paidAt: vn('2026-12-11T09:00:00') }, // 1 day late: 9,500 accrued
        { amountVnd: 9_000_000, paidAt: vn('2026-12-13T09:00:00') }, // 2 more days on 9,000,000: 9,000
      ],
      vn('2026-12-20T09:00:00'),
    );
    expect(s.allocations).toEqual([
      { principalVnd: 10_000_000, interestVnd: 0, daysLate: 1 },
      { principalVnd: 9_000_000, interestVnd: 0, daysLate: 3 },
    ]);
    expect(s).toMatchObject({ principalOutstandingVnd: 0, interestAccruedVnd: 18_500, owedVnd: 18_500 });
    const settled = replayLedger(
      19_000_000,
      due,
      [
        { amountVnd: 10_000_000, paidAt: vn('2026-12-11T09:00:00') },
        { amountVnd: 9_000_000, paidAt: vn('2026-12-13T09:00:00') },
        { amountVnd: 18_500, paidAt: vn('2026-12-30T09:00:00') },
      ],
      vn('2027-01-20T09:00:00'),
    );
    expect(settled.owedVnd).toBe(0);
    expect(settled.allocations[2]).toEqual({ principalVnd: 0, interestVnd: 18_500, daysLate: 20 });
  });

  it('rounds interest half up to whole dong', () => {
    // 0.05 % of 401,001 = 200.5005 per day.
    expect(replayLedger(401_001, due, [], vn('2026-12-11T09:00:00')).interestOutstandingVnd).toBe(201);
    expect(replayLedger(401_000, due, [], vn('2026-12-11T09:00:00')).interestOutstandingVnd).toBe(201); // 200.5
    expect(replayLedger(400_999, due, [], vn('2026-12-11T09:00:00')).interestOutstandingVnd).toBe(200);
  });

  it('refuses more than is owed, payments out of order and bad amounts', () => {
    expect(() =>
      replayLedger(500_000, due, [{ amountVnd: 500_001, paidAt: vn('2026-12-01T09:00:00') }], due),
    ).toThrow(OverpaymentError);
    expect(() =>
      replayLedger(
        500_000,
        due,
        [
          { amountVnd: 1, paidAt: vn('2026-12-02T09:00:00') },
          { amountVnd: 1, paidAt: vn('2026-12-01T09:00:00') },
        ],
        due,
      ),
    ).toThrow(/time order/);
    expect(() => replayLedger(500_000, due, [{ amountVnd: 0.5, paidAt: due }], due)).toThrow(
      /positive integer/,
    );
    expect(() => replayLedger(0, due, [], due)).toThrow(/positive integer/);
  });
});
