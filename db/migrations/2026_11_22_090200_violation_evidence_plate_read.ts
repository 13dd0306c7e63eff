/* eslint-disable @typescript-eslint/no-explicit-any -- migrations are typed Kysely<any>: they must not depend on today's schema types */
import { sql, type Kysely } from 'kysely';

/**
 * Violations, their evidence and the plate reads behind them.
 *
 * violation_once_key (camera_id, track_key, rule_code) is the exactly-once guarantee: queue jobs are
 * delivered at least once, and a retried job must find the violation it already recorded.
 * observed_at is timestamptz(3) (milliseconds, like a JavaScript Date) so that keyset cursors built
 * from a Date compare exactly.
 * Evidence rows are immutable (UPDATE refused); DELETE stays possible for the retention job.
 */
const PLATE = `'^[A-Z0-9Đ]{4,12}$'`;

const UP = [
  `CREATE TABLE violation (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  camera_id bigint NOT NULL REFERENCES camera (id) ON DELETE RESTRICT,
  track_key text NOT NULL CONSTRAINT violation_track_key_length CHECK (length(track_key) BETWEEN 1 AND 200),
  rule_code text NOT NULL CONSTRAINT violation_rule_code_format CHECK (rule_code ~ '^[a-z][a-z0-9_]{0,63}$'),
  observed_at timestamptz(3) NOT NULL,
  status text NOT NULL DEFAULT 'flagged' CONSTRAINT violation_status_known CHECK (status IN
    ('flagged', 'in_review', 'approved', 'rejected', 'notified', 'closed', 'expired')),
  plate text CONSTRAINT violation_plate_compact CHECK (plate ~ ${PLATE}),
  plate_color text CONSTRAINT violation_plate_color_known CHECK (plate_color IN ('white', 'yellow', 'blue', 'red')),
  plate_confidence real CONSTRAINT violation_plate_confidence_range CHECK (plate_confidence BETWEEN 0 AND 1),
  vehicle_class text NOT NULL CONSTRAINT violation_vehicle_class_format CHECK (vehicle_class ~ '^[a-z][a-z_]{0,31}$'),
  scene_config_version integer NOT NULL,
  details jsonb NOT NULL DEFAULT '{}' CONSTRAINT violation_details_object CHECK (jsonb_typeof(details) = 'object'),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT violation_once_key UNIQUE (camera_id, track_key, rule_code),
  CONSTRAINT violation_scene_config_fkey FOREIGN KEY (camera_id, scene_config_version)
    REFERENCES scene_config (camera_id, version) ON DELETE RESTRICT,
  CONSTRAINT violation_plate_confidence_needs_plate CHECK (plate_confidence IS NULL OR plate IS NOT NULL)
)`,
  `CREATE TRIGGER violation_set_updated_at BEFORE UPDATE ON violation
  FOR EACH ROW EXECUTE FUNCTION set_updated_at()`,
  `CREATE INDEX violation_observed_idx ON violation (observed_at DESC, id DESC)`,
  `CREATE INDEX violation_status_observed_idx ON violation (status, observed_at DESC, id DESC)`,
  `CREATE INDEX violation_camera_observed_idx ON violation (camera_id, observed_at DESC, id DESC)`,
  `CREATE INDEX violation_plate_idx ON violation (plate) WHERE plate IS NOT NULL`,

  `CREATE TABLE evidence_asset (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  violation_id bigint NOT NULL REFERENCES violation (id) ON DELETE RESTRICT,
  kind text NOT NULL CONSTRAINT evidence_asset_kind_known CHECK (kind IN
    ('still_before', 'still_at', 'still_after', 'vehicle_crop', 'plate_crop', 'clip', 'manifest', 'signature')),
  media_type text NOT NULL CONSTRAINT evidence_asset_media_type_format CHECK (media_type ~ '^[a-z]+/[a-z0-9.+-]+$'),
  sha256 char(64) NOT NULL CONSTRAINT evidence_asset_sha256_hex CHECK (sha256 ~ '^[0-9a-f]{64}$'),
  size_bytes bigint NOT NULL CONSTRAINT evidence_asset_size_nonnegative CHECK (size_bytes >= 0),
  storage_uri text NOT NULL CONSTRAINT evidence_asset_storage_uri_length CHECK (length(storage_uri) BETWEEN 1 AND 2000),
  created_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT evidence_asset_violation_kind_key UNIQUE (violation_id, kind)
)`,
  `CREATE TRIGGER evidence_asset_immutable BEFORE UPDATE ON evidence_asset
  FOR EACH ROW EXECUTE FUNCTION refuse_mutation()`,
  `CREATE INDEX evidence_asset_sha256_idx ON evidence_asset (sha256)`,

  `CREATE TABLE plate_read (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  violation_id bigint REFERENCES violation (id) ON DELETE CASCADE,
  camera_id bigint NOT NULL REFERENCES camera (id) ON DELETE RESTRICT,
  track_key text NOT NULL CONSTRAINT plate_read_track_key_length CHECK (length(track_key) BETWEEN 1 AND 200),
  plate text NOT NULL CONSTRAINT plate_read_plate_compact CHECK (plate ~ '^[A-Z0-9Đ]{1,12}$'),
  confidence real NOT NULL CONSTRAINT plate_read_confidence_range CHECK (confidence BETWEEN 0 AND 1),
  model_name text NOT NULL,
  model_version text NOT NULL,
  read_at timestamptz NOT NULL,
  details jsonb NOT NULL DEFAULT '{}' CONSTRAINT plate_read_details_object CHECK (jsonb_typeof(details) = 'object'),
  created_at timestamptz NOT NULL DEFAULT now()
)`,
  `CREATE INDEX plate_read_track_idx ON plate_read (camera_id, track_key, read_at)`,
  `CREATE INDEX plate_read_violation_idx ON plate_read (violation_id) WHERE violation_id IS NOT NULL`,
  `CREATE INDEX plate_read_plate_idx ON plate_read (plate)`,
];

const DOWN = ['DROP TABLE plate_read', 'DROP TABLE evidence_asset', 'DROP TABLE violation'];

export async function up(db: Kysely<any>): Promise<void> {
  for (const statement of UP) await sql.raw(statement).execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const statement of DOWN) await sql.raw(statement).execute(db);
}
