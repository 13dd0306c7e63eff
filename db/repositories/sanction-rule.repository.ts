import { sql } from 'kysely';
import { AppError } from '../../core/errors.js';
import type { DbExecutor, SanctionRuleRow, SanctionVehicleClass } from '../schema.js';

/**
 * The effective-dated sanction table. A violation is fined under the rule in force at the moment it
 * was committed (Decree 168/2024 Art 54.1): valid_from <= at < valid_to (valid_to null: still in force).
 */

export interface SanctionRule {
  id: number;
  ruleCode: string;
  vehicleClass: SanctionVehicleClass;
  /** Speeding tier as a PostgreSQL numrange ('[5,10)', '(35,)'), or null. */
  speedExcessKmh: string | null;
  description: string;
  legalBasis: string;
  citation: string;
  fineMinVnd: number;
  fineMaxVnd: number;
  /** Midpoint of the range: the default fine (Decree 68/2025 amending 118/2021). */
  fineDefaultVnd: number;
  /** Licence points deducted. */
  points: number;
  validFrom: Date;
  validTo: Date | null;
  /** Amounts carried over without verification against the text in force: confirm before use. */
  provisional: boolean;
  note: string | null;
  /** The behaviour in Vietnamese (for notices and the public listing), when known. */
  descriptionVi: string | null;
}

function toSanctionRule(row: SanctionRuleRow): SanctionRule {
  return {
    id: row.id,
    ruleCode: row.rule_code,
    vehicleClass: row.vehicle_class,
    speedExcessKmh: row.speed_excess_kmh,
    description: row.description,
    legalBasis: row.legal_basis,
    citation: row.citation,
    fineMinVnd: row.fine_min_vnd,
    fineMaxVnd: row.fine_max_vnd,
    fineDefaultVnd: row.fine_default_vnd,
    points: row.points,
    validFrom: row.valid_from,
    validTo: row.valid_to,
    provisional: row.provisional,
    note: row.note,
    descriptionVi: row.description_vi,
  };
}

/**
 * The sanction table's vehicle class for a detected one: Decree 168 Art 6 covers cars and every other
 * automobile (trucks, buses, vans), Art 7 motorbikes and mopeds. Undefined for classes outside both
 * (bicycles, pedestrians...), which camera fines do not cover here.
 */
export function sanctionVehicleClass(vehicleClass: string): SanctionVehicleClass | undefined {
  switch (vehicleClass.toLowerCase()) {
    case 'car':
    case 'truck':
    case 'bus':
    case 'van':
    case 'pickup':
      return 'car';
    case 'motorbike':
    case 'motorcycle':
    case 'moped':
    case 'scooter':
      return 'motorbike';
    default:
      return undefined;
  }
}

export interface FindSanctionOptions {
  /**
   * For speeding: measured speed minus the limit in force (after the device tolerance), km/h. Rules
   * with a speed tier match only when it falls inside the tier; under 5 km/h over matches nothing.
   */
  speedExcessKmh?: number;
}

/**
 * The rule in force at `at` for this rule code and vehicle class (and speed tier), or undefined when
 * none is: the caller must then route the violation to manual handling, never guess an amount.
 */
export async function findSanction(
  db: DbExecutor,
  ruleCode: string,
  vehicleClass: SanctionVehicleClass,
  at: Date,
  options: FindSanctionOptions = {},
): Promise<SanctionRule | undefined> {
  if (Number.isNaN(at.getTime()))
    throw new AppError('bad_request', 'findSanction: invalid date', { permanent: true });
  const excess = options.speedExcessKmh;
  if (excess !== undefined && !Number.isFinite(excess)) {
    throw new AppError('bad_request', 'findSanction: speed excess must be a finite number', {
      permanent: true,
    });
  }
  const rows = await db
    .selectFrom('sanction_rule')
    .selectAll()
    .where('rule_code', '=', ruleCode)
    .where('vehicle_class', '=', vehicleClass)
    .where('valid_from', '<=', at)
    .where((eb) => eb.or([eb('valid_to', 'is', null), eb('valid_to', '>', at)]))
    .where((eb) =>
      excess === undefined
        ? eb('speed_excess_kmh', 'is', null)
        : eb.or([
            eb('speed_excess_kmh', 'is', null),
            sql<boolean>`speed_excess_kmh @> ${String(excess)}::numeric`,
          ]),
    )
    .orderBy('valid_from', 'desc')
    .limit(2)
    .execute();
  if (rows.length > 1) {
    // The overlap trigger prevents this; refuse to pick one if it ever happens.
    throw new AppError('internal', `sanction rules overlap for ${ruleCode}/${vehicleClass}`, {
      details: { ruleCode, vehicleClass, ids: rows.map((r) => r.id) },
    });
  }
  return rows[0] && toSanctionRule(rows[0]);
}

/** Every rule in force at `at` (default: now), by rule code and vehicle class. */
export async function listSanctionRules(db: DbExecutor, at: Date = new Date()): Promise<SanctionRule[]> {
  const rows = await db
    .selectFrom('sanction_rule')
    .selectAll()
    .where('valid_from', '<=', at)
    .where((eb) => eb.or([eb('valid_to', 'is', null), eb('valid_to', '>', at)]))
    .orderBy('rule_code')
    .orderBy('vehicle_class')
    .orderBy('speed_excess_kmh')
    .execute();
  return rows.map(toSanctionRule);
}
