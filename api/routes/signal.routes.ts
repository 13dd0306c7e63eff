import { z } from 'zod';
import { AppError } from '../../core/errors.js';
import { SIGNAL_PHASES } from '../../violations/signal-timeline.js';
import type { RouteTable } from '../route-table.js';
import type { ApiServices } from '../services/types.js';

const SIGNAL_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/;

export const signalParams = z.strictObject({
  intersectionId: z.string().regex(SIGNAL_ID, 'letters, digits and . _ : - (64 at most)'),
});

export const signalReportBody = z.strictObject({
  phases: z
    .array(
      z.strictObject({
        group: z
          .string()
          .regex(SIGNAL_ID, 'letters, digits and . _ : - (64 at most)')
          .describe("the controller's lane group or signal head id"),
        colour: z.enum(SIGNAL_PHASES).describe('what the group shows from `at` on'),
        at: z.iso
          .datetime({ offset: true })
          .describe(
            "the controller's time of the change, ISO 8601 with its offset (e.g. 2026-11-24T08:15:02.250+07:00)",
          ),
      }),
    )
    .min(1)
    .max(256)
    .refine(
      (phases) => new Set(phases.map((p) => `${p.group}\n${Date.parse(p.at)}`)).size === phases.length,
      'two phases of one group at the same time',
    ),
});

const signalReportAnswer = z.object({
  intersectionId: z.string(),
  received: z.number().int(),
  stored: z.number().int(),
  duplicates: z.number().int(),
  cameras: z.array(z.string()),
});

/** The external signal feed: intersections' controllers post phase changes (machine clients). */
export function registerSignalRoutes(routes: RouteTable, services: ApiServices): void {
  routes.add(
    {
      method: 'post',
      path: '/api/signals/:intersectionId',
      roles: ['signal_controller'],
      summary: "Phase changes of an intersection's signal groups, from its controller",
      description:
        'Each phase holds from its `at` until the next one of its group; post a change when it happens (and ' +
        'the current phases now and then, as a heartbeat: a group silent longer than its scene allows reads ' +
        'as unknown, and unknown never flags a red-light violation). Stored durably, then relayed to the ' +
        'cameras whose scenes follow the intersection. Safe to retry: a phase already stored is counted as ' +
        'a duplicate. A token scoped to a unit or cameras may post only for intersections wholly in scope.',
      tags: ['signals'],
      params: signalParams,
      body: signalReportBody,
      response: { status: 202, description: 'Stored and relayed', schema: signalReportAnswer },
      errors: [404, 503],
    },
    async ({ res, params, body, principal }) => {
      if (!principal) throw new AppError('unauthorized', 'authentication required');
      const result = await services.signals.report(
        params.intersectionId,
        body.phases.map((p) => ({ group: p.group, colour: p.colour, at: new Date(p.at) })),
        principal,
      );
      res.status(202).json(result);
    },
  );
}
