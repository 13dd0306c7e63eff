/* eslint-disable @typescript-eslint/no-explicit-any -- migrations are typed Kysely<any>: they must not depend on today's schema types */
import { sql, type Kysely } from 'kysely';

/**
 * The effective-dated sanction table: which fine range and licence-point deduction applies to a rule,
 * for a vehicle class, on a given day. A violation is fined under the text in force on the day it was
 * committed (Decree 168/2024 Art 54.1), so rows are never edited: an amendment closes the old rows
 * (valid_to) and adds new ones in a new migration.
 *
 * Speeding tiers carry a numrange of km/h over the limit (half-open as the decree words them).
 * A trigger refuses two rows for the same rule and vehicle class whose validity periods and speed tiers
 * overlap, so a lookup finds at most one row.
 *
 * Seed: Decree 168/2024/NĐ-CP (in force 1 Jan 2025), individuals. Decree 238/2026/NĐ-CP amended it from
 * 15 Aug 2026 and its amended amounts were not available when this was written: the Decree 168 rows end
 * there, and the same amounts are carried over from that day as `provisional` rows, so that the system
 * keeps working while marking every fine computed from them as unverified. Replace them with the amended
 * table in a new migration (set valid_to on the provisional rows, insert the verified ones).
 */
const UP = [
  `CREATE TABLE sanction_rule (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  rule_code text NOT NULL CONSTRAINT sanction_rule_rule_code_format CHECK (rule_code ~ '^[a-z][a-z0-9_]{0,63}$'),
  vehicle_class text NOT NULL CONSTRAINT sanction_rule_vehicle_class_known CHECK (vehicle_class IN ('car', 'motorbike')),
  speed_excess_kmh numrange CONSTRAINT sanction_rule_speed_excess_nonempty
    CHECK (speed_excess_kmh IS NULL OR NOT isempty(speed_excess_kmh)),
  description text NOT NULL,
  legal_basis text NOT NULL,
  citation text NOT NULL CONSTRAINT sanction_rule_citation_format CHECK (citation ~ '^[0-9]+(\\.[0-9]+)*(\\.[a-zđ]+)?$'),
  fine_min_vnd bigint NOT NULL CONSTRAINT sanction_rule_fine_min_positive CHECK (fine_min_vnd > 0),
  fine_max_vnd bigint NOT NULL,
  fine_default_vnd bigint GENERATED ALWAYS AS ((fine_min_vnd + fine_max_vnd) / 2) STORED,
  points smallint NOT NULL DEFAULT 0 CONSTRAINT sanction_rule_points_range CHECK (points BETWEEN 0 AND 12),
  valid_from timestamptz NOT NULL,
  valid_to timestamptz,
  provisional boolean NOT NULL DEFAULT false,
  note text,
  created_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT sanction_rule_fine_range CHECK (fine_max_vnd >= fine_min_vnd),
  CONSTRAINT sanction_rule_validity CHECK (valid_to IS NULL OR valid_to > valid_from)
)`,
  `COMMENT ON COLUMN sanction_rule.points IS 'licence points deducted (Law 36/2024 Art 58)'`,
  `CREATE INDEX sanction_rule_lookup_idx ON sanction_rule (rule_code, vehicle_class, valid_from)`,
  `CREATE FUNCTION sanction_rule_no_overlap() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- serialise writers so that two concurrent inserts cannot both pass the check
  PERFORM pg_advisory_xact_lock(7366051, 1);
  IF EXISTS (
    SELECT 1 FROM sanction_rule s
    WHERE s.id <> NEW.id
      AND s.rule_code = NEW.rule_code
      AND s.vehicle_class = NEW.vehicle_class
      AND tstzrange(s.valid_from, s.valid_to) && tstzrange(NEW.valid_from, NEW.valid_to)
      AND (s.speed_excess_kmh IS NULL OR NEW.speed_excess_kmh IS NULL OR s.speed_excess_kmh && NEW.speed_excess_kmh)
  ) THEN
    RAISE EXCEPTION 'sanction_rule % / % overlaps an existing row in validity and speed tier',
      NEW.rule_code, NEW.vehicle_class
      USING ERRCODE = 'exclusion_violation';
  END IF;
  RETURN NEW;
END
$$`,
  `CREATE TRIGGER sanction_rule_no_overlap BEFORE INSERT OR UPDATE ON sanction_rule
  FOR EACH ROW EXECUTE FUNCTION sanction_rule_no_overlap()`,
];

const DOWN = ['DROP TABLE sanction_rule', 'DROP FUNCTION sanction_rule_no_overlap()'];

type Seed = [
  ruleCode: string,
  vehicleClass: 'car' | 'motorbike',
  speedExcessKmh: string | null,
  citation: string,
  fineMinVnd: number,
  fineMaxVnd: number,
  points: number,
  description: string,
];

/** Decree 168/2024/NĐ-CP, Art 6 (cars) and Art 7 (motorbikes and mopeds), fines for individuals. */
// prettier-ignore
const DECREE_168: Seed[] = [
  ['red_light', 'car', null, '6.9.b', 18_000_000, 20_000_000, 4, 'Failing to obey a red traffic light'],
  ['stop_line', 'car', null, '6.1.a', 400_000, 600_000, 0, 'Not obeying signs or road markings (stopping past the stop line)'],
  ['wrong_way', 'car', null, '6.9.d', 18_000_000, 20_000_000, 4, 'Driving against the direction of a one-way road or a no-entry sign'],
  ['wrong_lane', 'car', null, '6.5.b', 4_000_000, 6_000_000, 2, 'Driving in the wrong lane or part of the road, or across a fixed median'],
  ['lane_change', 'car', null, '6.2.a', 600_000, 800_000, 0, 'Changing lanes improperly'],
  ['restricted_area', 'car', null, '6.5.i', 4_000_000, 6_000_000, 2, 'Entering a road or area closed to this vehicle class'],
  ['speeding', 'car', '[5,10)', '6.3.a', 800_000, 1_000_000, 0, 'Speeding 5 to under 10 km/h over the limit'],
  ['speeding', 'car', '[10,20]', '6.5.đ', 4_000_000, 6_000_000, 2, 'Speeding 10 to 20 km/h over the limit'],
  ['speeding', 'car', '(20,35]', '6.6.a', 6_000_000, 8_000_000, 4, 'Speeding over 20 to 35 km/h over the limit'],
  ['speeding', 'car', '(35,)', '6.7.a', 12_000_000, 14_000_000, 6, 'Speeding over 35 km/h over the limit'],
  ['sidewalk', 'car', null, '6.6.d', 6_000_000, 8_000_000, 4, 'Driving on the sidewalk'],
  ['no_parking', 'car', null, '6.3.e', 800_000, 1_000_000, 0, 'Stopping or parking where a no-parking or no-stopping sign applies'],
  ['intersection_stopping', 'car', null, '6.3.đ', 800_000, 1_000_000, 0, 'Stopping or parking in an intersection, within 5 m of one, or at a bus stop'],
  ['phone', 'car', null, '6.5.h', 4_000_000, 6_000_000, 4, 'Using a hand-held phone while driving'],

  ['red_light', 'motorbike', null, '7.7.c', 4_000_000, 6_000_000, 4, 'Failing to obey a red traffic light'],
  ['stop_line', 'motorbike', null, '7.1.a', 200_000, 400_000, 0, 'Not obeying signs or road markings (stopping past the stop line)'],
  ['wrong_way', 'motorbike', null, '7.7.a', 4_000_000, 6_000_000, 2, 'Riding against the direction of a one-way road or a no-entry sign'],
  ['wrong_lane', 'motorbike', null, '7.3.d', 600_000, 800_000, 0, 'Riding in the wrong lane or part of the road'],
  ['lane_change', 'motorbike', null, '7.1.e', 200_000, 400_000, 0, 'Changing lanes improperly'],
  ['restricted_area', 'motorbike', null, '7.6.b', 2_000_000, 3_000_000, 2, 'Entering a road or area closed to this vehicle class'],
  ['speeding', 'motorbike', '[5,10)', '7.2.b', 400_000, 600_000, 0, 'Speeding 5 to under 10 km/h over the limit'],
  ['speeding', 'motorbike', '[10,20]', '7.4.a', 800_000, 1_000_000, 0, 'Speeding 10 to 20 km/h over the limit'],
  ['speeding', 'motorbike', '(20,)', '7.8.a', 6_000_000, 8_000_000, 4, 'Speeding over 20 km/h over the limit'],
  ['sidewalk', 'motorbike', null, '7.7.a', 4_000_000, 6_000_000, 2, 'Riding on the sidewalk'],
  ['no_parking', 'motorbike', null, '7.2.e', 400_000, 600_000, 0, 'Stopping or parking where a no-parking or no-stopping sign applies'],
  ['intersection_stopping', 'motorbike', null, '7.2.e', 400_000, 600_000, 0, 'Stopping or parking in an intersection, at a crossing or at a bus stop'],
  ['no_helmet', 'motorbike', null, '7.2.h', 400_000, 600_000, 0, 'Rider without a helmet (a passenger without one: 7.2.i, same amounts)'],
  ['overloaded', 'motorbike', null, '7.3.b', 600_000, 800_000, 2, 'Carrying three or more people'],
  ['phone', 'motorbike', null, '7.4.đ', 800_000, 1_000_000, 4, 'Using a hand-held phone while riding'],
];

const DECREE_168_FROM = '2025-01-01T00:00:00+07:00';
const DECREE_238_FROM = '2026-08-15T00:00:00+07:00';

export async function up(db: Kysely<any>): Promise<void> {
  for (const statement of UP) await sql.raw(statement).execute(db);
  const row = (s: Seed, provisional: boolean) => ({
    rule_code: s[0],
    vehicle_class: s[1],
    speed_excess_kmh: s[2],
    citation: s[3],
    fine_min_vnd: s[4],
    fine_max_vnd: s[5],
    points: s[6],
    description: s[7],
    legal_basis: provisional ? '168/2024/NĐ-CP as amended by 238/2026/NĐ-CP' : '168/2024/NĐ-CP',
    valid_from: provisional ? DECREE_238_FROM : DECREE_168_FROM,
    valid_to: provisional ? null : DECREE_238_FROM,
    provisional,
    note: provisional
      ? 'Decree 168 amounts carried over unverified: the amounts amended by Decree 238/2026 were not available'
      : null,
  });
  await db
    .insertInto('sanction_rule')
    .values(DECREE_168.map((s) => row(s, false)))
    .execute();
  await db
    .insertInto('sanction_rule')
    .values(DECREE_168.map((s) => row(s, true)))
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const statement of DOWN) await sql.raw(statement).execute(db);
}
