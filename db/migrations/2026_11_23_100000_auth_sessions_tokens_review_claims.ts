/* eslint-disable @typescript-eslint/no-explicit-any -- migrations are typed Kysely<any>: they must not depend on today's schema types */
import { sql, type Kysely } from 'kysely';

/**
 * Staff sign-in and the review queue.
 *
 * - user_session: browser sessions. The cookie carries a random 256-bit secret; only its sha256 is stored,
 *   so a copy of this table opens no session. Idle and absolute expiry are checked against the database
 *   clock; logout and a disabled account end a session at once.
 * - api_token: personal access tokens of API clients, acting as their user. Stored as sha256 of the
 *   secret (a 256-bit random value: a slow hash adds nothing); token_prefix identifies one in lists.
 * - review_claim: the lease a reviewer holds on a case. One row per violation, so two reviewers never hold
 *   the same case; a claim whose expires_at has passed may be taken over.
 * - review.stage: whether a review is the first review or the supervisor's second review.
 * - violation.status gains 'second_review': approved by a reviewer, waiting for a supervisor (corrected
 *   plates, low-confidence reads, escalations).
 * - camera.unit: the police unit responsible for a camera, which user_role.scope 'unit:<unit>' refers to.
 */
const STATUSES_BEFORE = `'flagged', 'in_review', 'approved', 'rejected', 'notified', 'closed', 'expired'`;
const STATUSES_AFTER = `'flagged', 'in_review', 'second_review', 'approved', 'rejected', 'notified', 'closed', 'expired'`;

const UP = [
  `ALTER TABLE camera ADD COLUMN unit text
  CONSTRAINT camera_unit_format CHECK (unit ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$')`,
  `CREATE INDEX camera_unit_idx ON camera (unit) WHERE unit IS NOT NULL`,

  `ALTER TABLE violation DROP CONSTRAINT violation_status_known`,
  `ALTER TABLE violation ADD CONSTRAINT violation_status_known CHECK (status IN (${STATUSES_AFTER}))`,

  `ALTER TABLE review ADD COLUMN stage text NOT NULL DEFAULT 'first'
  CONSTRAINT review_stage_known CHECK (stage IN ('first', 'second'))`,

  `CREATE TABLE user_session (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  user_id bigint NOT NULL REFERENCES app_user (id) ON DELETE CASCADE,
  token_hash char(64) NOT NULL CONSTRAINT user_session_token_hash_hex CHECK (token_hash ~ '^[0-9a-f]{64}$'),
  created_at timestamptz NOT NULL DEFAULT now(),
  last_seen_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  revoked_at timestamptz,
  revoke_reason text CONSTRAINT user_session_revoke_reason_format CHECK (revoke_reason ~ '^[a-z][a-z0-9_]{0,31}$'),
  client_ip text CONSTRAINT user_session_client_ip_length CHECK (length(client_ip) <= 64),
  CONSTRAINT user_session_token_hash_key UNIQUE (token_hash),
  CONSTRAINT user_session_expires_after_creation CHECK (expires_at > created_at),
  CONSTRAINT user_session_revoked_with_reason CHECK ((revoked_at IS NULL) = (revoke_reason IS NULL))
)`,
  `CREATE INDEX user_session_user_idx ON user_session (user_id, created_at DESC)`,
  `CREATE INDEX user_session_expires_idx ON user_session (expires_at)`,

  `CREATE TABLE api_token (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  user_id bigint NOT NULL REFERENCES app_user (id) ON DELETE CASCADE,
  name text NOT NULL CONSTRAINT api_token_name_length CHECK (length(name) BETWEEN 1 AND 100),
  token_hash char(64) NOT NULL CONSTRAINT api_token_token_hash_hex CHECK (token_hash ~ '^[0-9a-f]{64}$'),
  token_prefix text NOT NULL CONSTRAINT api_token_token_prefix_format CHECK (token_prefix ~ '^pnat_[A-Za-z0-9_-]{6}$'),
  created_by text NOT NULL CONSTRAINT api_token_created_by_length CHECK (length(created_by) BETWEEN 1 AND 200),
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz,
  last_used_at timestamptz,
  revoked_at timestamptz,
  CONSTRAINT api_token_token_hash_key UNIQUE (token_hash),
  CONSTRAINT api_token_expires_after_creation CHECK (expires_at IS NULL OR expires_at > created_at)
)`,
  `CREATE INDEX api_token_user_idx ON api_token (user_id, created_at DESC)`,

  `CREATE TABLE review_claim (
  violation_id bigint PRIMARY KEY REFERENCES violation (id) ON DELETE CASCADE,
  user_id bigint NOT NULL REFERENCES app_user (id) ON DELETE CASCADE,
  stage text NOT NULL CONSTRAINT review_claim_stage_known CHECK (stage IN ('first', 'second')),
  claimed_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  CONSTRAINT review_claim_expires_after_claim CHECK (expires_at > claimed_at)
)`,
  `CREATE INDEX review_claim_user_idx ON review_claim (user_id)`,
];

const DOWN = [
  'DROP TABLE review_claim',
  'DROP TABLE api_token',
  'DROP TABLE user_session',
  'ALTER TABLE review DROP COLUMN stage',
  // Cases waiting for a second review go back to the first review.
  `UPDATE violation SET status = 'in_review' WHERE status = 'second_review'`,
  'ALTER TABLE violation DROP CONSTRAINT violation_status_known',
  `ALTER TABLE violation ADD CONSTRAINT violation_status_known CHECK (status IN (${STATUSES_BEFORE}))`,
  'DROP INDEX camera_unit_idx',
  'ALTER TABLE camera DROP COLUMN unit',
];

export async function up(db: Kysely<any>): Promise<void> {
  for (const statement of UP) await sql.raw(statement).execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const statement of DOWN) await sql.raw(statement).execute(db);
}
