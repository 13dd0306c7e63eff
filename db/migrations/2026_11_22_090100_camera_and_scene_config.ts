/* eslint-disable @typescript-eslint/no-explicit-any -- migrations are typed Kysely<any>: they must not depend on today's schema types */
import { sql, type Kysely } from 'kysely';

/**
 * Cameras and their scene configurations (stop lines, lanes, signal regions...). A scene configuration
 * version is immutable: a violation names the version it was judged under, so editing one would change
 * the meaning of past evidence. A new configuration is a new version.
 */
const UP = [
  `CREATE TABLE camera (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  code text NOT NULL CONSTRAINT camera_code_format CHECK (code ~ '^[A-Z0-9][A-Z0-9_-]{0,31}$'),
  name text NOT NULL CONSTRAINT camera_name_length CHECK (length(name) BETWEEN 1 AND 200),
  location text NOT NULL DEFAULT '',
  lat double precision CONSTRAINT camera_lat_range CHECK (lat BETWEEN -90 AND 90),
  lon double precision CONSTRAINT camera_lon_range CHECK (lon BETWEEN -180 AND 180),
  rtsp_url text CONSTRAINT camera_rtsp_url_scheme CHECK (rtsp_url ~ '^rtsps?://'),
  enabled boolean NOT NULL DEFAULT true,
  timezone text NOT NULL DEFAULT 'Asia/Ho_Chi_Minh'
    CONSTRAINT camera_timezone_format CHECK (timezone ~ '^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+)*$'),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT camera_code_key UNIQUE (code),
  CONSTRAINT camera_lat_lon_together CHECK ((lat IS NULL) = (lon IS NULL))
)`,
  `COMMENT ON COLUMN camera.rtsp_url IS 'secret: may carry credentials; never logged'`,
  `CREATE TRIGGER camera_set_updated_at BEFORE UPDATE ON camera
  FOR EACH ROW EXECUTE FUNCTION set_updated_at()`,

  `CREATE TABLE scene_config (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  camera_id bigint NOT NULL REFERENCES camera (id) ON DELETE RESTRICT,
  version integer NOT NULL CONSTRAINT scene_config_version_positive CHECK (version > 0),
  config jsonb NOT NULL CONSTRAINT scene_config_config_object CHECK (jsonb_typeof(config) = 'object'),
  created_by text NOT NULL CONSTRAINT scene_config_created_by_length CHECK (length(created_by) BETWEEN 1 AND 200),
  created_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT scene_config_camera_version_key UNIQUE (camera_id, version)
)`,
  `CREATE TRIGGER scene_config_immutable BEFORE UPDATE ON scene_config
  FOR EACH ROW EXECUTE FUNCTION refuse_mutation()`,
];

const DOWN = ['DROP TABLE scene_config', 'DROP TABLE camera'];

export async function up(db: Kysely<any>): Promise<void> {
  for (const statement of UP) await sql.raw(statement).execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const statement of DOWN) await sql.raw(statement).execute(db);
}
