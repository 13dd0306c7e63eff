import sharp from 'sharp';
import { errorMessage } from '../core/errors.js';
import type {
  FindPlatesOptions,
  FoundPlate,
  PixelBox,
  PlateColour,
  ReadPlateOptions,
  RgbImage,
} from '../detector/plates/index.js';
import { cropImage } from '../detector/plates/image.js';
import type { Flag, StillRef } from '../violations/engine.js';
import { plateConsensus, type PlateConsensus } from '../violations/plate-consensus.js';

/** What the pipeline needs of a plate reader (detector/plates createPlateReader satisfies it). */
export interface TrackPlateReader {
  readonly model: { readonly name: string; readonly version: string };
  readonly detModel: { readonly name: string; readonly version: string };
  readPlates(image: RgbImage, options?: FindPlatesOptions & ReadPlateOptions): Promise<FoundPlate[]>;
}

export interface TrackPlateOptions {
  /** Frames read per flagged track, the largest sightings first (default 4). */
  maxFrames: number;
  /** Sightings whose vehicle box is narrower than this many pixels are not read (default 40). */
  minVehiclePx: number;
  /** Vehicle crops are enlarged to this longer side for the text detector (default 640). */
  minLongSide: number;
  /**
   * Vehicle crops narrower than this many pixels are enlarged (Lanczos) to it before anything reads
   * them (default 320), by at most `maxUpscale`. The text detector's own enlargement (`minLongSide`)
   * does not suffice: the plate localiser measures text heights in the crop's own pixels and drops
   * lines under 8 px, which is every line of a plate on a car 120–160 px wide (18–28 m away under a
   * zoomed camera), and the recogniser reads the lines from the crop it was given.
   */
  minCropPx: number;
  /** The largest enlargement of a vehicle crop (default 3). */
  maxUpscale: number;
}

export const DEFAULT_TRACK_PLATE: TrackPlateOptions = {
  maxFrames: 4,
  minVehiclePx: 40,
  minLongSide: 640,
  minCropPx: 320,
  maxUpscale: 3,
};

/** One frame's best plate on the vehicle. */
export interface FramePlateRead {
  frameAt: number;
  text: string;
  formatted: string;
  confidence: number;
  colour: PlateColour;
  valid: boolean;
  /** The plate box in frame pixels. */
  box: PixelBox;
}

/** A flagged track's plate, for the evidence bundle and the violation row. */
export interface TrackPlate {
  consensus: PlateConsensus;
  reads: FramePlateRead[];
  /** The read chosen as the best frame (its text equals the consensus when any read did). */
  best: FramePlateRead | undefined;
  /** The best frame's plate, cut from the frame at its native pixels, as JPEG. */
  crop: Buffer | undefined;
  /** Frames that could not be read (reader busy or failed), with the reason. */
  failures: string[];
  models: { detector: { name: string; version: string }; recogniser: { name: string; version: string } };
  /**
   * Confidence of the plate as a whole: the best read's confidence times the share of the reads that
   * agree with it. Weak agreement therefore lowers it below the review threshold.
   */
  confidence: number;
}

/**
 * Reads the plate of a flagged vehicle on several of its buffered frames (largest boxes first), then
 * takes the consensus of those reads (violations/plate-consensus.ts). A frame that cannot be read is
 * noted, never fatal: with no read at all the consensus says `no_reads` and the case goes to review.
 */
export async function readTrackPlate(
  flag: Pick<Flag, 'sightings' | 'stills'>,
  reader: TrackPlateReader,
  options: Partial<TrackPlateOptions> = {},
): Promise<TrackPlate> {
  const o = { ...DEFAULT_TRACK_PLATE, ...options };
  const reads: FramePlateRead[] = [];
  const failures: string[] = [];
  const frames = new Map<number, StillRef['frame']>();
  for (const sighting of pickSightings(flag.sightings.length ? flag.sightings : flag.stills, o)) {
    const { frame } = sighting;
    frames.set(frame.capturedAt, frame);
    const region = vehicleRegion(sighting);
    try {
      const image: RgbImage = { data: frame.data, width: frame.width, height: frame.height };
      const { image: crop, scale } = await enlargeForReading(cropImage(image, region), o);
      const found = await reader.readPlates(crop, {
        minLongSide: o.minLongSide,
        region: 'vn',
        maxPlates: 3,
      });
      const best = bestPlate(found);
      if (!best) continue;
      reads.push({
        frameAt: frame.capturedAt,
        text: best.reading.compact,
        formatted: best.reading.formatted,
        confidence: best.reading.confidence,
        colour: best.reading.colour,
        valid: best.reading.valid,
        box: toFramePixels(best.box, region, scale),
      });
    } catch (err) {
      failures.push(`${new Date(frame.capturedAt).toISOString()}: ${errorMessage(err)}`);
    }
  }

  const consensus = plateConsensus(
    reads.map((r) => ({ text: r.text, confidence: r.confidence, frameAt: r.frameAt, valid: r.valid })),
  );
  const best = consensus.bestRead
    ? reads.find((r) => r.frameAt === consensus.bestRead!.frameAt && r.text === consensus.bestRead!.text)
    : undefined;
  const bestFrame = best ? frames.get(best.frameAt) : undefined;
  const crop = best && bestFrame ? await cropPlate(bestFrame, best.box) : undefined;
  return {
    consensus,
    reads,
    best,
    crop,
    failures,
    models: {
      detector: { name: reader.detModel.name, version: reader.detModel.version },
      recogniser: { name: reader.model.name, version: reader.model.version },
    },
    confidence: best ? round3(best.confidence * consensus.agreement) : 0,
  };
}

/**
 * The largest sightings (the plate has the most pixels there), at most `maxFrames`, oldest first. A
 * sighting whose box touches the frame's edge comes after every whole one: the vehicle is cut off
 * there, and its plate (at the bottom of an approaching car's box, on the side of one leaving the
 * frame's edge) often with it.
 */
export function pickSightings(sightings: readonly StillRef[], o: TrackPlateOptions): StillRef[] {
  const area = (s: StillRef) => s.box!.w * s.box!.h * s.frame.width * s.frame.height;
  return sightings
    .filter((s) => s.box && s.box.w * s.frame.width >= o.minVehiclePx)
    .sort(
      (a, b) =>
        Number(cutByEdge(a)) - Number(cutByEdge(b)) ||
        area(b) - area(a) ||
        a.frame.capturedAt - b.frame.capturedAt,
    )
    .slice(0, o.maxFrames)
    .sort((a, b) => a.frame.capturedAt - b.frame.capturedAt);
}

/** Whether the sighting's box touches the frame's edge (within a pixel). */
function cutByEdge(s: StillRef): boolean {
  const b = s.box!;
  const px = 1 / s.frame.width;
  const py = 1 / s.frame.height;
  return b.x <= px || b.y <= py || b.x + b.w >= 1 - px || b.y + b.h >= 1 - py;
}

/** The enlargement applied to a vehicle crop `width` pixels wide: 1 when it is wide enough. */
export function readingScale(width: number, o: Pick<TrackPlateOptions, 'minCropPx' | 'maxUpscale'>): number {
  if (width <= 0 || width >= o.minCropPx) return 1;
  return Math.min(o.maxUpscale, o.minCropPx / width);
}

/** The crop enlarged for reading (see `minCropPx`), and the factor (1: the crop itself). */
export async function enlargeForReading(
  crop: RgbImage,
  o: Pick<TrackPlateOptions, 'minCropPx' | 'maxUpscale'>,
): Promise<{ image: RgbImage; scale: { x: number; y: number } }> {
  const k = readingScale(crop.width, o);
  if (k === 1) return { image: crop, scale: { x: 1, y: 1 } };
  const width = Math.max(1, Math.round(crop.width * k));
  const height = Math.max(1, Math.round(crop.height * k));
  const data = await sharp(Buffer.from(crop.data.buffer, crop.data.byteOffset, crop.data.length), {
    raw: { width: crop.width, height: crop.height, channels: 3 },
  })
    .resize(width, height, { kernel: 'lanczos3', fit: 'fill' })
    .raw()
    .toBuffer();
  // The factors actually applied (after rounding), to map boxes back.
  return { image: { data, width, height }, scale: { x: width / crop.width, y: height / crop.height } };
}

/** A box on the (enlarged) crop of `region`, in frame pixels. */
export function toFramePixels(box: PixelBox, region: PixelBox, scale: { x: number; y: number }): PixelBox {
  return {
    x: region.x + box.x / scale.x,
    y: region.y + box.y / scale.y,
    w: box.w / scale.x,
    h: box.h / scale.y,
  };
}

/** The vehicle box in frame pixels, with a small margin (plates sit at the box's edge). */
export function vehicleRegion(s: StillRef, margin = 0.06): PixelBox {
  const { width, height } = s.frame;
  const b = s.box!;
  const x = Math.max(0, Math.floor((b.x - b.w * margin) * width));
  const y = Math.max(0, Math.floor((b.y - b.h * margin) * height));
  const right = Math.min(width, Math.ceil((b.x + b.w * (1 + margin)) * width));
  const bottom = Math.min(height, Math.ceil((b.y + b.h * (1 + margin)) * height));
  return { x, y, w: Math.max(1, right - x), h: Math.max(1, bottom - y) };
}

/**
 * The vehicle's own plate among the text found on its crop: the best detector score times the
 * reading's per-character confidence, among readings of plate length.
 */
function bestPlate(found: readonly FoundPlate[]): FoundPlate | undefined {
  let best: FoundPlate | undefined;
  let bestScore = -1;
  for (const f of found) {
    const n = [...f.reading.compact].length;
    if (n < 4 || n > 12 || f.reading.confidence <= 0) continue;
    const score = f.score * Math.exp(Math.log(f.reading.confidence) / n) * (f.reading.valid ? 1 : 0.8);
    if (score > bestScore) {
      best = f;
      bestScore = score;
    }
  }
  return best;
}

async function cropPlate(frame: StillRef['frame'], box: PixelBox): Promise<Buffer | undefined> {
  const pad = Math.round(box.h * 0.15);
  const left = Math.max(0, Math.floor(box.x) - pad);
  const top = Math.max(0, Math.floor(box.y) - pad);
  const right = Math.min(frame.width, Math.ceil(box.x + box.w) + pad);
  const bottom = Math.min(frame.height, Math.ceil(box.y + box.h) + pad);
  if (right - left < 4 || bottom - top < 4) return undefined;
  return sharp(frame.data, { raw: { width: frame.width, height: frame.height, channels: 3 } })
    .extract({ left, top, width: right - left, height: bottom - top })
    .jpeg({ quality: 95 })
    .toBuffer();
}

function round3(v: number): number {
  return Math.round(v * 1000) / 1000;
}

/** The manifest's `plate` section: every read, the consensus and the models, no image data. */
export function plateManifest(p: TrackPlate): Record<string, unknown> {
  return {
    text: p.consensus.plate ?? null,
    formatted: p.best && p.best.text === p.consensus.plate ? p.best.formatted : (p.consensus.plate ?? null),
    colour: p.best?.colour ?? null,
    confidence: p.confidence,
    agreement: p.consensus.agreement,
    support: p.consensus.support,
    total: p.consensus.total,
    needsReview: p.consensus.needsReview,
    reviewReasons: p.consensus.reasons,
    alternatives: p.consensus.alternatives,
    bestFrameAt: p.best ? new Date(p.best.frameAt).toISOString() : null,
    reads: p.reads.map((r) => ({
      capturedAt: new Date(r.frameAt).toISOString(),
      text: r.text,
      confidence: round3(r.confidence),
      valid: r.valid,
      box: r.box,
    })),
    failures: p.failures,
    models: p.models,
  };
}
