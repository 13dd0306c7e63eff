import type { DbExecutor, EvidenceKind, NoticeState, PlateColor, SanctionVehicleClass } from '../schema.js';
import { preparedStatement } from '../prepared-statements.js';
import { toEvidenceAsset, type EvidenceAsset } from './evidence.repository.js';

/**
 * What the citizen lookup reads: violations a reviewer approved, by plate (Đ compared as D) and vehicle
 * type, with the camera's place, the unit that resolves them and the sanction rule in force when they
 * were committed. Never the owner: nothing here touches vehicle_registration. The query is served by
 * violation_public_plate_idx, so a known and an unknown plate cost the same probe.
 */

/** Violation statuses the public listing shows: approved by a reviewer, and not dismissed or expired. */
export const PUBLIC_VIOLATION_STATUSES = ['approved', 'notified', 'closed'] as const;

/** The detector's vehicle labels each sanction class covers (Decree 168 Art 6 cars, Art 7 motorbikes). */
export const VEHICLE_LABELS: Readonly<Record<SanctionVehicleClass, readonly string[]>> = {
  car: ['car', 'truck', 'bus', 'van', 'pickup'],
  motorbike: ['motorbike', 'motorcycle', 'moped', 'scooter'],
};

export interface PublicSanction {
  description: string;
  descriptionVi: string | null;
  legalBasis: string;
  citation: string;
  fineMinVnd: number;
  fineMaxVnd: number;
  points: number;
  provisional: boolean;
}

export interface PublicViolation {
  violationId: number;
  observedAt: Date;
  ruleCode: string;
  vehicleClass: string;
  plate: string;
  plateColor: PlateColor | null;
  status: (typeof PUBLIC_VIOLATION_STATUSES)[number];
  cameraName: string;
  cameraLocation: string;
  /** The detecting unit (camera.unit). */
  unit: string | null;
  resolvingUnit: { name: string; phone: string; address: string } | null;
  /** The rule in force at observedAt for this class (and speed tier); null when none is. */
  sanction: PublicSanction | null;
  /** Evidence stills recorded (the thumbnail is made from one). */
  hasStill: boolean;
  /** The fine case (notice), if any: the one place the public lookup reads case state. */
  caseState: PublicCaseState | undefined;
}

/**
 * The lookup's one statement: the listed violations of a plate and vehicle class with their camera, unit,
 * the sanction rule in force when each was committed, whether a still exists, and the case (notice) if
 * any: one round trip. Written out as SQL text once rather than built per request with the query builder
 * (building and compiling it cost about a tenth of the API's CPU per lookup), and sent as a named
 * prepared statement (db/prepared-statements.ts: planning it cost more than running it); `$1` the comparable plate,
 * `$2` the sanction class, `$3` the detector labels it covers, `$4` the row limit. The status list is a
 * literal, as in violation_public_plate_idx's predicate, so the planner matches the partial index.
 * A violation has at most one notice (notice_violation_key).
 */
const publicListing = preparedStatement(
  'pn_public_listing',
  `
SELECT v.id, v.observed_at, v.rule_code, v.vehicle_class, v.plate, v.plate_color, v.status,
  c.name AS camera_name, c.location AS camera_location, c.unit,
  u.name AS unit_name, u.phone AS unit_phone, u.address AS unit_address,
  s.description, s.description_vi, s.legal_basis, s.citation, s.fine_min_vnd, s.fine_max_vnd, s.points,
  s.provisional,
  EXISTS (SELECT 1 FROM evidence_asset e
    WHERE e.violation_id = v.id AND e.kind IN ('still_at', 'still_before', 'still_after')) AS has_still,
  n.state AS notice_state, n.fine_amount_vnd AS notice_fine_amount_vnd, n.decided_at AS notice_decided_at,
  n.due_at AS notice_due_at
FROM violation v
JOIN camera c ON c.id = v.camera_id
LEFT JOIN police_unit u ON u.code = c.unit
LEFT JOIN LATERAL (
  SELECT s.description, s.description_vi, s.legal_basis, s.citation, s.fine_min_vnd, s.fine_max_vnd,
    s.points, s.provisional
  FROM sanction_rule s
  WHERE s.rule_code = v.rule_code AND s.vehicle_class = $2
    AND s.valid_from <= v.observed_at AND (s.valid_to IS NULL OR s.valid_to > v.observed_at)
    AND (s.speed_excess_kmh IS NULL OR s.speed_excess_kmh @> (CASE
      WHEN jsonb_typeof(v.details -> 'speedExcessKmh') = 'number'
      THEN (v.details ->> 'speedExcessKmh')::numeric END))
  ORDER BY s.valid_from DESC
  LIMIT 1
) s ON true
LEFT JOIN notice n ON n.violation_id = v.id
WHERE replace(v.plate, 'Đ', 'D') = $1
  AND v.plate IS NOT NULL
  AND v.status IN ('approved', 'notified', 'closed')
  AND v.vehicle_class = ANY($3::text[])
ORDER BY v.observed_at DESC, v.id DESC
LIMIT $4`,
);

interface PublicListingRow {
  id: number;
  observed_at: Date;
  rule_code: string;
  vehicle_class: string;
  plate: string;
  plate_color: PlateColor | null;
  status: string;
  camera_name: string;
  camera_location: string;
  unit: string | null;
  unit_name: string | null;
  unit_phone: string | null;
  unit_address: string | null;
  description: string | null;
  description_vi: string | null;
  legal_basis: string | null;
  citation: string | null;
  fine_min_vnd: number | null;
  fine_max_vnd: number | null;
  points: number | null;
  provisional: boolean | null;
  has_still: boolean;
  notice_state: NoticeState | null;
  notice_fine_amount_vnd: number | null;
  notice_decided_at: Date | null;
  notice_due_at: Date | null;
}

/**
 * Plate compared with Đ as D: compactPlate(...).replace(/Đ/g, 'D'). Each violation comes with its case
 * state (`caseState`, undefined when no notice exists).
 */
export async function findPublicViolations(
  db: DbExecutor,
  q: { comparablePlate: string; vehicleClass: SanctionVehicleClass; limit: number },
): Promise<PublicViolation[]> {
  const { rows } = await db.executeQuery<PublicListingRow>(
    publicListing([q.comparablePlate, q.vehicleClass, VEHICLE_LABELS[q.vehicleClass], q.limit]),
  );
  return rows.map((r) => ({
    violationId: r.id,
    observedAt: r.observed_at,
    ruleCode: r.rule_code,
    vehicleClass: r.vehicle_class,
    plate: r.plate,
    plateColor: r.plate_color,
    status: r.status as PublicViolation['status'],
    cameraName: r.camera_name,
    cameraLocation: r.camera_location,
    unit: r.unit,
    resolvingUnit:
      r.unit_name !== null && r.unit_phone !== null && r.unit_address !== null
        ? { name: r.unit_name, phone: r.unit_phone, address: r.unit_address }
        : null,
    sanction:
      r.citation !== null
        ? {
            description: r.description!,
            descriptionVi: r.description_vi ?? null,
            legalBasis: r.legal_basis!,
            citation: r.citation,
            fineMinVnd: r.fine_min_vnd!,
            fineMaxVnd: r.fine_max_vnd!,
            points: r.points!,
            provisional: r.provisional!,
          }
        : null,
    hasStill: Boolean(r.has_still),
    caseState:
      r.notice_state !== null
        ? {
            state: r.notice_state,
            fineAmountVnd: r.notice_decided_at !== null ? r.notice_fine_amount_vnd : null,
            dueAt: r.notice_due_at,
          }
        : undefined,
  }));
}

/** A case's state as the public may see it: no owner, no decision number, no payment details. */
export interface PublicCaseState {
  state: NoticeState;
  /** The fine decided, once there is one. */
  fineAmountVnd: number | null;
  dueAt: Date | null;
}

/** Still kinds a thumbnail may be made from, best first. */
const THUMBNAIL_STILLS: readonly EvidenceKind[] = ['still_at', 'still_after', 'still_before'];

/**
 * What a public thumbnail of a violation is made from: the best still and the manifest (which holds the
 * vehicle's trajectory), if the violation is still publicly listed.
 */
export async function thumbnailSources(
  db: DbExecutor,
  violationId: number,
): Promise<{ still: EvidenceAsset; manifest: EvidenceAsset | undefined } | undefined> {
  const listed = await db
    .selectFrom('violation')
    .select('id')
    .where('id', '=', violationId)
    .where('status', 'in', [...PUBLIC_VIOLATION_STATUSES])
    .executeTakeFirst();
  if (!listed) return undefined;
  const assets = await db
    .selectFrom('evidence_asset')
    .selectAll()
    .where('violation_id', '=', violationId)
    .where('kind', 'in', [...THUMBNAIL_STILLS, 'manifest'])
    .execute();
  const byKind = new Map(assets.map((a) => [a.kind, toEvidenceAsset(a)]));
  const still = THUMBNAIL_STILLS.map((k) => byKind.get(k)).find((a) => a !== undefined);
  return still ? { still, manifest: byKind.get('manifest') } : undefined;
}

/** The case behind a notice code, for the owner view: the notice, its violation's public fields, evidence. */
export interface OwnerCase {
  noticeId: number;
  noticeCode: string;
  state: NoticeState;
  plate: string;
  fineAmountVnd: number;
  fineMinVnd: number | null;
  fineMaxVnd: number | null;
  points: number;
  legalBasis: string;
  citation: string;
  issuedAt: Date | null;
  dueAt: Date | null;
  violationId: number;
  violationStatus: string;
  observedAt: Date;
  ruleCode: string;
  vehicleClass: string;
  cameraName: string;
  cameraLocation: string;
  unit: string | null;
  resolvingUnit: { name: string; phone: string; address: string } | null;
  evidence: EvidenceAsset[];
}

export async function ownerCaseByNoticeCode(
  db: DbExecutor,
  noticeCode: string,
): Promise<OwnerCase | undefined> {
  const r = await db
    .selectFrom('notice as n')
    .innerJoin('violation as v', 'v.id', 'n.violation_id')
    .innerJoin('camera as c', 'c.id', 'v.camera_id')
    .leftJoin('police_unit as u', 'u.code', 'c.unit')
    .select([
      'n.id as notice_id',
      'n.notice_code',
      'n.state',
      'n.plate',
      'n.fine_amount_vnd',
      'n.fine_min_vnd',
      'n.fine_max_vnd',
      'n.points',
      'n.legal_basis',
      'n.citation',
      'n.issued_at',
      'n.due_at',
      'v.id as violation_id',
      'v.status as violation_status',
      'v.observed_at',
      'v.rule_code',
      'v.vehicle_class',
      'c.name as camera_name',
      'c.location as camera_location',
      'c.unit',
      'u.name as unit_name',
      'u.phone as unit_phone',
      'u.address as unit_address',
    ])
    .where('n.notice_code', '=', noticeCode)
    .executeTakeFirst();
  if (!r) return undefined;
  const assets = await db
    .selectFrom('evidence_asset')
    .selectAll()
    .where('violation_id', '=', r.violation_id)
    .orderBy('kind')
    .execute();
  return {
    noticeId: r.notice_id,
    noticeCode: r.notice_code,
    state: r.state,
    plate: r.plate,
    fineAmountVnd: r.fine_amount_vnd,
    fineMinVnd: r.fine_min_vnd,
    fineMaxVnd: r.fine_max_vnd,
    points: r.points,
    legalBasis: r.legal_basis,
    citation: r.citation,
    issuedAt: r.issued_at,
    dueAt: r.due_at,
    violationId: r.violation_id,
    violationStatus: r.violation_status,
    observedAt: r.observed_at,
    ruleCode: r.rule_code,
    vehicleClass: r.vehicle_class,
    cameraName: r.camera_name,
    cameraLocation: r.camera_location,
    unit: r.unit,
    resolvingUnit:
      r.unit_name !== null && r.unit_phone !== null && r.unit_address !== null
        ? { name: r.unit_name, phone: r.unit_phone, address: r.unit_address }
        : null,
    evidence: assets.map(toEvidenceAsset),
  };
}

/** One evidence asset of a violation by sha256 (for a signed owner link). */
export async function evidenceAssetBySha(
  db: DbExecutor,
  violationId: number,
  sha256: string,
): Promise<EvidenceAsset | undefined> {
  const row = await db
    .selectFrom('evidence_asset')
    .selectAll()
    .where('violation_id', '=', violationId)
    .where('sha256', '=', sha256)
    .executeTakeFirst();
  return row && toEvidenceAsset(row);
}
