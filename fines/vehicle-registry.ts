import type { OffenderKind, SanctionVehicleClass } from '../db/schema.js';

/**
 * The vehicle registry: plate and vehicle class to the registered owner (Circular 73/2024 Art 24: the
 * vehicle and its owner are identified through the registration and population databases).
 *
 * The demo and the tests use the local `vehicle_registration` table
 * (db/repositories/vehicle-registration.repository.ts: createPostgresVehicleRegistry); a deployment
 * connected to the national registry implements this interface over it.
 *
 * What comes back is personal data (Decree 13/2023 Art 2): callers go through the case service, which
 * records every read in the audit log and keeps the result out of logs, queue payloads and the case
 * row. An implementation must not log what it returns either.
 */

export interface RegisteredVehicle {
  /** Compact plate (uppercase letters and digits, Đ kept). */
  plate: string;
  vehicleClass: SanctionVehicleClass;
  /** An organisation is fined double (Decree 168/2024; see the law notes). */
  ownerKind: OffenderKind;
  ownerName: string;
  ownerAddress: string;
  make: string | null;
  colour: string | null;
  /** 'YYYY-MM-DD' */
  registeredOn: string | null;
}

export interface VehicleRegistry {
  /** Names the source in audit entries, e.g. 'local' or 'national'. */
  readonly source: string;
  /** The registration of a plate for a vehicle class, or undefined when none is known. */
  lookup(plate: string, vehicleClass: SanctionVehicleClass): Promise<RegisteredVehicle | undefined>;
}
