import { sql } from 'kysely';
import type { DbExecutor } from '../schema.js';

/**
 * Phase changes posted by intersections' signal controllers, and the cameras that follow an
 * intersection (through their latest scene configuration's external signal groups).
 */

export interface PhaseReport {
  intersectionId: string;
  /** The controller's signal group (lane group or signal head) id. */
  signalGroup: string;
  phase: string;
  controllerAt: Date;
}

/**
 * Stores reports as received; one already stored (same intersection, group and controller time) is
 * left as it was. Returns how many were new.
 */
export async function insertPhaseReports(
  db: DbExecutor,
  reports: readonly PhaseReport[],
  receivedBy: string,
): Promise<number> {
  if (reports.length === 0) return 0;
  const rows = await db
    .insertInto('signal_phase_report')
    .values(
      reports.map((r) => ({
        intersection_id: r.intersectionId,
        signal_group: r.signalGroup,
        phase: r.phase,
        controller_at: r.controllerAt,
        received_by: receivedBy,
      })),
    )
    .onConflict((oc) => oc.columns(['intersection_id', 'signal_group', 'controller_at']).doNothing())
    .returning('id')
    .execute();
  return rows.length;
}

/** An intersection's reports between two controller times, oldest first. */
export async function listPhaseReports(
  db: DbExecutor,
  intersectionId: string,
  range: { from: Date; to: Date },
): Promise<(PhaseReport & { receivedAt: Date; receivedBy: string })[]> {
  const rows = await db
    .selectFrom('signal_phase_report')
    .select(['intersection_id', 'signal_group', 'phase', 'controller_at', 'received_at', 'received_by'])
    .where('intersection_id', '=', intersectionId)
    .where('controller_at', '>=', range.from)
    .where('controller_at', '<=', range.to)
    .orderBy('controller_at')
    .orderBy('id')
    .execute();
  return rows.map((r) => ({
    intersectionId: r.intersection_id,
    signalGroup: r.signal_group,
    phase: r.phase,
    controllerAt: r.controller_at,
    receivedAt: r.received_at,
    receivedBy: r.received_by,
  }));
}

export interface IntersectionCamera {
  id: number;
  code: string;
  unit: string | null;
  enabled: boolean;
  /** Per scene signal group following the intersection: the controller's group id it follows. */
  groups: { sceneGroup: string; controllerGroup: string }[];
}

/** Cameras whose latest scene configuration has an external signal group on this intersection. */
export async function camerasFollowingIntersection(
  db: DbExecutor,
  intersectionId: string,
): Promise<IntersectionCamera[]> {
  const rows = await sql<{
    id: number;
    code: string;
    unit: string | null;
    enabled: boolean;
    scene_group: string;
    controller_group: string | null;
  }>`
    SELECT c.id, c.code, c.unit, c.enabled, s.key AS scene_group, s.value->>'controllerGroup' AS controller_group
    FROM camera c
    JOIN LATERAL (
      SELECT config FROM scene_config sc WHERE sc.camera_id = c.id ORDER BY sc.version DESC LIMIT 1
    ) latest ON true
    CROSS JOIN LATERAL jsonb_each(
      CASE WHEN jsonb_typeof(latest.config->'signals') = 'object' THEN latest.config->'signals' ELSE '{}'::jsonb END
    ) s
    WHERE s.value->>'kind' = 'external' AND s.value->>'intersectionId' = ${intersectionId}
    ORDER BY c.code, s.key`.execute(db);
  const byCamera = new Map<number, IntersectionCamera>();
  for (const r of rows.rows) {
    let camera = byCamera.get(r.id);
    if (!camera) {
      camera = { id: r.id, code: r.code, unit: r.unit, enabled: r.enabled, groups: [] };
      byCamera.set(r.id, camera);
    }
    camera.groups.push({ sceneGroup: r.scene_group, controllerGroup: r.controller_group ?? r.scene_group });
  }
  return [...byCamera.values()];
}
