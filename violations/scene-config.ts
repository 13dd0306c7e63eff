import { z } from 'zod';

/**
 * A camera's scene: what the rules need to know about the intersection it watches. Coordinates are
 * normalised to the frame (0..1), so the same scene serves every analysis resolution. Stored versioned in
 * the database (scene_config); a violation records the version it was judged under.
 */
const point = z.strictObject({ x: z.number().min(0).max(1), y: z.number().min(0).max(1) });
const polygon = z.array(point).min(3);

export const VEHICLE_CLASSES = ['car', 'motorcycle', 'bus', 'truck', 'bicycle'] as const;
export type VehicleClass = (typeof VEHICLE_CLASSES)[number];

const fixedTimeSignal = z.strictObject({
  kind: z.literal('fixed-time'),
  /** Seconds after the epoch (mod cycle) at which green starts. */
  offsetS: z.number().min(0).default(0),
  greenS: z.number().positive(),
  amberS: z.number().min(0),
  redS: z.number().positive(),
});

const externalSignal = z.strictObject({
  kind: z.literal('external'),
  intersectionId: z.string().min(1),
});

export const stopLineSchema = z.strictObject({
  id: z.string().min(1),
  a: point,
  b: point,
  /** A point beyond the line (inside the intersection): crossing means moving onto its side. */
  towards: point,
  /** Signal group that governs this line. */
  signal: z.string().min(1).default('main'),
});

export const sceneConfigSchema = z.strictObject({
  schema: z.literal(1).default(1),
  stopLines: z.array(stopLineSchema).default([]),
  signals: z.record(z.string(), z.discriminatedUnion('kind', [fixedTimeSignal, externalSignal])).default({}),
  ignoreMasks: z.array(polygon).default([]),
  /** Vehicle classes the rules consider. */
  vehicleClasses: z.array(z.enum(VEHICLE_CLASSES)).default(['car', 'motorcycle', 'bus', 'truck']),
  minScore: z.number().min(0).max(1).default(0.35),
  /**
   * The point of a vehicle's box that stands for its position: where it touches the road (bottom centre)
   * for the usual oblique camera, the box centre for a camera looking straight down.
   */
  anchor: z.enum(['bottom-center', 'center']).default('bottom-center'),
});

export type SceneConfig = z.output<typeof sceneConfigSchema>;
export type StopLine = z.output<typeof stopLineSchema>;
export type SignalPlan = SceneConfig['signals'][string];

export function parseSceneConfig(input: unknown): SceneConfig {
  return sceneConfigSchema.parse(input);
}
