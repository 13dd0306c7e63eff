/**
 * Legal time for fine cases: periods in calendar days and in working days, the one-year limitation and
 * late-payment interest. Pure functions, no I/O.
 *
 * - Vietnam time is UTC+7 all year (no daylight saving), so days are counted with a fixed offset.
 * - A period of N days starts the day after the event and ends at the end (23:59:59.999, Vietnam time)
 *   of its last day (Civil Code 2015 Arts 147–148, the general rule for counting periods). The law
 *   notes give the procedure's periods in calendar days, except the violation record, in working days.
 *   When the last day of a calendar period is a weekend day or a public holiday, the period ends at the
 *   end of the next working day (Civil Code 2015 Art 148.5).
 * - Working days are Monday to Friday except public holidays (public_holiday table).
 * - The limitation is one calendar year from the recorded moment, computed like PostgreSQL's
 *   `+ interval '1 year'` on Vietnam local time (29 February goes to 28 February), so that this
 *   module and the database trigger of migration 2026_11_24_143700 agree to the millisecond.
 * - Late payment: +0.05 % of the unpaid fine per day (the law notes; Decree 135/2021 procedure).
 */

export const VN_OFFSET_MS = 7 * 3_600_000;
const DAY_MS = 86_400_000;

/** The procedure's periods (Circular 73/2024 Art 24; Decree 135/2021 Art 15; Decree 168/2024 Art 47). */
export const PERIODS = Object.freeze({
  /** Identify the owner and send the notice: within 10 days of detection. */
  noticeDays: 10,
  /** No response 20 days after the notice: warn the registration and inspection agencies. */
  escalateAfterDays: 20,
  /** Violation record: within 3 working days of identifying the violator. */
  recordWorkingDays: 3,
  /** Pay within 10 days of receiving the decision. */
  paymentDays: 10,
  /** Late payment interest, in basis points of the unpaid fine per day (0.05 %). */
  lateInterestBpPerDay: 5,
});

/** The calendar day in Vietnam of an instant, as a day number (days since 1970-01-01). */
export function vnDay(at: Date): number {
  const t = at.getTime();
  if (Number.isNaN(t)) throw new RangeError('invalid date');
  return Math.floor((t + VN_OFFSET_MS) / DAY_MS);
}

/** 'YYYY-MM-DD' of a day number. */
export function dayString(day: number): string {
  return new Date(day * DAY_MS).toISOString().slice(0, 10);
}

/** The day number of 'YYYY-MM-DD'. */
export function dayNumber(date: string): number {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(date)) throw new RangeError(`not a date: ${date}`);
  const t = Date.parse(`${date}T00:00:00Z`);
  if (Number.isNaN(t) || new Date(t).toISOString().slice(0, 10) !== date) {
    throw new RangeError(`not a date: ${date}`);
  }
  return t / DAY_MS;
}

/** The last millisecond of a Vietnam day. */
export function endOfVnDay(day: number): Date {
  return new Date((day + 1) * DAY_MS - VN_OFFSET_MS - 1);
}

/** 0 = Sunday … 6 = Saturday (1970-01-01 was a Thursday). */
export function weekday(day: number): number {
  return (((day + 4) % 7) + 7) % 7;
}

export function isWorkingDay(day: number, holidays: ReadonlySet<string>): boolean {
  const w = weekday(day);
  return w !== 0 && w !== 6 && !holidays.has(dayString(day));
}

/**
 * The end of a period of `days` calendar days starting the day after `event`; a last day that falls on
 * a weekend or one of `holidays` moves to the next working day (Civil Code 2015 Art 148.5).
 */
export function calendarDeadline(event: Date, days: number, holidays: ReadonlySet<string>): Date {
  if (!Number.isInteger(days) || days < 0) throw new RangeError('days must be a non-negative integer');
  let day = vnDay(event) + days;
  while (!isWorkingDay(day, holidays)) day++;
  return endOfVnDay(day);
}

/** The end of a period of `days` working days starting the day after `event`. */
export function workingDeadline(event: Date, days: number, holidays: ReadonlySet<string>): Date {
  if (!Number.isInteger(days) || days < 1) throw new RangeError('days must be a positive integer');
  let day = vnDay(event);
  for (let counted = 0; counted < days;) {
    day++;
    if (isWorkingDay(day, holidays)) counted++;
  }
  return endOfVnDay(day);
}

/** One calendar year after `observedAt` in Vietnam local time (29 Feb → 28 Feb, like PostgreSQL). */
export function limitationEnd(observedAt: Date): Date {
  const local = new Date(observedAt.getTime() + VN_OFFSET_MS);
  if (Number.isNaN(local.getTime())) throw new RangeError('invalid date');
  const month = local.getUTCMonth();
  const date = month === 1 && local.getUTCDate() === 29 ? 28 : local.getUTCDate();
  const next = Date.UTC(
    local.getUTCFullYear() + 1,
    month,
    date,
    local.getUTCHours(),
    local.getUTCMinutes(),
    local.getUTCSeconds(),
    local.getUTCMilliseconds(),
  );
  return new Date(next - VN_OFFSET_MS);
}

/** Whole Vietnam days from the day of `dueAt` to the day of `at` (0 when on time). */
export function daysLate(dueAt: Date, at: Date): number {
  return Math.max(0, vnDay(at) - vnDay(dueAt));
}

// ---------------------------------------------------------------------------------------------------
// The payment ledger of a decided fine.

export interface LedgerPayment {
  amountVnd: number;
  paidAt: Date;
}

export interface PaymentAllocation {
  principalVnd: number;
  interestVnd: number;
  daysLate: number;
}

export interface LedgerState {
  /** The fine still unpaid. */
  principalOutstandingVnd: number;
  /** Late interest accrued up to the day asked for and not yet paid. */
  interestOutstandingVnd: number;
  /** Interest accrued in all, paid or not. */
  interestAccruedVnd: number;
  /** principal + interest outstanding. */
  owedVnd: number;
  /** Days late of the day asked for (0 when not past the deadline). */
  daysLate: number;
  /** How each payment was split, in the order given. */
  allocations: PaymentAllocation[];
}

export class OverpaymentError extends RangeError {
  constructor(readonly owedVnd: number) {
    super(`payment exceeds the amount owed (${owedVnd} VND)`);
    this.name = 'OverpaymentError';
  }
}

/**
 * Replays the payments of a fine (in time order) and reports what is owed at `at`. Interest accrues for
 * each day past the due day on the fine still unpaid at the start of that day (0.05 % a day), counted
 * in ten-thousandths of a dong and rounded half up to whole dong; a payment pays the fine first, then
 * the interest (so interest stops accruing as early as possible). A payment above what is owed on its
 * day throws OverpaymentError.
 */
export function replayLedger(
  fineVnd: number,
  dueAt: Date,
  payments: readonly LedgerPayment[],
  at: Date,
  bpPerDay: number = PERIODS.lateInterestBpPerDay,
): LedgerState {
  if (!Number.isSafeInteger(fineVnd) || fineVnd <= 0) throw new RangeError('fine must be a positive integer');
  const dueDay = vnDay(dueAt);
  let principal = fineVnd;
  let interestUnits = 0; // 1/10000 dong
  let interestPaid = 0;
  let accruedTo = dueDay; // interest accounted for every day up to and including this one
  const accrue = (day: number) => {
    if (day > accruedTo) {
      interestUnits += principal * bpPerDay * (day - accruedTo);
      accruedTo = day;
    }
  };
  const accruedVnd = () => Math.floor((interestUnits + 5_000) / 10_000);
  const allocations: PaymentAllocation[] = [];
  let lastPaidAt = -Infinity;
  for (const p of payments) {
    if (!Number.isSafeInteger(p.amountVnd) || p.amountVnd <= 0) {
      throw new RangeError('a payment must be a positive integer amount');
    }
    if (p.paidAt.getTime() < lastPaidAt) throw new RangeError('payments must be in time order');
    lastPaidAt = p.paidAt.getTime();
    const day = vnDay(p.paidAt);
    accrue(day);
    const interestDue = accruedVnd() - interestPaid;
    if (p.amountVnd > principal + interestDue) throw new OverpaymentError(principal + interestDue);
    const toPrincipal = Math.min(p.amountVnd, principal);
    principal -= toPrincipal;
    interestPaid += p.amountVnd - toPrincipal;
    allocations.push({
      principalVnd: toPrincipal,
      interestVnd: p.amountVnd - toPrincipal,
      daysLate: Math.max(0, day - dueDay),
    });
  }
  accrue(Math.max(vnDay(at), accruedTo));
  const interestOutstanding = accruedVnd() - interestPaid;
  return {
    principalOutstandingVnd: principal,
    interestOutstandingVnd: interestOutstanding,
    interestAccruedVnd: accruedVnd(),
    owedVnd: principal + interestOutstanding,
    daysLate: daysLate(dueAt, at),
    allocations,
  };
}
