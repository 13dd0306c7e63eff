import { sql } from 'kysely';
import { mapDbErrors } from '../pg-errors.js';
import type { DbExecutor } from '../schema.js';

/**
 * Police units (the unit that detects and resolves a camera's cases: camera.unit) and the public
 * holidays that deadlines in working days skip.
 */

export interface PoliceUnit {
  code: string;
  name: string;
  address: string;
  phone: string;
}

export async function upsertPoliceUnit(db: DbExecutor, unit: PoliceUnit): Promise<PoliceUnit> {
  const row = await mapDbErrors('police unit upsert', () =>
    db
      .insertInto('police_unit')
      .values(unit)
      .onConflict((oc) =>
        oc.column('code').doUpdateSet({ name: unit.name, address: unit.address, phone: unit.phone }),
      )
      .returning(['code', 'name', 'address', 'phone'])
      .executeTakeFirstOrThrow(),
  );
  return row;
}

export async function getPoliceUnit(db: DbExecutor, code: string): Promise<PoliceUnit | undefined> {
  return db
    .selectFrom('police_unit')
    .select(['code', 'name', 'address', 'phone'])
    .where('code', '=', code)
    .executeTakeFirst();
}

/** Public holidays from `from` to `to` inclusive ('YYYY-MM-DD'), as a set of 'YYYY-MM-DD'. */
export async function listPublicHolidays(db: DbExecutor, from: string, to: string): Promise<Set<string>> {
  const rows = await db
    .selectFrom('public_holiday')
    .select(sql<string>`to_char(day, 'YYYY-MM-DD')`.as('day'))
    .where('day', '>=', from)
    .where('day', '<=', to)
    .execute();
  return new Set(rows.map((r) => r.day));
}

/** Public holidays from `from` to `to` inclusive, with their names, in date order. */
export async function listPublicHolidayDays(
  db: DbExecutor,
  from: string,
  to: string,
): Promise<{ day: string; name: string }[]> {
  return db
    .selectFrom('public_holiday')
    .select([sql<string>`to_char(day, 'YYYY-MM-DD')`.as('day'), 'name'])
    .where('day', '>=', from)
    .where('day', '<=', to)
    .orderBy('day')
    .execute();
}

/** Removes a public holiday; its name when there was one. */
export async function removePublicHoliday(
  db: DbExecutor,
  day: string,
): Promise<{ name: string } | undefined> {
  return db.deleteFrom('public_holiday').where('day', '=', day).returning('name').executeTakeFirst();
}

export async function addPublicHoliday(db: DbExecutor, day: string, name: string): Promise<void> {
  await mapDbErrors('public holiday insert', () =>
    db
      .insertInto('public_holiday')
      .values({ day, name })
      .onConflict((oc) => oc.column('day').doUpdateSet({ name }))
      .execute(),
  );
}
