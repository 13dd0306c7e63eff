/* eslint-disable @typescript-eslint/no-explicit-any -- migrations are typed Kysely<any>: they must not depend on today's schema types */
import { sql, type Kysely } from 'kysely';

/**
 * A fine notice for an approved violation (one per violation). The amount, points and citation are
 * copied from the sanction rule in force on the day of the violation, so that a later amendment of the
 * rule table never changes an issued notice. notice_code is the public reference a citizen quotes.
 */
const UP = [
  `CREATE TABLE notice (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  violation_id bigint NOT NULL REFERENCES violation (id) ON DELETE RESTRICT,
  notice_code text NOT NULL CONSTRAINT notice_code_format CHECK (notice_code ~ '^[A-Z0-9][A-Z0-9-]{5,39}$'),
  state text NOT NULL DEFAULT 'draft' CONSTRAINT notice_state_known CHECK (state IN
    ('draft', 'issued', 'delivered', 'paid', 'overdue', 'cancelled')),
  sanction_rule_id bigint REFERENCES sanction_rule (id) ON DELETE RESTRICT,
  plate text NOT NULL CONSTRAINT notice_plate_compact CHECK (plate ~ '^[A-Z0-9Đ]{4,12}$'),
  vehicle_class text NOT NULL CONSTRAINT notice_vehicle_class_format CHECK (vehicle_class ~ '^[a-z][a-z_]{0,31}$'),
  fine_amount_vnd bigint NOT NULL CONSTRAINT notice_fine_positive CHECK (fine_amount_vnd > 0),
  points smallint NOT NULL DEFAULT 0 CONSTRAINT notice_points_range CHECK (points BETWEEN 0 AND 12),
  legal_basis text NOT NULL,
  citation text NOT NULL,
  issued_by bigint REFERENCES app_user (id) ON DELETE RESTRICT,
  issued_at timestamptz,
  due_at timestamptz,
  delivered_at timestamptz,
  paid_at timestamptz,
  cancelled_at timestamptz,
  cancel_reason text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT notice_violation_key UNIQUE (violation_id),
  CONSTRAINT notice_code_key UNIQUE (notice_code),
  CONSTRAINT notice_issued_has_time CHECK (state = 'draft' OR state = 'cancelled' OR issued_at IS NOT NULL),
  CONSTRAINT notice_paid_has_time CHECK (state <> 'paid' OR paid_at IS NOT NULL),
  CONSTRAINT notice_cancelled_has_time CHECK (state <> 'cancelled' OR cancelled_at IS NOT NULL),
  CONSTRAINT notice_due_after_issue CHECK (due_at IS NULL OR issued_at IS NULL OR due_at >= issued_at)
)`,
  `CREATE TRIGGER notice_set_updated_at BEFORE UPDATE ON notice
  FOR EACH ROW EXECUTE FUNCTION set_updated_at()`,
  `CREATE INDEX notice_plate_idx ON notice (plate, issued_at DESC)`,
  `CREATE INDEX notice_state_due_idx ON notice (state, due_at)`,
];

const DOWN = ['DROP TABLE notice'];

export async function up(db: Kysely<any>): Promise<void> {
  for (const statement of UP) await sql.raw(statement).execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const statement of DOWN) await sql.raw(statement).execute(db);
}
