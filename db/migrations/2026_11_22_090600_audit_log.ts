/* eslint-disable @typescript-eslint/no-explicit-any -- migrations are typed Kysely<any>: they must not depend on today's schema types */
import { sql, type Kysely } from 'kysely';

/**
 * The append-only, hash-chained audit log.
 *
 * - UPDATE, DELETE and TRUNCATE are refused by statement-level triggers.
 * - The BEFORE INSERT trigger locks the one row of audit_log_head (the end of the chain), gives the new
 *   row the next id (gapless: a missing id is a deleted row), its time, prev_hash = the head's hash and
 *   hash = sha256(prev_hash || canonical row), then moves the head. Taking the lock before choosing the
 *   id keeps id order equal to chain order under concurrent writers; in REPEATABLE READ or SERIALIZABLE
 *   a concurrent append makes the later one fail with a serialization error instead of forking the chain.
 *   The lock is held until the inserting transaction ends: keep audited transactions short.
 * - The canonical row is a JSON array of strings:
 *     ["v1", id, at (UTC, milliseconds, ISO 8601), actor, action, entity_type, entity_id or null, details::text]
 *   built with to_json() so that db/audit-canonical.ts can rebuild it byte for byte.
 * - sha256() is built into PostgreSQL 11+ (and PGlite); pgcrypto is not needed.
 */
const GENESIS = '0'.repeat(64);

const UP = [
  `CREATE TABLE audit_log (
  id bigint PRIMARY KEY,
  at timestamptz(3) NOT NULL,
  actor text NOT NULL CONSTRAINT audit_log_actor_length CHECK (length(actor) BETWEEN 1 AND 200),
  action text NOT NULL CONSTRAINT audit_log_action_format CHECK (action ~ '^[a-z][a-z0-9_.]{0,63}$'),
  entity_type text NOT NULL CONSTRAINT audit_log_entity_type_format CHECK (entity_type ~ '^[a-z][a-z0-9_]{0,63}$'),
  entity_id text CONSTRAINT audit_log_entity_id_length CHECK (length(entity_id) BETWEEN 1 AND 200),
  details jsonb NOT NULL DEFAULT '{}' CONSTRAINT audit_log_details_object CHECK (jsonb_typeof(details) = 'object'),
  prev_hash char(64) NOT NULL CONSTRAINT audit_log_prev_hash_hex CHECK (prev_hash ~ '^[0-9a-f]{64}$'),
  hash char(64) NOT NULL CONSTRAINT audit_log_hash_hex CHECK (hash ~ '^[0-9a-f]{64}$'),
  CONSTRAINT audit_log_hash_key UNIQUE (hash)
)`,
  `CREATE INDEX audit_log_entity_idx ON audit_log (entity_type, entity_id, id)`,
  `CREATE INDEX audit_log_at_idx ON audit_log (at)`,

  `CREATE TABLE audit_log_head (
  singleton boolean PRIMARY KEY DEFAULT true CONSTRAINT audit_log_head_singleton CHECK (singleton),
  last_id bigint NOT NULL,
  last_hash char(64) NOT NULL
)`,
  `INSERT INTO audit_log_head (singleton, last_id, last_hash) VALUES (true, 0, '${GENESIS}')`,

  `CREATE FUNCTION audit_log_canonical(
  p_id bigint, p_at timestamptz, p_actor text, p_action text, p_entity_type text, p_entity_id text, p_details jsonb
) RETURNS text LANGUAGE sql STABLE AS $$
  SELECT '[' || concat_ws(',',
    to_json('v1'::text)::text,
    to_json(p_id::text)::text,
    to_json(to_char(p_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))::text,
    to_json(p_actor)::text,
    to_json(p_action)::text,
    to_json(p_entity_type)::text,
    coalesce(to_json(p_entity_id)::text, 'null'),
    to_json(p_details::text)::text
  ) || ']'
$$`,

  `CREATE FUNCTION audit_log_chain() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  head audit_log_head%ROWTYPE;
BEGIN
  SELECT * INTO STRICT head FROM audit_log_head WHERE singleton FOR UPDATE;
  NEW.id := head.last_id + 1;
  NEW.at := date_trunc('milliseconds', clock_timestamp());
  NEW.details := coalesce(NEW.details, '{}'::jsonb);
  NEW.prev_hash := head.last_hash;
  NEW.hash := encode(sha256(convert_to(
    NEW.prev_hash || audit_log_canonical(NEW.id, NEW.at, NEW.actor, NEW.action, NEW.entity_type, NEW.entity_id, NEW.details),
    'UTF8')), 'hex');
  UPDATE audit_log_head SET last_id = NEW.id, last_hash = NEW.hash WHERE singleton;
  RETURN NEW;
END
$$`,
  `CREATE TRIGGER audit_log_chain BEFORE INSERT ON audit_log
  FOR EACH ROW EXECUTE FUNCTION audit_log_chain()`,
  `CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION refuse_mutation()`,

  `CREATE FUNCTION audit_log_head_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- only the UPDATE issued by audit_log_chain (one trigger level down) may move the head
  IF TG_OP = 'UPDATE' AND pg_trigger_depth() > 1 THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION '% on audit_log_head is refused: the audit_log trigger maintains it', TG_OP
    USING ERRCODE = 'restrict_violation';
END
$$`,
  `CREATE TRIGGER audit_log_head_guard BEFORE INSERT OR UPDATE OR DELETE ON audit_log_head
  FOR EACH ROW EXECUTE FUNCTION audit_log_head_guard()`,
  `CREATE TRIGGER audit_log_head_no_truncate BEFORE TRUNCATE ON audit_log_head
  FOR EACH STATEMENT EXECUTE FUNCTION refuse_mutation()`,
];

const DOWN = [
  'DROP TABLE audit_log',
  'DROP TABLE audit_log_head',
  'DROP FUNCTION audit_log_head_guard()',
  'DROP FUNCTION audit_log_chain()',
  'DROP FUNCTION audit_log_canonical(bigint, timestamptz, text, text, text, text, jsonb)',
];

export async function up(db: Kysely<any>): Promise<void> {
  for (const statement of UP) await sql.raw(statement).execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const statement of DOWN) await sql.raw(statement).execute(db);
}
