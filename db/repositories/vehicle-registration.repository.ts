import { sql } from 'kysely';
import type { RegisteredVehicle, VehicleRegistry } from '../../fines/vehicle-registry.js';
import { mapDbErrors } from '../pg-errors.js';
import type { DbExecutor, OffenderKind, SanctionVehicleClass } from '../schema.js';

/**
 * The local vehicle registry (table vehicle_registration): the demo's and the tests' stand-in for the
 * national registration database, behind the VehicleRegistry interface (fines/vehicle-registry.ts).
 * Owner names and addresses are personal data: the only reader is the registry below, which the case
 * service calls with an audit entry for each read. Nothing here logs.
 */

export interface VehicleRegistrationInput {
  plate: string;
  vehicleClass: SanctionVehicleClass;
  ownerKind?: OffenderKind;
  ownerName: string;
  ownerAddress: string;
  make?: string | null;
  colour?: string | null;
  /** 'YYYY-MM-DD' */
  registeredOn?: string | null;
}

/** Registers a plate (or updates its registration) for a vehicle class. */
export async function upsertVehicleRegistration(
  db: DbExecutor,
  r: VehicleRegistrationInput,
): Promise<{ id: number }> {
  const values = {
    plate: r.plate,
    vehicle_class: r.vehicleClass,
    owner_kind: r.ownerKind ?? 'individual',
    owner_name: r.ownerName,
    owner_address: r.ownerAddress,
    make: r.make ?? null,
    colour: r.colour ?? null,
    registered_on: r.registeredOn ?? null,
  } as const;
  return mapDbErrors('vehicle registration upsert', () =>
    db
      .insertInto('vehicle_registration')
      .values(values)
      .onConflict((oc) =>
        oc.columns(['plate', 'vehicle_class']).doUpdateSet({
          owner_kind: values.owner_kind,
          owner_name: values.owner_name,
          owner_address: values.owner_address,
          make: values.make,
          colour: values.colour,
          registered_on: values.registered_on,
        }),
      )
      .returning('id')
      .executeTakeFirstOrThrow(),
  );
}

/** The VehicleRegistry over the local table. */
export function createPostgresVehicleRegistry(db: DbExecutor): VehicleRegistry {
  return {
    source: 'local',
    async lookup(plate, vehicleClass): Promise<RegisteredVehicle | undefined> {
      const row = await db
        .selectFrom('vehicle_registration')
        .select([
          'plate',
          'vehicle_class',
          'owner_kind',
          'owner_name',
          'owner_address',
          'make',
          'colour',
          sql<string | null>`to_char(registered_on, 'YYYY-MM-DD')`.as('registered_on'),
        ])
        .where('plate', '=', plate)
        .where('vehicle_class', '=', vehicleClass)
        .executeTakeFirst();
      return (
        row && {
          plate: row.plate,
          vehicleClass: row.vehicle_class,
          ownerKind: row.owner_kind,
          ownerName: row.owner_name,
          ownerAddress: row.owner_address,
          make: row.make,
          colour: row.colour,
          registeredOn: row.registered_on,
        }
      );
    },
  };
}
