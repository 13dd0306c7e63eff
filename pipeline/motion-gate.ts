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
 * least every `maxSkipMs`, so detections are never older than that.
 */
export interface MotionGateOptions {
  cols: number;
  rows: number;
  /** A cell has changed when its mean luma moved by more than this (0–255). */
  threshold: number;
  /** The detector runs at least this often, however still the picture. */
  maxSkipMs: number;
}

export const DEFAULT_MOTION_GATE: MotionGateOptions = { cols: 32, rows: 18, threshold: 6, maxSkipMs: 2000 };

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

export class MotionGate<D> {
  private readonly o: MotionGateOptions;
  private reference: { lattice: Lattice; width: number; height: number; at: number; detections: D } | null =
    null;
  private readonly mad: Float32Array;
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
    const lattice = sampleLattice(frame, this.o.cols, this.o.rows);
    const ref = this.reference;
    if (
      ref &&
      ref.width === frame.width &&
      ref.height === frame.height &&
      frame.capturedAt - ref.at < this.o.maxSkipMs &&
      frame.capturedAt >= ref.at &&
      !this.changed(ref.lattice, lattice)
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

  private changed(a: Lattice, b: Lattice): boolean {
    const { threshold } = this.o;
    const n = SAMPLES * SAMPLES;
    for (let c = 0; c < a.means.length; c++) {
      if (Math.abs(a.means[c]! - b.means[c]!) > threshold) return true;
      let sum = 0;
      for (let i = c * n; i < (c + 1) * n; i++) sum += Math.abs(a.samples[i]! - b.samples[i]!);
      this.mad[c] = sum / n;
    }
    const noise = median(this.mad);
    const limit = Math.max(threshold, 3 * noise);
    for (let c = 0; c < this.mad.length; c++) if (this.mad[c]! > limit) return true;
    return false;
  }
}

/** Luma (BT.601) of SAMPLES × SAMPLES points in each cell of an RGB24 frame, cell by cell, and each cell's mean. */
export function sampleLattice(
  frame: Pick<GateFrame, 'data' | 'width' | 'height'>,
  cols: number,
  rows: number,
): Lattice {
  const { data, width, height } = frame;
  if (data.length < width * height * 3)
    throw new RangeError('motion gate: frame smaller than width × height × 3');
  const n = SAMPLES * SAMPLES;
  const samples = new Uint8Array(cols * rows * n);
  const means = new Float32Array(cols * rows);
  const cellW = width / cols;
  const cellH = height / rows;
  let k = 0;
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      let sum = 0;
      for (let sy = 0; sy < SAMPLES; sy++) {
        const y = Math.min(height - 1, Math.floor(r * cellH + ((sy + 0.5) * cellH) / SAMPLES));
        const row = y * width;
        for (let sx = 0; sx < SAMPLES; sx++) {
          const x = Math.min(width - 1, Math.floor(c * cellW + ((sx + 0.5) * cellW) / SAMPLES));
          const i = (row + x) * 3;
          const luma = (77 * data[i]! + 150 * data[i + 1]! + 29 * data[i + 2]!) >> 8;
          samples[k++] = luma;
          sum += luma;
        }
      }
      means[r * cols + c] = sum / n;
    }
  }
  return { samples, means };
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
