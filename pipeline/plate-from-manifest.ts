import { z } from 'zod';
import { AppError } from '../core/errors.js';
import type { JsonObject, PlateColor } from '../db/schema.js';

/** A plate the violation row can hold (db: violation_plate_compact, plate_read_plate_compact). */
const COMPACT = /^[A-Z0-9Đ]{4,12}$/u;

const box = z.object({ x: z.number(), y: z.number(), w: z.number(), h: z.number() });

const plateSection = z.object({
  text: z.string().nullable(),
  colour: z.enum(['white', 'yellow', 'blue', 'red', 'unknown']).nullable(),
  confidence: z.number().min(0).max(1),
  agreement: z.number().min(0).max(1),
  support: z.number().int().nonnegative(),
  total: z.number().int().nonnegative(),
  needsReview: z.boolean(),
  reviewReasons: z.array(z.string()),
  alternatives: z.array(z.object({ text: z.string(), share: z.number() })),
  reads: z.array(
    z.object({
      capturedAt: z.iso.datetime(),
      text: z.string(),
      confidence: z.number().min(0).max(1),
      valid: z.boolean(),
      box,
    }),
  ),
  models: z.object({
    detector: z.object({ name: z.string(), version: z.string() }),
    recogniser: z.object({ name: z.string(), version: z.string() }),
  }),
});

export interface ManifestPlate {
  /** Compact plate for the violation row; undefined when nothing usable was read. */
  text: string | undefined;
  colour: PlateColor | null;
  confidence: number;
  /** What the reviewer sees beside the plate: agreement, support and why it needs a person. */
  summary: JsonObject;
  reads: { text: string; confidence: number; capturedAt: Date; valid: boolean; box: JsonObject }[];
  model: { name: string; version: string };
}

/**
 * The plate section of a stored evidence manifest (pipeline/plate-evidence.ts writes it). A manifest
 * without one (no plate reader configured) gives undefined; a malformed one is a permanent failure,
 * since the manifest is the signed record the violation stands on.
 */
export function plateFromManifest(manifestBytes: Buffer): ManifestPlate | undefined {
  let manifest: unknown;
  try {
    manifest = JSON.parse(manifestBytes.toString('utf8'));
  } catch (err) {
    throw new AppError('bad_request', 'evidence manifest is not JSON', { permanent: true, cause: err });
  }
  const section = (manifest as { plate?: unknown } | null)?.plate;
  if (section === undefined) return undefined;
  const parsed = plateSection.safeParse(section);
  if (!parsed.success) {
    throw new AppError('bad_request', `evidence manifest plate section: ${z.prettifyError(parsed.error)}`, {
      permanent: true,
    });
  }
  const p = parsed.data;
  const text = p.text && COMPACT.test(p.text) ? p.text : undefined;
  return {
    text,
    colour: text && p.colour && p.colour !== 'unknown' ? p.colour : null,
    confidence: p.confidence,
    summary: {
      agreement: p.agreement,
      support: p.support,
      total: p.total,
      needsReview: p.needsReview || !text,
      reviewReasons: text ? p.reviewReasons : [...new Set([...p.reviewReasons, 'no_usable_plate'])],
      alternatives: p.alternatives,
    },
    reads: p.reads
      .filter((r) => /^[A-Z0-9Đ]{1,12}$/u.test(r.text))
      .map((r) => ({
        text: r.text,
        confidence: r.confidence,
        capturedAt: new Date(r.capturedAt),
        valid: r.valid,
        box: r.box,
      })),
    model: p.models.recogniser,
  };
}
