/* eslint-disable @typescript-eslint/no-explicit-any -- migrations are typed Kysely<any>: they must not depend on today's schema types */
import { sql, type Kysely } from 'kysely';

/**
 * The external signal feed: phase changes that intersections' signal controllers post to the API
 * (POST /api/signals/:intersectionId), kept as they were received (append-only: they back the red-light
 * evidence), and the machine role those controllers sign in with.
 *
 * Which cameras an intersection's phases reach is not stored here: a camera's scene configuration names
 * the intersection and the controller's signal group for each of its external signal groups, so the
 * link is versioned with the scene a violation was judged under.
 */
const UP = [
  `ALTER TABLE user_role DROP CONSTRAINT user_role_role_known`,
  `ALTER TABLE user_role ADD CONSTRAINT user_role_role_known
  CHECK (role IN ('reviewer', 'supervisor', 'operator', 'admin', 'signal_controller'))`,

  `CREATE TABLE signal_phase_report (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  intersection_id text NOT NULL
    CONSTRAINT signal_phase_report_intersection_format CHECK (intersection_id ~ '^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$'),
  signal_group text NOT NULL
    CONSTRAINT signal_phase_report_group_format CHECK (signal_group ~ '^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$'),
  phase text NOT NULL
    CONSTRAINT signal_phase_report_phase_known CHECK (phase IN ('green', 'amber', 'red', 'flashing-amber', 'dark', 'unknown')),
  controller_at timestamptz NOT NULL,
  received_at timestamptz NOT NULL DEFAULT now(),
  received_by text NOT NULL CONSTRAINT signal_phase_report_received_by_length CHECK (length(received_by) BETWEEN 1 AND 200),
  CONSTRAINT signal_phase_report_key UNIQUE (intersection_id, signal_group, controller_at)
)`,
  `COMMENT ON TABLE signal_phase_report IS 'phase changes posted by signal controllers; append-only (red-light evidence)'`,
  `CREATE INDEX signal_phase_report_intersection_at ON signal_phase_report (intersection_id, controller_at)`,
  `CREATE TRIGGER signal_phase_report_immutable BEFORE UPDATE ON signal_phase_report
  FOR EACH ROW EXECUTE FUNCTION refuse_mutation()`,
];

const DOWN = [
  'DROP TABLE signal_phase_report',
  `DELETE FROM user_role WHERE role = 'signal_controller'`,
  `ALTER TABLE user_role DROP CONSTRAINT user_role_role_known`,
  `ALTER TABLE user_role ADD CONSTRAINT user_role_role_known
  CHECK (role IN ('reviewer', 'supervisor', 'operator', 'admin'))`,
];

export async function up(db: Kysely<any>): Promise<void> {
  for (const statement of UP) await sql.raw(statement).execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const statement of DOWN) await sql.raw(statement).execute(db);
}
