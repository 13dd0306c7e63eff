import type { Redis } from 'ioredis';
import { AppError, errorMessage } from '../../core/errors.js';
import type { Database } from '../../db/database.js';
import { camerasFollowingIntersection, insertPhaseReports } from '../../db/repositories/signal.repository.js';
import { publishPhases } from '../../pipeline/signal-feed.js';
import type { SignalPhase } from '../../violations/signal-timeline.js';
import { inScope, scopeFor, type Principal } from '../principal.js';

/** A controller's clock may run ahead of ours by this much at most (a report from the future is refused). */
export const MAX_CLOCK_AHEAD_MS = 60_000;

export interface PhaseInput {
  /** The controller's lane group or signal head id. */
  group: string;
  colour: SignalPhase;
  /** The controller's time of the change. */
  at: Date;
}

export interface SignalReportResult {
  intersectionId: string;
  received: number;
  /** New rows; a report already stored (same group and controller time) is a duplicate. */
  stored: number;
  duplicates: number;
  /** The cameras following the intersection (codes), each fed by whichever ingest process holds it. */
  cameras: string[];
}

export interface SignalService {
  /**
   * Stores the phase changes (durably, first) and relays them to the ingest processes through Redis.
   * A repeat of the same post stores nothing new and relays again, so a controller may retry freely.
   */
  report(
    intersectionId: string,
    phases: readonly PhaseInput[],
    principal: Principal,
  ): Promise<SignalReportResult>;
}

export function createSignalService(deps: {
  db: Database['db'];
  redis: Redis;
  queuePrefix: string;
}): SignalService {
  return {
    async report(intersectionId, phases, principal) {
      const cameras = await camerasFollowingIntersection(deps.db, intersectionId);
      if (cameras.length === 0) {
        throw new AppError('not_found', `no camera's scene follows intersection ${intersectionId}`);
      }
      // A controller scoped to a unit or to cameras may speak only for intersections wholly inside it.
      const scope = scopeFor(principal, ['signal_controller']);
      const outside = cameras.filter((c) => !inScope(scope, c)).map((c) => c.code);
      if (outside.length > 0) {
        throw new AppError('forbidden', `intersection ${intersectionId} has cameras outside your scope`);
      }
      const now = Date.now();
      phases.forEach((p, i) => {
        if (p.at.getTime() > now + MAX_CLOCK_AHEAD_MS) {
          throw new AppError(
            'bad_request',
            `body.phases.${i}.at: ${p.at.toISOString()} is more than ${MAX_CLOCK_AHEAD_MS / 1000} s ahead of the server's clock`,
          );
        }
      });
      const stored = await insertPhaseReports(
        deps.db,
        phases.map((p) => ({ intersectionId, signalGroup: p.group, phase: p.colour, controllerAt: p.at })),
        principal.actor,
      );
      try {
        await publishPhases(
          deps.redis,
          deps.queuePrefix,
          intersectionId,
          phases.map((p) => ({ group: p.group, phase: p.colour, at: p.at.getTime() })),
        );
      } catch (err) {
        throw new AppError(
          'dependency_down',
          `phases stored but not relayed to the cameras (Redis: ${errorMessage(err)}); post them again`,
          { cause: err },
        );
      }
      return {
        intersectionId,
        received: phases.length,
        stored,
        duplicates: phases.length - stored,
        cameras: cameras.map((c) => c.code),
      };
    },
  };
}
