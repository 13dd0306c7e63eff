import { z } from 'zod';
import { fitHomography, isConvexQuad } from './homography.js';

/**
 * A camera's scene: what the rules need to know about the road it watches. Image coordinates are
 * normalised to the frame (0..1, origin top left, y down), so the same scene serves every analysis
 * resolution. Stored versioned in the database (scene_config); a violation records the version it was
 * judged under. Every field has a default, so `parseSceneConfig({})` is a scene on which no rule fires,
 * and configurations written before a field existed keep parsing to the same meaning.
 *
 * Distances in image space are in normalised units of their own axis (0.1 on x is a tenth of the width).
 * Thresholds that must hold at any distance from the camera are given relative to the vehicle's box
 * (`box heights`), which shrinks with perspective the way the vehicle does.
 */
const point = z.strictObject({ x: z.number().min(0).max(1), y: z.number().min(0).max(1) });
const polygon = z.array(point).min(3);
const segment = z.strictObject({ a: point, b: point });
/** A rectangle in normalised image coordinates. */
const region = z
  .strictObject({
    x: z.number().min(0).max(1),
    y: z.number().min(0).max(1),
    w: z.number().positive().max(1),
    h: z.number().positive().max(1),
  })
  .refine((r) => r.x + r.w <= 1 + 1e-9 && r.y + r.h <= 1 + 1e-9, 'region must lie inside the frame');
const id = z.string().min(1).max(64);
/** Zoom windows a scene may name (each costs one more inference per frame). */
export const MAX_DETECTION_TILES = 4;

export const VEHICLE_CLASSES = ['car', 'motorcycle', 'bus', 'truck', 'bicycle'] as const;
export type VehicleClass = (typeof VEHICLE_CLASSES)[number];
const vehicleClass = z.enum(VEHICLE_CLASSES);

const fixedTimeSignal = z.strictObject({
  kind: z.literal('fixed-time'),
  /** Seconds after the epoch (mod cycle) at which green starts. */
  offsetS: z.number().min(0).default(0),
  greenS: z.number().positive(),
  amberS: z.number().min(0),
  redS: z.number().positive(),
});

/**
 * Phases reported by the signal controller (through the API, `SignalTimeline.record`), as change events:
 * a phase holds until the next report. Reports of an unchanged phase are heartbeats.
 */
const externalSignal = z.strictObject({
  kind: z.literal('external'),
  /** The intersection whose controller posts the phases (POST /api/signals/:intersectionId). */
  intersectionId: z.string().min(1),
  /**
   * The controller's id of the signal group (lane group or signal head) this scene group follows;
   * absent: the scene group's own name.
   */
  controllerGroup: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/)
    .optional(),
  /** After this long without any report the phase is unknown (the feed may be down). */
  maxSilenceMs: z.number().int().positive().default(120_000),
});

/**
 * Phases read from the signal heads in the camera's own frames (`signalHeads` with this group), as
 * samples: between two frames that agree the phase held, between two that differ it is unknown.
 */
const observedSignal = z.strictObject({
  kind: z.literal('observed'),
  /** Consecutive frames a new lamp reading must persist before it is believed (hysteresis). */
  confirmFrames: z.number().int().min(1).max(10).default(2),
  /** Two samples further apart than this say nothing about the time between them. */
  maxGapMs: z.number().int().positive().default(2_500),
});

export const stopLineSchema = z.strictObject({
  id,
  a: point,
  b: point,
  /** A point beyond the line (inside the intersection): crossing means moving onto its side. */
  towards: point,
  /** Signal group that governs this line. */
  signal: z.string().min(1).default('main'),
});

/**
 * A lane's direction of travel: a vector in image coordinates, or the point where traffic enters the
 * lane and the point where it leaves (the vector between them). In an oblique view the lane's image
 * direction changes along it; draw a lane per stretch when it bends.
 */
const laneDirection = z.union([
  z.strictObject({ dx: z.number(), dy: z.number() }).refine((v) => v.dx !== 0 || v.dy !== 0, 'zero vector'),
  z
    .strictObject({ entry: point, exit: point })
    .refine((v) => v.entry.x !== v.exit.x || v.entry.y !== v.exit.y, 'entry and exit coincide'),
]);

export const laneSchema = z.strictObject({
  id,
  /** The lane's surface in the image. A vehicle is in the lane when its anchor point is inside. */
  polygon,
  direction: laneDirection,
  /** Classes allowed in the lane; absent: every class. Another class dwelling there is `wrong_lane`. */
  allowedClasses: z.array(vehicleClass).min(1).optional(),
  /**
   * What travel against `direction` is here: `wrong_way` when the lane is part of a one-way road or an
   * approach closed by a no-entry sign (Decree 168 6.9.d / 7.7.a); `wrong_lane` when it is one half of
   * a two-way road, where the offence is using the wrong part of the road (6.5.b / 7.3.d).
   */
  against: z.enum(['wrong_way', 'wrong_lane']).default('wrong_way'),
});

/**
 * Two lines across the road a known distance apart (measured on the road, along the lane): the time
 * between a vehicle's anchor crossing `entry` and then `exit` gives its average speed over the section.
 */
export const speedGateSchema = z.strictObject({
  id,
  entry: segment,
  exit: segment,
  distanceM: z.number().positive().max(1000),
});

/**
 * Four image points (normalised) on the road surface and the same four points in metres on the road
 * (any planar frame, e.g. from a tape survey), in order round the quadrilateral. The quadrilateral they
 * span in the image is the measurement zone: speed is the ground distance a vehicle's anchor covers
 * inside it over the time. Keep it where vehicles are seen whole (not cut by the frame edge).
 */
export const groundHomographySchema = z
  .strictObject({
    image: z.array(point).length(4),
    groundM: z.array(z.strictObject({ x: z.number(), y: z.number() })).length(4),
  })
  .refine((h) => isConvexQuad(h.image) && isConvexQuad(h.groundM), {
    message: 'the four points must go round a convex quadrilateral, in order, on both sides',
  })
  .refine((h) => fitHomography(h.image, h.groundM) !== undefined, 'degenerate points (three in a line)');

export const speedSchema = z.strictObject({
  /** Speed limit in force at the camera, km/h, per vehicle class; a class without one is not checked. */
  limitsKmh: z.partialRecord(vehicleClass, z.number().positive().max(200)).default({}),
  /**
   * The measuring device's tolerance, km/h, as stated in its verification certificate: it is taken off
   * the measured speed before the limit is compared (measured, limit and tolerance are stored apart).
   */
  toleranceKmh: z.number().min(0).max(50).default(0),
  gates: z.array(speedGateSchema).default([]),
  homography: groundHomographySchema.optional(),
  /** Homography: the shortest time inside the zone a measurement may span. */
  minSpanMs: z.number().int().positive().default(1_000),
});

export const STOPPING_ZONE_KINDS = ['no_parking', 'no_stopping', 'intersection', 'bus_stop'] as const;
export type StoppingZoneKind = (typeof STOPPING_ZONE_KINDS)[number];

/** Default dwell per zone kind, seconds: parking is a long stop, stopping a short one. */
export const DEFAULT_DWELL_S: Record<StoppingZoneKind, number> = {
  no_parking: 60,
  no_stopping: 10,
  intersection: 10,
  bus_stop: 10,
};

/**
 * Where a vehicle may not stand still: under a no-parking (P.131) or no-stopping (P.130) sign
 * (`no_parking`), or in an intersection, within 5 m of one, or at a bus stop (`intersection_stopping`).
 */
export const stoppingZoneSchema = z.strictObject({
  id,
  kind: z.enum(STOPPING_ZONE_KINDS),
  polygon,
  /** How long a vehicle must stand still inside before it is flagged; default by kind (DEFAULT_DWELL_S). */
  dwellS: z.number().positive().max(3600).optional(),
  /** Classes the zone applies to; absent: every enforced class. */
  classes: z.array(vehicleClass).min(1).optional(),
  /**
   * A signal group: time standing while it is red (or amber) does not count, so a queue waiting at the
   * light is not stopping illegally.
   */
  exemptWhileRed: z.string().min(1).optional(),
});

export const sidewalkSchema = z.strictObject({
  id,
  polygon,
  /** Classes flagged on this sidewalk (default: motorbikes, `sidewalk` 7.7.a; add `car` for 6.6.d). */
  classes: z.array(vehicleClass).min(1).default(['motorcycle']),
});

const lampColour = z.enum(['red', 'amber', 'green']);

/** A signal head in view: the image region of each of its lamps, governing one signal group. */
export const signalHeadSchema = z.strictObject({
  id,
  group: z.string().min(1),
  lamps: z
    .partialRecord(lampColour, region)
    .refine((l) => Object.keys(l).length >= 2, 'a head needs at least two lamp regions'),
});

/** Thresholds of the rules, one block per rule (defaults are for 1–5 analysed frames per second). */
const rulesSchema = z.strictObject({
  /** Two observations further apart than this do not make one continuous run. */
  maxGapMs: z.number().int().positive().default(1_500),
  /** A vehicle stands still while its anchor moves less than this many box widths/heights. */
  stationaryDrift: z.number().positive().max(2).default(0.25),
  wrongWay: z
    .strictObject({
      /** Distance travelled against the lane's direction, normalised image units. */
      minDistance: z.number().positive().max(1).default(0.08),
      /** The motion must point at least this far from the lane's direction (90: merely sideways). */
      minAngleDeg: z.number().min(90).max(180).default(135),
      minFrames: z.number().int().min(2).default(3),
    })
    .prefault({}),
  wrongLane: z.strictObject({ minFrames: z.number().int().min(1).default(4) }).prefault({}),
  sidewalk: z.strictObject({ minFrames: z.number().int().min(1).default(3) }).prefault({}),
  stopLine: z
    .strictObject({
      /** Standing still past the line on red at least this long. */
      minStoppedS: z.number().positive().default(1.5),
      /** The front must be past the line by at least this many box extents (across the line). */
      minOvershoot: z.number().min(0).default(0.15),
      /** ...and the anchor no further than this (deeper in: the vehicle is in the intersection). */
      maxOvershoot: z.number().positive().default(1),
    })
    .prefault({}),
  redLight: z
    .strictObject({
      /** A crossing is judged again while it is this recent, so a signal reading still settling is awaited. */
      settleMs: z.number().int().min(0).default(3_000),
      /** After crossing, the anchor must get this many box extents past the line. */
      minPastLine: z.number().min(0).default(0.25),
    })
    .prefault({}),
});

export const sceneConfigSchema = z
  .strictObject({
    schema: z.literal(1).default(1),
    stopLines: z.array(stopLineSchema).default([]),
    signals: z
      .record(z.string(), z.discriminatedUnion('kind', [fixedTimeSignal, externalSignal, observedSignal]))
      .default({}),
    /** Lamp regions of the signal heads in view, for signal groups of kind `observed`. */
    signalHeads: z.array(signalHeadSchema).default([]),
    ignoreMasks: z.array(polygon).default([]),
    /**
     * Zoom windows: parts of the frame the detector also looks at on their own, enlarged to its input,
     * where vehicles are too small for it in the whole frame (the far end of a speed gate). One more
     * inference per window and frame (pipeline/detection-tiles.ts).
     */
    detectionTiles: z.array(region).max(MAX_DETECTION_TILES).default([]),
    /** Vehicle classes the rules consider. */
    vehicleClasses: z.array(vehicleClass).default(['car', 'motorcycle', 'bus', 'truck']),
    minScore: z.number().min(0).max(1).default(0.35),
    /**
     * The point of a vehicle's box that stands for its position: where it touches the road (bottom centre)
     * for the usual oblique camera, the box centre for a camera looking straight down.
     */
    anchor: z.enum(['bottom-center', 'center']).default('bottom-center'),
    lanes: z.array(laneSchema).default([]),
    speed: speedSchema.optional(),
    stoppingZones: z.array(stoppingZoneSchema).default([]),
    sidewalks: z.array(sidewalkSchema).default([]),
    rules: rulesSchema.prefault({}),
  })
  .superRefine((scene, ctx) => {
    const unique = (path: string, ids: string[]) => {
      const seen = new Set<string>();
      for (const [i, v] of ids.entries()) {
        if (seen.has(v))
          ctx.addIssue({ code: 'custom', path: [path, i, 'id'], message: `duplicate id ${v}` });
        seen.add(v);
      }
    };
    unique(
      'stopLines',
      scene.stopLines.map((l) => l.id),
    );
    unique(
      'lanes',
      scene.lanes.map((l) => l.id),
    );
    unique(
      'stoppingZones',
      scene.stoppingZones.map((z) => z.id),
    );
    unique(
      'sidewalks',
      scene.sidewalks.map((s) => s.id),
    );
    unique(
      'signalHeads',
      scene.signalHeads.map((h) => h.id),
    );
    for (const [i, head] of scene.signalHeads.entries()) {
      if (scene.signals[head.group]?.kind !== 'observed') {
        ctx.addIssue({
          code: 'custom',
          path: ['signalHeads', i, 'group'],
          message: `signal group ${head.group} is not of kind 'observed'`,
        });
      }
    }
    for (const [group, plan] of Object.entries(scene.signals)) {
      if (plan.kind === 'observed' && !scene.signalHeads.some((h) => h.group === group)) {
        ctx.addIssue({
          code: 'custom',
          path: ['signals', group],
          message: `observed signal group ${group} has no signal head`,
        });
      }
    }
  });

export type SceneConfig = z.output<typeof sceneConfigSchema>;
export type StopLine = z.output<typeof stopLineSchema>;
export type Lane = z.output<typeof laneSchema>;
export type SpeedGate = z.output<typeof speedGateSchema>;
export type SpeedConfig = z.output<typeof speedSchema>;
export type StoppingZone = z.output<typeof stoppingZoneSchema>;
export type Sidewalk = z.output<typeof sidewalkSchema>;
export type SignalHead = z.output<typeof signalHeadSchema>;
export type SignalPlan = SceneConfig['signals'][string];
export type RuleThresholds = SceneConfig['rules'];

export function parseSceneConfig(input: unknown): SceneConfig {
  return sceneConfigSchema.parse(input);
}

/** A lane's direction of travel as a vector in image coordinates. */
export function laneVector(lane: Pick<Lane, 'direction'>): { x: number; y: number } {
  const d = lane.direction;
  return 'dx' in d ? { x: d.dx, y: d.dy } : { x: d.exit.x - d.entry.x, y: d.exit.y - d.entry.y };
}
