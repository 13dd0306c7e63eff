/* eslint-disable @typescript-eslint/no-explicit-any -- migrations are typed Kysely<any>: they must not depend on today's schema types */
import { sql, type Kysely } from 'kysely';

/**
 * Fine cases: the notice table becomes the case of an approved violation, with the procedure of
 * Circular 73/2024 Art 24, Decree 135/2021 Art 15 and Decree 168/2024 Art 47 (see fines/case-machine.ts):
 *
 *   draft ─issue─► issued ─deliver─► delivered ─┬─respond─► responded ─decide─► decided ─pay─► paid
 *     │              └──────────────escalate (20 days after the notice)─► escalated ─respond─┘   │
 *     │                                                                          decided ─► overdue ─pay─► paid
 *     └─ any open state ─cancel─► cancelled;  before a decision, past the 1-year limitation ─expire─► expired
 *
 * - Every state carries the timestamps it needs (CHECKs written with OR, not IN, so that the one
 *   `state = ANY` constraint stays the list of states).
 * - The limitation (1 year from the recorded moment, Law on Handling Administrative Violations Art 6 as
 *   summarised in the shared law notes) is enforced here: a trigger refuses to issue a notice or a
 *   decision once it has passed, whatever the application sends.
 * - The fine range is copied from the sanction rule when the case opens (doubled for an organisation,
 *   Decree 168 Art 4 as summarised in the law notes) and the fine decided must lie inside it.
 * - payment: immutable rows (amount, method, reference, time, the part that paid late interest).
 * - vehicle_registration: the demo's local stand-in for the national vehicle registry. It holds owner
 *   names and addresses, personal data (Decree 13/2023 Art 2): read only through the registry adapter,
 *   which audits every read, and never copied into notices, logs or queue payloads.
 * - police_unit: the unit that resolves a camera's cases (camera.unit), with the address and phone the
 *   notice and the public listing show.
 * - public_holiday: days off besides weekends, for deadlines counted in working days.
 * - sanction_rule.description_vi: the behaviour in Vietnamese, for notices and the public listing.
 */
const STATES_BEFORE = `'draft', 'issued', 'delivered', 'paid', 'overdue', 'cancelled'`;

const or = (states: string[]) => states.map((s) => `state = '${s}'`).join(' OR ');
const AFTER_ISSUE = ['issued', 'delivered', 'escalated', 'responded', 'decided', 'overdue', 'paid'];
const AFTER_DECISION = ['decided', 'overdue', 'paid'];

const UP = [
  `CREATE TABLE police_unit (
  code text PRIMARY KEY CONSTRAINT police_unit_code_format CHECK (code ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$'),
  name text NOT NULL CONSTRAINT police_unit_name_length CHECK (length(name) BETWEEN 1 AND 200),
  address text NOT NULL CONSTRAINT police_unit_address_length CHECK (length(address) BETWEEN 1 AND 500),
  phone text NOT NULL CONSTRAINT police_unit_phone_format CHECK (phone ~ '^[0-9+() .-]{6,30}$'),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
)`,
  `CREATE TRIGGER police_unit_set_updated_at BEFORE UPDATE ON police_unit
  FOR EACH ROW EXECUTE FUNCTION set_updated_at()`,

  `CREATE TABLE public_holiday (
  day date PRIMARY KEY,
  name text NOT NULL CONSTRAINT public_holiday_name_length CHECK (length(name) BETWEEN 1 AND 200)
)`,

  `CREATE TABLE vehicle_registration (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  plate text NOT NULL CONSTRAINT vehicle_registration_plate_compact CHECK (plate ~ '^[A-Z0-9Đ]{4,12}$'),
  vehicle_class text NOT NULL CONSTRAINT vehicle_registration_vehicle_class_known CHECK (vehicle_class IN ('car', 'motorbike')),
  owner_kind text NOT NULL DEFAULT 'individual'
    CONSTRAINT vehicle_registration_owner_kind_known CHECK (owner_kind = 'individual' OR owner_kind = 'organisation'),
  owner_name text NOT NULL CONSTRAINT vehicle_registration_owner_name_length CHECK (length(owner_name) BETWEEN 1 AND 200),
  owner_address text NOT NULL CONSTRAINT vehicle_registration_owner_address_length CHECK (length(owner_address) BETWEEN 1 AND 500),
  make text CONSTRAINT vehicle_registration_make_length CHECK (length(make) <= 100),
  colour text CONSTRAINT vehicle_registration_colour_length CHECK (length(colour) <= 50),
  registered_on date,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT vehicle_registration_plate_class_key UNIQUE (plate, vehicle_class)
)`,
  `COMMENT ON TABLE vehicle_registration IS 'Personal data (Decree 13/2023): read only through the audited registry adapter'`,
  `CREATE TRIGGER vehicle_registration_set_updated_at BEFORE UPDATE ON vehicle_registration
  FOR EACH ROW EXECUTE FUNCTION set_updated_at()`,

  `ALTER TABLE sanction_rule ADD COLUMN IF NOT EXISTS description_vi text`,

  `ALTER TABLE notice DROP CONSTRAINT notice_state_known`,
  `ALTER TABLE notice DROP CONSTRAINT notice_issued_has_time`,
  `ALTER TABLE notice
  ADD COLUMN fine_min_vnd bigint CONSTRAINT notice_fine_min_positive CHECK (fine_min_vnd > 0),
  ADD COLUMN fine_max_vnd bigint,
  ADD COLUMN provisional boolean NOT NULL DEFAULT false,
  ADD COLUMN offender_kind text CONSTRAINT notice_offender_kind_known
    CHECK (offender_kind = 'individual' OR offender_kind = 'organisation'),
  ADD COLUMN fine_reason text CONSTRAINT notice_fine_reason_length CHECK (length(fine_reason) BETWEEN 1 AND 2000),
  ADD COLUMN escalated_at timestamptz,
  ADD COLUMN responded_at timestamptz,
  ADD COLUMN decided_at timestamptz,
  ADD COLUMN decision_number text CONSTRAINT notice_decision_number_format
    CHECK (decision_number ~ '^[0-9A-Za-zĐđ][0-9A-Za-zĐđ/._-]{0,63}$'),
  ADD COLUMN expired_at timestamptz`,
  `ALTER TABLE notice ADD CONSTRAINT notice_state_known CHECK (state IN (
  'draft', 'issued', 'delivered', 'escalated', 'responded', 'decided', 'overdue', 'paid', 'cancelled', 'expired'))`,
  `ALTER TABLE notice ADD CONSTRAINT notice_fine_range CHECK (
  (fine_min_vnd IS NULL) = (fine_max_vnd IS NULL)
  AND (fine_min_vnd IS NULL OR fine_amount_vnd BETWEEN fine_min_vnd AND fine_max_vnd))`,
  `ALTER TABLE notice ADD CONSTRAINT notice_issued_has_time CHECK (NOT (${or(AFTER_ISSUE)}) OR issued_at IS NOT NULL)`,
  `ALTER TABLE notice ADD CONSTRAINT notice_delivered_has_time CHECK (NOT (state = 'delivered') OR delivered_at IS NOT NULL)`,
  `ALTER TABLE notice ADD CONSTRAINT notice_escalated_has_time CHECK (NOT (state = 'escalated') OR escalated_at IS NOT NULL)`,
  `ALTER TABLE notice ADD CONSTRAINT notice_responded_has_time CHECK (NOT (state = 'responded' OR ${or(AFTER_DECISION)}) OR responded_at IS NOT NULL)`,
  `ALTER TABLE notice ADD CONSTRAINT notice_decided_complete CHECK (NOT (${or(AFTER_DECISION)})
  OR (decided_at IS NOT NULL AND due_at IS NOT NULL AND decision_number IS NOT NULL AND offender_kind IS NOT NULL))`,
  `ALTER TABLE notice ADD CONSTRAINT notice_expired_has_time CHECK (NOT (state = 'expired') OR expired_at IS NOT NULL)`,
  `ALTER TABLE notice ADD CONSTRAINT notice_cancelled_has_reason CHECK (NOT (state = 'cancelled') OR cancel_reason IS NOT NULL)`,
  `ALTER TABLE notice ADD CONSTRAINT notice_times_ordered CHECK (
  (delivered_at IS NULL OR delivered_at >= issued_at)
  AND (escalated_at IS NULL OR escalated_at >= issued_at)
  AND (responded_at IS NULL OR responded_at >= issued_at)
  AND (decided_at IS NULL OR decided_at >= responded_at)
  AND (paid_at IS NULL OR decided_at IS NULL OR paid_at >= decided_at))`,
  `CREATE UNIQUE INDEX notice_decision_number_key ON notice (decision_number) WHERE decision_number IS NOT NULL`,

  // The limitation: no notice and no decision once a year has passed since the violation.
  `CREATE FUNCTION notice_within_limitation() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  observed timestamptz;
  ends timestamptz;
BEGIN
  IF NOT ((NEW.issued_at IS NOT NULL AND (TG_OP = 'INSERT' OR OLD.issued_at IS DISTINCT FROM NEW.issued_at))
       OR (NEW.decided_at IS NOT NULL AND (TG_OP = 'INSERT' OR OLD.decided_at IS DISTINCT FROM NEW.decided_at))) THEN
    RETURN NEW;
  END IF;
  SELECT v.observed_at INTO STRICT observed FROM violation v WHERE v.id = NEW.violation_id;
  -- one calendar year in Vietnam time (UTC+7, no daylight saving), as fines/legal-time.ts computes it
  ends := ((observed AT TIME ZONE INTERVAL '+07:00') + INTERVAL '1 year') AT TIME ZONE INTERVAL '+07:00';
  IF now() > ends OR greatest(NEW.issued_at, NEW.decided_at) > ends THEN
    RAISE EXCEPTION 'limitation: violation % was recorded at %; a notice or decision after % is refused',
      NEW.violation_id, observed, ends
      USING ERRCODE = 'restrict_violation';
  END IF;
  RETURN NEW;
END
$$`,
  `CREATE TRIGGER notice_within_limitation BEFORE INSERT OR UPDATE ON notice
  FOR EACH ROW EXECUTE FUNCTION notice_within_limitation()`,

  `CREATE TABLE payment (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  notice_id bigint NOT NULL REFERENCES notice (id) ON DELETE RESTRICT,
  amount_vnd bigint NOT NULL CONSTRAINT payment_amount_positive CHECK (amount_vnd > 0),
  principal_vnd bigint NOT NULL CONSTRAINT payment_principal_nonnegative CHECK (principal_vnd >= 0),
  interest_vnd bigint NOT NULL CONSTRAINT payment_interest_nonnegative CHECK (interest_vnd >= 0),
  days_late integer NOT NULL CONSTRAINT payment_days_late_nonnegative CHECK (days_late >= 0),
  method text NOT NULL CONSTRAINT payment_method_known CHECK (method IN
    ('bank_transfer', 'national_portal', 'vnetraffic', 'cash', 'card', 'postal')),
  reference text NOT NULL CONSTRAINT payment_reference_format CHECK (reference ~ '^[A-Za-z0-9][A-Za-z0-9/._:-]{0,99}$'),
  paid_at timestamptz NOT NULL,
  recorded_by text NOT NULL CONSTRAINT payment_recorded_by_length CHECK (length(recorded_by) BETWEEN 1 AND 200),
  created_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT payment_split CHECK (principal_vnd + interest_vnd = amount_vnd),
  CONSTRAINT payment_method_reference_key UNIQUE (method, reference)
)`,
  `CREATE INDEX payment_notice_idx ON payment (notice_id, paid_at)`,
  `CREATE TRIGGER payment_immutable BEFORE UPDATE OR DELETE ON payment
  FOR EACH ROW EXECUTE FUNCTION refuse_mutation()`,
];

/** Vietnamese behaviour texts (Decree 168/2024 wording, shortened), by rule, class and speed tier. */
// prettier-ignore
const DESCRIPTIONS_VI: [rule: string, vehicleClass: string | null, tier: string | null, text: string][] = [
  ['red_light', null, null, 'Không chấp hành hiệu lệnh của đèn tín hiệu giao thông'],
  ['stop_line', null, null, 'Không chấp hành hiệu lệnh, chỉ dẫn của biển báo hiệu, vạch kẻ đường (dừng xe vượt vạch dừng)'],
  ['wrong_way', null, null, 'Đi ngược chiều của đường một chiều hoặc đường có biển "Cấm đi ngược chiều"'],
  ['wrong_lane', 'car', null, 'Đi không đúng phần đường, làn đường quy định hoặc đi qua dải phân cách cố định'],
  ['wrong_lane', 'motorbike', null, 'Đi không đúng phần đường, làn đường quy định'],
  ['lane_change', null, null, 'Chuyển làn đường không đúng nơi cho phép hoặc không có tín hiệu báo trước'],
  ['restricted_area', null, null, 'Đi vào khu vực, tuyến đường cấm đối với loại phương tiện đang điều khiển'],
  ['speeding', null, '[5,10)', 'Điều khiển xe chạy quá tốc độ quy định từ 05 km/h đến dưới 10 km/h'],
  ['speeding', null, '[10,20]', 'Điều khiển xe chạy quá tốc độ quy định từ 10 km/h đến 20 km/h'],
  ['speeding', 'car', '(20,35]', 'Điều khiển xe chạy quá tốc độ quy định trên 20 km/h đến 35 km/h'],
  ['speeding', 'car', '(35,)', 'Điều khiển xe chạy quá tốc độ quy định trên 35 km/h'],
  ['speeding', 'motorbike', '(20,)', 'Điều khiển xe chạy quá tốc độ quy định trên 20 km/h'],
  ['sidewalk', null, null, 'Điều khiển xe đi trên hè phố'],
  ['no_parking', null, null, 'Dừng xe, đỗ xe tại nơi có biển báo cấm dừng xe, cấm đỗ xe'],
  ['intersection_stopping', null, null, 'Dừng xe, đỗ xe trong phạm vi nút giao, nơi người đi bộ qua đường hoặc tại điểm đón, trả khách'],
  ['phone', null, null, 'Dùng tay cầm và sử dụng điện thoại khi đang điều khiển xe chạy trên đường'],
  ['no_helmet', null, null, 'Không đội mũ bảo hiểm hoặc đội mũ bảo hiểm không cài quai đúng quy cách khi điều khiển xe'],
  ['overloaded', null, null, 'Chở theo từ 02 người trở lên trên xe'],
];

/**
 * Days off fixed by date in the Labour Code 2019 Art 112 (New Year, Reunification Day, Labour Day,
 * National Day). Tết, the Hùng Kings' day, the day next to National Day and compensatory days move from
 * year to year and are announced each year: add them (a migration, or an INSERT by an administrator).
 */
const FIXED_HOLIDAYS: [monthDay: string, name: string][] = [
  ['01-01', 'Tết Dương lịch'],
  ['04-30', 'Ngày Chiến thắng'],
  ['05-01', 'Ngày Quốc tế lao động'],
  ['09-02', 'Quốc khánh'],
];

const DOWN = [
  'DROP TABLE payment',
  'DROP TRIGGER notice_within_limitation ON notice',
  'DROP FUNCTION notice_within_limitation()',
  'DROP INDEX notice_decision_number_key',
  // Cases in states the old table does not know go back to the nearest older state.
  `UPDATE notice SET state = 'issued' WHERE state IN ('escalated', 'responded')`,
  `UPDATE notice SET state = 'issued' WHERE state = 'decided'`,
  `UPDATE notice SET state = 'cancelled', cancelled_at = coalesce(cancelled_at, expired_at),
     cancel_reason = coalesce(cancel_reason, 'expired') WHERE state = 'expired'`,
  'ALTER TABLE notice DROP CONSTRAINT notice_times_ordered',
  'ALTER TABLE notice DROP CONSTRAINT notice_cancelled_has_reason',
  'ALTER TABLE notice DROP CONSTRAINT notice_expired_has_time',
  'ALTER TABLE notice DROP CONSTRAINT notice_decided_complete',
  'ALTER TABLE notice DROP CONSTRAINT notice_responded_has_time',
  'ALTER TABLE notice DROP CONSTRAINT notice_escalated_has_time',
  'ALTER TABLE notice DROP CONSTRAINT notice_delivered_has_time',
  'ALTER TABLE notice DROP CONSTRAINT notice_issued_has_time',
  'ALTER TABLE notice DROP CONSTRAINT notice_fine_range',
  'ALTER TABLE notice DROP CONSTRAINT notice_state_known',
  `ALTER TABLE notice
  DROP COLUMN fine_min_vnd, DROP COLUMN fine_max_vnd, DROP COLUMN provisional, DROP COLUMN offender_kind,
  DROP COLUMN fine_reason, DROP COLUMN escalated_at, DROP COLUMN responded_at, DROP COLUMN decided_at,
  DROP COLUMN decision_number, DROP COLUMN expired_at`,
  `ALTER TABLE notice ADD CONSTRAINT notice_state_known CHECK (state IN (${STATES_BEFORE}))`,
  `ALTER TABLE notice ADD CONSTRAINT notice_issued_has_time
  CHECK (state = 'draft' OR state = 'cancelled' OR issued_at IS NOT NULL)`,
  'ALTER TABLE sanction_rule DROP COLUMN IF EXISTS description_vi',
  'DROP TABLE vehicle_registration',
  'DROP TABLE public_holiday',
  'DROP TABLE police_unit',
];

export async function up(db: Kysely<any>): Promise<void> {
  for (const statement of UP) await sql.raw(statement).execute(db);
  for (const [rule, vehicleClass, tier, text] of DESCRIPTIONS_VI) {
    let q = db
      .updateTable('sanction_rule')
      .set({ description_vi: text })
      .where('rule_code', '=', rule)
      .where('description_vi', 'is', null);
    if (vehicleClass !== null) q = q.where('vehicle_class', '=', vehicleClass);
    q =
      tier === null
        ? q.where('speed_excess_kmh', 'is', null)
        : q.where(sql<boolean>`speed_excess_kmh = ${tier}::numrange`);
    await q.execute();
  }
  const holidays = [];
  for (let year = 2025; year <= 2030; year++) {
    for (const [monthDay, name] of FIXED_HOLIDAYS) holidays.push({ day: `${year}-${monthDay}`, name });
  }
  await db.insertInto('public_holiday').values(holidays).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const statement of DOWN) await sql.raw(statement).execute(db);
}
