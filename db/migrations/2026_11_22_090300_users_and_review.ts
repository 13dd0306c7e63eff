/* eslint-disable @typescript-eslint/no-explicit-any -- migrations are typed Kysely<any>: they must not depend on today's schema types */
import { sql, type Kysely } from 'kysely';

/**
 * Staff accounts (police reviewers, supervisors, operators, admins), their roles, and the reviews they
 * make. A review is a record of a decision: UPDATE is refused.
 */
const UP = [
  `CREATE TABLE app_user (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  username text NOT NULL CONSTRAINT app_user_username_format CHECK (username ~ '^[a-z0-9][a-z0-9._-]{2,63}$'),
  password_hash text NOT NULL CONSTRAINT app_user_password_hash_length CHECK (length(password_hash) BETWEEN 20 AND 1000),
  display_name text NOT NULL CONSTRAINT app_user_display_name_length CHECK (length(display_name) BETWEEN 1 AND 200),
  unit text,
  disabled boolean NOT NULL DEFAULT false,
  failed_logins integer NOT NULL DEFAULT 0 CONSTRAINT app_user_failed_logins_nonnegative CHECK (failed_logins >= 0),
  locked_until timestamptz,
  last_login_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT app_user_username_key UNIQUE (username)
)`,
  `CREATE TRIGGER app_user_set_updated_at BEFORE UPDATE ON app_user
  FOR EACH ROW EXECUTE FUNCTION set_updated_at()`,

  `CREATE TABLE user_role (
  user_id bigint NOT NULL REFERENCES app_user (id) ON DELETE CASCADE,
  role text NOT NULL CONSTRAINT user_role_role_known CHECK (role IN ('reviewer', 'supervisor', 'operator', 'admin')),
  scope text NOT NULL DEFAULT '*' CONSTRAINT user_role_scope_length CHECK (length(scope) BETWEEN 1 AND 100),
  created_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT user_role_pkey PRIMARY KEY (user_id, role, scope)
)`,

  `CREATE TABLE review (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  violation_id bigint NOT NULL REFERENCES violation (id) ON DELETE RESTRICT,
  reviewer_id bigint NOT NULL REFERENCES app_user (id) ON DELETE RESTRICT,
  decision text NOT NULL CONSTRAINT review_decision_known CHECK (decision IN ('approve', 'reject', 'escalate')),
  reason_code text CONSTRAINT review_reason_code_format CHECK (reason_code ~ '^[a-z][a-z0-9_]{0,63}$'),
  plate_before text CONSTRAINT review_plate_before_compact CHECK (plate_before ~ '^[A-Z0-9Đ]{4,12}$'),
  plate_after text CONSTRAINT review_plate_after_compact CHECK (plate_after ~ '^[A-Z0-9Đ]{4,12}$'),
  note text CONSTRAINT review_note_length CHECK (length(note) <= 4000),
  created_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT review_reject_needs_reason CHECK (decision <> 'reject' OR reason_code IS NOT NULL)
)`,
  `CREATE TRIGGER review_immutable BEFORE UPDATE ON review
  FOR EACH ROW EXECUTE FUNCTION refuse_mutation()`,
  `CREATE INDEX review_violation_idx ON review (violation_id, created_at)`,
  `CREATE INDEX review_reviewer_idx ON review (reviewer_id, created_at DESC)`,
];

const DOWN = ['DROP TABLE review', 'DROP TABLE user_role', 'DROP TABLE app_user'];

export async function up(db: Kysely<any>): Promise<void> {
  for (const statement of UP) await sql.raw(statement).execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const statement of DOWN) await sql.raw(statement).execute(db);
}
