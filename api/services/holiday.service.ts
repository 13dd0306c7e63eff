import { AppError } from '../../core/errors.js';
import type { Database } from '../../db/database.js';
import { appendAudit } from '../../db/repositories/audit.repository.js';
import {
  addPublicHoliday,
  listPublicHolidayDays,
  removePublicHoliday,
} from '../../db/repositories/police-unit.repository.js';
import { dayNumber } from '../../fines/legal-time.js';

export interface HolidayView {
  day: string;
  name: string;
}

/**
 * The public holidays that the fine procedure's periods skip (working days) or move past (a period
 * ending on one). Only the fixed-date holidays are seeded; Tết, the Hùng Kings' day and the days the
 * government moves each year are entered here by a supervisor, every change audited.
 */
export interface HolidayService {
  list(year: number): Promise<HolidayView[]>;
  /** Adds the day or renames it. */
  put(actor: string, day: string, name: string): Promise<{ created: boolean }>;
  /** False when the day was not a holiday. */
  remove(actor: string, day: string): Promise<boolean>;
}

export function createHolidayService(db: Database['db']): HolidayService {
  const checkDay = (day: string) => {
    try {
      dayNumber(day);
    } catch {
      throw new AppError('bad_request', `not a calendar date: ${day} (YYYY-MM-DD)`);
    }
  };
  return {
    async list(year) {
      return listPublicHolidayDays(db, `${year}-01-01`, `${year}-12-31`);
    },
    async put(actor, day, name) {
      checkDay(day);
      return db.transaction().execute(async (trx) => {
        const before = await listPublicHolidayDays(trx, day, day);
        await addPublicHoliday(trx, day, name);
        await appendAudit(trx, {
          actor,
          action: before.length ? 'holiday.rename' : 'holiday.add',
          entityType: 'public_holiday',
          entityId: day,
          details: { name, ...(before.length ? { previousName: before[0]!.name } : {}) },
        });
        return { created: before.length === 0 };
      });
    },
    async remove(actor, day) {
      checkDay(day);
      return db.transaction().execute(async (trx) => {
        const removed = await removePublicHoliday(trx, day);
        if (removed) {
          await appendAudit(trx, {
            actor,
            action: 'holiday.remove',
            entityType: 'public_holiday',
            entityId: day,
            details: { name: removed.name },
          });
        }
        return removed !== undefined;
      });
    },
  };
}
