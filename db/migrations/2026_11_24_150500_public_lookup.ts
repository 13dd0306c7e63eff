/* eslint-disable @typescript-eslint/no-explicit-any -- migrations are typed Kysely<any>: they must not depend on today's schema types */
import { sql, type Kysely } from 'kysely';

/**
 * The citizen lookup (plate + vehicle type → the public listing of Circular 73/2024 Art 24) compares
 * plates with Đ read as D (a citizen types "29MD1…" for "29MĐ1…", as the plate grammar compares
 * readings) and lists only violations a reviewer approved (approved, notified, closed), newest first.
 * A partial expression index serves exactly that query, so a lookup costs the same index probe whether
 * the plate is known or not.
 */
const UP = [
  `CREATE INDEX violation_public_plate_idx ON violation ((replace(plate, 'Đ', 'D')), observed_at DESC, id DESC)
  WHERE plate IS NOT NULL AND status IN ('approved', 'notified', 'closed')`,
];

const DOWN = ['DROP INDEX violation_public_plate_idx'];

export async function up(db: Kysely<any>): Promise<void> {
  for (const statement of UP) await sql.raw(statement).execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const statement of DOWN) await sql.raw(statement).execute(db);
}
