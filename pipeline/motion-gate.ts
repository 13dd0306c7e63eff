/**
 * Motion gating before detection: a frame that is, cell for cell, the picture the detector last saw
 * (an empty road at night, a queue standing at a red light, a parked car) gets that frame's detections
 * again instead of a new inference. The tracker and the rules still see every frame, with its own time
 * and pixels (dwell timers run on, lamps are read from the new frame); only the detector is spared.
 *
 * The picture is sampled on a lattice (default 32 × 18 cells of 8 × 8 luma samples: every 2.5 px of a
 * 640-wide frame). A cell has changed when the mean absolute difference of its samples exceeds both
 * `threshold` and three times the frame's median cell difference (the sensor and compression noise of
 * this frame, so a grainy night picture does not run the detector every time), or when its mean moved
 * by more than `threshold` (a global change such as the camera's exposure moves every cell's mean and
 * raises the median too). One changed cell is enough to run the detector. Whatever happens, it runs at
 * least every `maxSkipMs`, so detections are never older than that. Samples inside the scene's ignore
 * masks (an on-screen clock, trees in the wind) are left out: an overlaid clock ticking every second
 * would otherwise run the detector on every frame.
 */
import { pointInPolygon, type Polygon } from '../violations/geometry.js';

export interface MotionGateOptions {
  cols: number;
  rows: number;
  /** A cell has changed when its mean luma moved by more than this (0–255). */
  threshold: number;
  /** The detector runs at least this often, however still the picture. */
  maxSkipMs: number;
  /** Regions whose pixels never count (normalised 0–1 polygons: the scene's ignore masks). */
  ignore: readonly Polygon[];
}

export const DEFAULT_MOTION_GATE: MotionGateOptions = {
  cols: 32,
  rows: 18,
  threshold: 6,
  maxSkipMs: 2000,
  ignore: [],
};

const SAMPLES = 8; // per cell side

export interface GateFrame {
  data: Buffer;
  width: number;
  height: number;
  capturedAt: number;
}

interface Lattice {
  samples: Uint8Array;
  means: Float32Array;
}

/** Which samples count (1) and how many count in each cell, for one frame size. */
interface SampleMask {
  width: number;
  height: number;
  use: Uint8Array;
  perCell: Uint16Array;
}

export class MotionGate<D> {
  private readonly o: MotionGateOptions;
  private reference: { lattice: Lattice; width: number; height: number; at: number; detections: D } | null =
    null;
  private readonly mad: Float32Array;
  private mask: SampleMask | undefined;
  /** Frames answered with the reference frame's detections / frames seen. */
  skipped = 0;
  seen = 0;

  constructor(options: Partial<MotionGateOptions> = {}) {
    this.o = { ...DEFAULT_MOTION_GATE, ...options };
    if (this.o.cols < 1 || this.o.rows < 1 || !(this.o.threshold >= 0) || !(this.o.maxSkipMs >= 0))
      throw new RangeError('motion gate: cols and rows ≥ 1, threshold and maxSkipMs ≥ 0');
    this.mad = new Float32Array(this.o.cols * this.o.rows);
  }

  /**
   * The detections to use for `frame`: the reference frame's when nothing moved since it (and it is
   * recent enough), else those of `detect(frame)`, which then becomes the reference.
   */
  async detect(frame: GateFrame, detect: () => Promise<D>): Promise<{ detections: D; skipped: boolean }> {
    this.seen += 1;
    const mask = this.maskFor(frame.width, frame.height);
    const lattice = sampleLattice(frame, this.o.cols, this.o.rows, mask);
    const ref = this.reference;
    if (
      ref &&
      ref.width === frame.width &&
      ref.height === frame.height &&
      frame.capturedAt - ref.at < this.o.maxSkipMs &&
      frame.capturedAt >= ref.at &&
      !this.changed(ref.lattice, lattice, mask)
    ) {
      this.skipped += 1;
      return { detections: ref.detections, skipped: true };
    }
    const detections = await detect();
    this.reference = { lattice, width: frame.width, height: frame.height, at: frame.capturedAt, detections };
    return { detections, skipped: false };
  }

  /** Forgets the reference (a camera restart: the next frame is detected whatever it shows). */
  reset(): void {
    this.reference = null;
  }

  private maskFor(width: number, height: number): SampleMask | undefined {
    if (!this.o.ignore.length) return undefined;
    if (this.mask?.width !== width || this.mask.height !== height)
      this.mask = sampleMask(width, height, this.o.cols, this.o.rows, this.o.ignore);
    return this.mask;
  }

  private changed(a: Lattice, b: Lattice, mask: SampleMask | undefined): boolean {
    const { threshold } = this.o;
    const n = SAMPLES * SAMPLES;
    let counted = 0;
    for (let c = 0; c < a.means.length; c++) {
      const used = mask ? mask.perCell[c]! : n;
      if (used === 0) continue; // wholly inside an ignore mask
      if (Math.abs(a.means[c]! - b.means[c]!) > threshold) return true;
      let sum = 0;
      for (let i = c * n; i < (c + 1) * n; i++) {
        if (!mask || mask.use[i]) sum += Math.abs(a.samples[i]! - b.samples[i]!);
      }
      this.mad[counted++] = sum / used;
    }
    if (counted === 0) return false;
    const noise = median(this.mad.subarray(0, counted));
    const limit = Math.max(threshold, 3 * noise);
    for (let c = 0; c < counted; c++) if (this.mad[c]! > limit) return true;
    return false;
  }
}

/**
 * Where the samples are, cell by cell (SAMPLES × SAMPLES points each, row-major inside the cell): the
 * pixel index of each, computed once per frame size and shared by the lattice and the ignore mask.
 */
function samplePixels(width: number, height: number, cols: number, rows: number): Uint32Array {
  const out = new Uint32Array(cols * rows * SAMPLES * SAMPLES);
  const cellW = width / cols;
  const cellH = height / rows;
  let k = 0;
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      for (let sy = 0; sy < SAMPLES; sy++) {
        const y = Math.min(height - 1, Math.floor(r * cellH + ((sy + 0.5) * cellH) / SAMPLES));
        for (let sx = 0; sx < SAMPLES; sx++) {
          const x = Math.min(width - 1, Math.floor(c * cellW + ((sx + 0.5) * cellW) / SAMPLES));
          out[k++] = y * width + x;
        }
      }
    }
  }
  return out;
}

const pixelTables = new Map<string, Uint32Array>();
function pixelsFor(width: number, height: number, cols: number, rows: number): Uint32Array {
  const key = `${width}x${height}/${cols}x${rows}`;
  let table = pixelTables.get(key);
  if (!table) {
    table = samplePixels(width, height, cols, rows);
    pixelTables.set(key, table);
  }
  return table;
}

/** Luma (BT.601) of SAMPLES × SAMPLES points in each cell of an RGB24 frame, cell by cell, and each cell's mean. */
export function sampleLattice(
  frame: Pick<GateFrame, 'data' | 'width' | 'height'>,
  cols: number,
  rows: number,
  mask?: SampleMask,
): Lattice {
  const { data, width, height } = frame;
  if (data.length < width * height * 3)
    throw new RangeError('motion gate: frame smaller than width × height × 3');
  const n = SAMPLES * SAMPLES;
  const pixels = pixelsFor(width, height, cols, rows);
  const samples = new Uint8Array(pixels.length);
  const means = new Float32Array(cols * rows);
  for (let cell = 0, k = 0; cell < cols * rows; cell++) {
    let sum = 0;
    for (let end = k + n; k < end; k++) {
      const i = pixels[k]! * 3;
      const luma = (77 * data[i]! + 150 * data[i + 1]! + 29 * data[i + 2]!) >> 8;
      if (!mask || mask.use[k]) sum += luma;
      samples[k] = luma;
    }
    const used = mask ? mask.perCell[cell]! : n;
    means[cell] = used ? sum / used : 0;
  }
  return { samples, means };
}

/** The samples outside every ignore polygon, laid out like sampleLattice's. */
function sampleMask(
  width: number,
  height: number,
  cols: number,
  rows: number,
  ignore: readonly Polygon[],
): SampleMask {
  const n = SAMPLES * SAMPLES;
  const pixels = pixelsFor(width, height, cols, rows);
  const use = new Uint8Array(pixels.length);
  const perCell = new Uint16Array(cols * rows);
  for (let k = 0; k < pixels.length; k++) {
    const p = { x: ((pixels[k]! % width) + 0.5) / width, y: (Math.floor(pixels[k]! / width) + 0.5) / height };
    const keep = ignore.some((poly) => pointInPolygon(p, poly)) ? 0 : 1;
    use[k] = keep;
    perCell[Math.floor(k / n)]! += keep;
  }
  return { width, height, use, perCell };
}

function median(values: Float32Array): number {
  const sorted = Float32Array.from(values).sort();
  return sorted[sorted.length >> 1]!;
}

/** The gate's options from the configuration, or undefined when INGEST_MOTION_GATE is off. */
export function motionGateFromConfig(config: {
  INGEST_MOTION_GATE: 'off' | 'on';
  INGEST_MOTION_GATE_MAX_SKIP_MS: number;
}): Partial<MotionGateOptions> | undefined {
  return config.INGEST_MOTION_GATE === 'on'
    ? { maxSkipMs: config.INGEST_MOTION_GATE_MAX_SKIP_MS }
    : undefined;
}
