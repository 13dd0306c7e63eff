/**
 * Hand-written Kysely table types: one interface per table, mirroring the migrations in db/migrations
 * column for column (snake_case, as in SQL). Repositories map rows to the camelCase domain types they
 * export; code outside db/ imports types from here or from the repositories, never from kysely.
 *
 * Conventions of the pg pool opened by db/database.ts:
 * - bigint (int8) columns arrive as JavaScript numbers (the pool installs a parser that refuses values
 *   beyond Number.MAX_SAFE_INTEGER), so ids and amounts in VND are `number`.
 * - timestamptz arrives as Date; numeric and ranges arrive as strings.
 * - jsonb is written as a JSON string (pg would turn a JavaScript array into a PostgreSQL array literal),
 *   and read as the parsed value.
 */
import type {
  ColumnType,
  Generated,
  GeneratedAlways,
  Insertable,
  Kysely,
  Selectable,
  Transaction,
} from 'kysely';

/** Anything a repository function can run on: the database or a transaction a service opened. */
export type DbExecutor = Kysely<DB> | Transaction<DB>;
/** The database handle and a transaction on it, for code outside db/ (which may not import kysely). */
export type Db = Kysely<DB>;
export type DbTransaction = Transaction<DB>;

export type JsonPrimitive = string | number | boolean | null;
export type JsonValue = JsonPrimitive | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/** A jsonb column holding an object: read parsed, written as JSON text. */
type JsonbObject = ColumnType<JsonObject, string, string>;
/** A jsonb object column with a database default. */
type JsonbObjectDefault = ColumnType<JsonObject, string | undefined, string>;
/** timestamptz set by the caller. */
type Timestamp = ColumnType<Date, Date | string, Date | string>;
/** Nullable timestamptz. */
type NullableTimestamp = ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
/** timestamptz defaulting to now() and never changed by an update. */
type CreatedAt = ColumnType<Date, Date | string | undefined, never>;
/** timestamptz defaulting to now(), maintained by the set_updated_at trigger. */
type UpdatedAt = ColumnType<Date, Date | string | undefined, Date | string | undefined>;
/** bigint identity column (GENERATED ALWAYS). */
type Id = GeneratedAlways<number>;

// ---------------------------------------------------------------------------------------------------
// Enumerations shared by the type level and the CHECK constraints in the migrations (the integration
// tests insert every value listed here, so a list that drifts from its constraint fails a test).

export const VIOLATION_STATUSES = [
  'flagged', // created by the pipeline, waiting for review
  'in_review', // a reviewer has it open
  'second_review', // a reviewer approved it; a supervisor must confirm (corrected plate, low-confidence read)
  'approved', // a reviewer confirmed it; a notice may be issued
  'rejected', // a reviewer dismissed it (reason on the review row)
  'notified', // a notice was issued to the registered owner
  'closed', // the notice was resolved (paid or otherwise settled)
  'expired', // the one-year limitation passed before a notice was issued
] as const;
export type ViolationStatus = (typeof VIOLATION_STATUSES)[number];

export const EVIDENCE_KINDS = [
  'still_before',
  'still_at',
  'still_after',
  'vehicle_crop',
  'plate_crop',
  'clip',
  'manifest',
  'signature',
] as const;
export type EvidenceKind = (typeof EVIDENCE_KINDS)[number];

export const PLATE_COLORS = ['white', 'yellow', 'blue', 'red'] as const;
export type PlateColor = (typeof PLATE_COLORS)[number];

export const REVIEW_DECISIONS = ['approve', 'reject', 'escalate'] as const;
export type ReviewDecision = (typeof REVIEW_DECISIONS)[number];

export const REVIEW_STAGES = ['first', 'second'] as const;
export type ReviewStage = (typeof REVIEW_STAGES)[number];

/** The states of a fine case (the notice table); fines/case-machine.ts holds the transitions. */
export const NOTICE_STATES = [
  'draft', // opened on approval with its sanction; the owner is not notified yet
  'issued', // the notice was sent to the registered owner
  'delivered', // the notice is known to have reached them
  'escalated', // 20 days after the notice without a response: registration/inspection agencies warned
  'responded', // the owner or driver came forward: the violator is identified
  'decided', // violation record and sanction decision made; payment due within 10 days
  'overdue', // the payment deadline passed: late interest accrues
  'paid', // paid in full, with any late interest
  'cancelled', // withdrawn, with a reason
  'expired', // the one-year limitation passed before a decision
] as const;
export type NoticeState = (typeof NOTICE_STATES)[number];

export const OFFENDER_KINDS = ['individual', 'organisation'] as const;
export type OffenderKind = (typeof OFFENDER_KINDS)[number];

export const PAYMENT_METHODS = [
  'bank_transfer',
  'national_portal',
  'vnetraffic',
  'cash',
  'card',
  'postal',
] as const;
export type PaymentMethod = (typeof PAYMENT_METHODS)[number];

/** `signal_controller`: a machine client (an intersection's signal controller) posting phase changes. */
export const USER_ROLES = ['reviewer', 'supervisor', 'operator', 'admin', 'signal_controller'] as const;
export type UserRole = (typeof USER_ROLES)[number];

/** The vehicle classes the sanction table distinguishes: Decree 168 Art 6 (cars) and Art 7 (motorbikes). */
export const SANCTION_VEHICLE_CLASSES = ['car', 'motorbike'] as const;
export type SanctionVehicleClass = (typeof SANCTION_VEHICLE_CLASSES)[number];

// ---------------------------------------------------------------------------------------------------

export interface CameraTable {
  id: Id;
  code: string;
  name: string;
  location: Generated<string>;
  lat: number | null;
  lon: number | null;
  /** Carries credentials: never logged, never returned by list functions unless they say so. */
  rtsp_url: string | null;
  enabled: Generated<boolean>;
  timezone: Generated<string>;
  /** The police unit responsible for the camera (user_role.scope 'unit:<unit>'). */
  unit: string | null;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

export interface SceneConfigTable {
  id: Id;
  camera_id: number;
  version: number;
  config: JsonbObject;
  created_by: string;
  created_at: CreatedAt;
}

export interface ViolationTable {
  id: Id;
  camera_id: number;
  track_key: string;
  rule_code: string;
  /** timestamptz(3): millisecond precision, like a JavaScript Date (keeps keyset cursors exact). */
  observed_at: Timestamp;
  status: ColumnType<ViolationStatus, ViolationStatus | undefined, ViolationStatus>;
  /** Compact form: uppercase letters and digits, Đ kept. */
  plate: string | null;
  plate_color: PlateColor | null;
  plate_confidence: number | null;
  vehicle_class: string;
  scene_config_version: number;
  details: JsonbObjectDefault;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

export interface EvidenceAssetTable {
  id: Id;
  violation_id: number;
  kind: EvidenceKind;
  media_type: string;
  sha256: string;
  size_bytes: number;
  storage_uri: string;
  created_at: CreatedAt;
}

export interface PlateReadTable {
  id: Id;
  violation_id: number | null;
  camera_id: number;
  track_key: string;
  plate: string;
  confidence: number;
  model_name: string;
  model_version: string;
  read_at: Timestamp;
  details: JsonbObjectDefault;
  created_at: CreatedAt;
}

export interface AppUserTable {
  id: Id;
  username: string;
  password_hash: string;
  display_name: string;
  unit: string | null;
  disabled: Generated<boolean>;
  failed_logins: Generated<number>;
  locked_until: NullableTimestamp;
  last_login_at: NullableTimestamp;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

export interface UserRoleTable {
  user_id: number;
  role: UserRole;
  scope: Generated<string>;
  created_at: CreatedAt;
}

export interface ReviewTable {
  id: Id;
  violation_id: number;
  reviewer_id: number;
  decision: ReviewDecision;
  reason_code: string | null;
  plate_before: string | null;
  plate_after: string | null;
  note: string | null;
  stage: Generated<ReviewStage>;
  created_at: CreatedAt;
}

/** A browser session; the cookie holds the secret, this table only its sha256. */
export interface UserSessionTable {
  id: Id;
  user_id: number;
  token_hash: string;
  created_at: CreatedAt;
  last_seen_at: ColumnType<Date, Date | string | undefined, Date | string>;
  expires_at: Timestamp;
  revoked_at: NullableTimestamp;
  revoke_reason: string | null;
  client_ip: string | null;
}

/** A personal access token of an API client; only the sha256 of the secret is stored. */
export interface ApiTokenTable {
  id: Id;
  user_id: number;
  name: string;
  token_hash: string;
  token_prefix: string;
  /** Actor that created it: 'user:1', 'system:cli'. */
  created_by: string;
  created_at: CreatedAt;
  expires_at: NullableTimestamp;
  last_used_at: NullableTimestamp;
  revoked_at: NullableTimestamp;
}

/** The lease a reviewer holds on a case (one per violation). */
export interface ReviewClaimTable {
  violation_id: number;
  user_id: number;
  stage: ReviewStage;
  /** Renewed when the lease is taken over or renewed. */
  claimed_at: ColumnType<Date, Date | string | undefined, Date | string>;
  expires_at: Timestamp;
}

export interface SanctionRuleTable {
  id: Id;
  rule_code: string;
  vehicle_class: SanctionVehicleClass;
  /** numrange of km/h over the limit for speeding tiers, e.g. '[5,10)', '(35,)'; null for other rules. */
  speed_excess_kmh: string | null;
  description: string;
  /** The legal instrument, e.g. '168/2024/NĐ-CP'. */
  legal_basis: string;
  /** Article.clause.point within it, e.g. '6.9.b'. */
  citation: string;
  fine_min_vnd: number;
  fine_max_vnd: number;
  /** Midpoint of the range (generated). */
  fine_default_vnd: GeneratedAlways<number>;
  points: Generated<number>;
  valid_from: Timestamp;
  valid_to: NullableTimestamp;
  /** True for rows whose amounts are carried over without verification against the text in force. */
  provisional: Generated<boolean>;
  note: string | null;
  /** The behaviour in Vietnamese, for notices and the public listing. */
  description_vi: string | null;
  created_at: CreatedAt;
}

export interface NoticeTable {
  id: Id;
  violation_id: number;
  notice_code: string;
  state: ColumnType<NoticeState, NoticeState | undefined, NoticeState>;
  sanction_rule_id: number | null;
  plate: string;
  vehicle_class: string;
  fine_amount_vnd: number;
  points: Generated<number>;
  legal_basis: string;
  citation: string;
  issued_by: number | null;
  issued_at: NullableTimestamp;
  due_at: NullableTimestamp;
  delivered_at: NullableTimestamp;
  paid_at: NullableTimestamp;
  cancelled_at: NullableTimestamp;
  cancel_reason: string | null;
  /** The range of the sanction rule (doubled for an organisation); null on notices made before cases. */
  fine_min_vnd: number | null;
  fine_max_vnd: number | null;
  /** Copied from the sanction rule: amounts not verified against the text in force. */
  provisional: Generated<boolean>;
  /** Set when the notice is issued, from the registry (never the owner's identity). */
  offender_kind: OffenderKind | null;
  /** Why the decided fine differs from the default (the midpoint). */
  fine_reason: string | null;
  escalated_at: NullableTimestamp;
  responded_at: NullableTimestamp;
  decided_at: NullableTimestamp;
  decision_number: string | null;
  expired_at: NullableTimestamp;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

/** A payment towards a decided fine; immutable. */
export interface PaymentTable {
  id: Id;
  notice_id: number;
  amount_vnd: number;
  /** The part that paid the fine itself, and the part that paid late interest. */
  principal_vnd: number;
  interest_vnd: number;
  days_late: number;
  method: PaymentMethod;
  reference: string;
  paid_at: Timestamp;
  recorded_by: string;
  created_at: CreatedAt;
}

/** The demo's local vehicle registry. Personal data: read only through the audited registry adapter. */
export interface VehicleRegistrationTable {
  id: Id;
  plate: string;
  vehicle_class: SanctionVehicleClass;
  owner_kind: Generated<OffenderKind>;
  owner_name: string;
  owner_address: string;
  make: string | null;
  colour: string | null;
  /** date as 'YYYY-MM-DD': the repository selects it with to_char (pg would make a local-midnight Date). */
  registered_on: ColumnType<string | null, string | null | undefined, string | null>;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

/** The police unit that resolves the cases of its cameras (camera.unit). */
export interface PoliceUnitTable {
  code: string;
  name: string;
  address: string;
  phone: string;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

/** Days off besides weekends, for deadlines in working days. */
export interface PublicHolidayTable {
  /** date as 'YYYY-MM-DD': the repository selects it with to_char (pg would make a local-midnight Date). */
  day: ColumnType<string, string, string>;
  name: string;
}

/** Append-only; id, at, prev_hash and hash are assigned by the audit_log_chain trigger. */
export interface AuditLogTable {
  id: GeneratedAlways<number>;
  at: GeneratedAlways<Date>;
  actor: string;
  action: string;
  entity_type: string;
  entity_id: string | null;
  details: JsonbObjectDefault;
  prev_hash: GeneratedAlways<string>;
  hash: GeneratedAlways<string>;
}

/** One row: the end of the audit chain, maintained by the audit_log_chain trigger only. */
export interface AuditLogHeadTable {
  singleton: GeneratedAlways<boolean>;
  last_id: GeneratedAlways<number>;
  last_hash: GeneratedAlways<string>;
}

/** A phase change posted by an intersection's signal controller (append-only). */
export interface SignalPhaseReportTable {
  id: Id;
  intersection_id: string;
  signal_group: string;
  phase: string;
  controller_at: Timestamp;
  received_at: CreatedAt;
  received_by: string;
}

export interface DB {
  camera: CameraTable;
  scene_config: SceneConfigTable;
  violation: ViolationTable;
  evidence_asset: EvidenceAssetTable;
  plate_read: PlateReadTable;
  app_user: AppUserTable;
  user_role: UserRoleTable;
  review: ReviewTable;
  sanction_rule: SanctionRuleTable;
  notice: NoticeTable;
  audit_log: AuditLogTable;
  audit_log_head: AuditLogHeadTable;
  user_session: UserSessionTable;
  api_token: ApiTokenTable;
  review_claim: ReviewClaimTable;
  payment: PaymentTable;
  vehicle_registration: VehicleRegistrationTable;
  police_unit: PoliceUnitTable;
  public_holiday: PublicHolidayTable;
  signal_phase_report: SignalPhaseReportTable;
}

export type CameraRow = Selectable<CameraTable>;
export type SceneConfigRow = Selectable<SceneConfigTable>;
export type ViolationRow = Selectable<ViolationTable>;
export type EvidenceAssetRow = Selectable<EvidenceAssetTable>;
export type PlateReadRow = Selectable<PlateReadTable>;
export type AppUserRow = Selectable<AppUserTable>;
export type UserRoleRow = Selectable<UserRoleTable>;
export type ReviewRow = Selectable<ReviewTable>;
export type SanctionRuleRow = Selectable<SanctionRuleTable>;
export type NoticeRow = Selectable<NoticeTable>;
export type AuditLogRow = Selectable<AuditLogTable>;
export type UserSessionRow = Selectable<UserSessionTable>;
export type ApiTokenRow = Selectable<ApiTokenTable>;
export type ReviewClaimRow = Selectable<ReviewClaimTable>;
export type PaymentRow = Selectable<PaymentTable>;
export type VehicleRegistrationRow = Selectable<VehicleRegistrationTable>;
export type PoliceUnitRow = Selectable<PoliceUnitTable>;
export type NewViolationRow = Insertable<ViolationTable>;
