/**
 * RGB24 frame of any size → the model's NCHW float32 input: bilinear resize (half-pixel centres, as
 * OpenCV's INTER_LINEAR that NanoDet was trained with), optional centred letterbox, channel order and
 * per-channel normalisation, written into one reused buffer with typed-array loops.
 */
import { AppError } from '../core/errors.js';
import type { ModelCard } from './model-card.js';

export interface Frame {
  /** Packed RGB24, row-major, no row padding: width × height × 3 bytes. */
  data: Buffer | Uint8Array;
  width: number;
  height: number;
}

export interface PreprocessSpec {
  width: number;
  height: number;
  pixelFormat: 'RGB' | 'BGR';
  /** Per model input channel (in pixelFormat order), in 0–255 units: x' = (x − mean) / std. */
  mean: readonly [number, number, number];
  std: readonly [number, number, number];
  letterbox: boolean;
  /** Where the letterboxed image sits: centred (NanoDet) or at the top-left corner (YOLOX). */
  align?: 'center' | 'top-left';
  /** Padding colour (0–255, every channel) where the letterbox leaves the input uncovered. */
  padValue: number;
}

/** How a frame sits inside the model input: model = frame × scale + pad, per axis. */
export interface LetterboxTransform {
  frameWidth: number;
  frameHeight: number;
  scaleX: number;
  scaleY: number;
  padX: number;
  padY: number;
  resizedWidth: number;
  resizedHeight: number;
}

export interface Box {
  x1: number;
  y1: number;
  x2: number;
  y2: number;
}

export function specFromCard(card: ModelCard): PreprocessSpec {
  return {
    width: card.input.shape[3],
    height: card.input.shape[2],
    pixelFormat: card.input.pixelFormat,
    mean: card.input.normalisation.mean,
    std: card.input.normalisation.std,
    letterbox: card.input.letterbox.enabled,
    align: card.input.letterbox.align,
    padValue: card.input.letterbox.padValue,
  };
}

export function letterboxTransform(
  frameWidth: number,
  frameHeight: number,
  width: number,
  height: number,
  keepRatio: boolean,
  align: 'center' | 'top-left' = 'center',
): LetterboxTransform {
  if (!keepRatio) {
    return {
      frameWidth,
      frameHeight,
      scaleX: width / frameWidth,
      scaleY: height / frameHeight,
      padX: 0,
      padY: 0,
      resizedWidth: width,
      resizedHeight: height,
    };
  }
  const s = Math.min(width / frameWidth, height / frameHeight);
  const resizedWidth = Math.min(width, Math.max(1, Math.round(frameWidth * s)));
  const resizedHeight = Math.min(height, Math.max(1, Math.round(frameHeight * s)));
  return {
    frameWidth,
    frameHeight,
    scaleX: resizedWidth / frameWidth,
    scaleY: resizedHeight / frameHeight,
    padX: align === 'center' ? Math.floor((width - resizedWidth) / 2) : 0,
    padY: align === 'center' ? Math.floor((height - resizedHeight) / 2) : 0,
    resizedWidth,
    resizedHeight,
  };
}

/** A box in model-input pixels → frame pixels, clamped to the frame. */
export function boxToFrame(t: LetterboxTransform, b: Box): Box {
  const clampX = (v: number) => Math.min(Math.max(v, 0), t.frameWidth);
  const clampY = (v: number) => Math.min(Math.max(v, 0), t.frameHeight);
  return {
    x1: clampX((b.x1 - t.padX) / t.scaleX),
    y1: clampY((b.y1 - t.padY) / t.scaleY),
    x2: clampX((b.x2 - t.padX) / t.scaleX),
    y2: clampY((b.y2 - t.padY) / t.scaleY),
  };
}

/** A box in frame pixels → model-input pixels (the inverse of boxToFrame inside the frame). */
export function boxToModel(t: LetterboxTransform, b: Box): Box {
  return {
    x1: b.x1 * t.scaleX + t.padX,
    y1: b.y1 * t.scaleY + t.padY,
    x2: b.x2 * t.scaleX + t.padX,
    y2: b.y2 * t.scaleY + t.padY,
  };
}

export class Preprocessor {
  /** The model input, NCHW; overwritten by every run(). */
  readonly output: Float32Array;
  private readonly plane: number;
  /** For source channel c (R, G, B): output plane, multiplier and offset (x·k + b = (x − mean)/std). */
  private readonly planeOf: [number, number, number];
  private readonly k: [number, number, number];
  private readonly b: [number, number, number];
  private geometry = '';
  private transform: LetterboxTransform | undefined;
  private x0 = new Int32Array(0);
  private x1 = new Int32Array(0);
  private wx = new Float32Array(0);

  /**
   * `output`: where to write the model input, 3 × width × height floats; by default a buffer of its own.
   * A batch passes each image's slice of one batch tensor, so N frames are written in place, no copy.
   */
  constructor(
    readonly spec: PreprocessSpec,
    output?: Float32Array,
  ) {
    this.plane = spec.width * spec.height;
    if (output && output.length !== 3 * this.plane) {
      throw new AppError(
        'internal',
        `pre-processing output holds ${output.length} floats, the model input needs ${3 * this.plane}`,
      );
    }
    this.output = output ?? new Float32Array(3 * this.plane);
    this.planeOf = spec.pixelFormat === 'RGB' ? [0, 1, 2] : [2, 1, 0];
    const k: number[] = [];
    const b: number[] = [];
    for (let c = 0; c < 3; c++) {
      const p = this.planeOf[c]!;
      k.push(1 / spec.std[p]!);
      b.push(-spec.mean[p]! / spec.std[p]!);
    }
    this.k = k as [number, number, number];
    this.b = b as [number, number, number];
  }

  run(frame: Frame): LetterboxTransform {
    const { width: fw, height: fh, data } = frame;
    if (!Number.isInteger(fw) || !Number.isInteger(fh) || fw < 1 || fh < 1) {
      throw new AppError('bad_request', `frame size ${fw}×${fh} is not a positive integer size`, {
        permanent: true,
      });
    }
    if (data.length !== fw * fh * 3) {
      throw new AppError(
        'bad_request',
        `frame of ${fw}×${fh} RGB24 needs ${fw * fh * 3} bytes, got ${data.length}`,
        {
          permanent: true,
        },
      );
    }
    const t = this.prepare(fw, fh);
    const { output: out, plane, x0, x1, wx } = this;
    const W = this.spec.width;
    const [p0, p1, p2] = this.planeOf;
    const [k0, k1, k2] = this.k;
    const [b0, b1, b2] = this.b;
    const o0 = p0 * plane;
    const o1 = p1 * plane;
    const o2 = p2 * plane;
    const rw = t.resizedWidth;
    const inv = 1 / t.scaleY;
    for (let oy = 0; oy < t.resizedHeight; oy++) {
      let sy = (oy + 0.5) * inv - 0.5;
      if (sy < 0) sy = 0;
      let y0 = Math.floor(sy);
      if (y0 > fh - 1) y0 = fh - 1;
      const y1 = y0 < fh - 1 ? y0 + 1 : y0;
      const wy = sy - y0 > 1 ? 1 : sy - y0;
      const r0 = y0 * fw * 3;
      const r1 = y1 * fw * 3;
      let o = (oy + t.padY) * W + t.padX;
      for (let ox = 0; ox < rw; ox++, o++) {
        const a = r0 + x0[ox]!;
        const bb = r0 + x1[ox]!;
        const c = r1 + x0[ox]!;
        const d = r1 + x1[ox]!;
        const w = wx[ox]!;
        let top = data[a]! + (data[bb]! - data[a]!) * w;
        let bot = data[c]! + (data[d]! - data[c]!) * w;
        out[o0 + o] = (top + (bot - top) * wy) * k0 + b0;
        top = data[a + 1]! + (data[bb + 1]! - data[a + 1]!) * w;
        bot = data[c + 1]! + (data[d + 1]! - data[c + 1]!) * w;
        out[o1 + o] = (top + (bot - top) * wy) * k1 + b1;
        top = data[a + 2]! + (data[bb + 2]! - data[a + 2]!) * w;
        bot = data[c + 2]! + (data[d + 2]! - data[c + 2]!) * w;
        out[o2 + o] = (top + (bot - top) * wy) * k2 + b2;
      }
    }
    return t;
  }

  /** Column tables and padding, recomputed only when the frame size changes. */
  private prepare(fw: number, fh: number): LetterboxTransform {
    const key = `${fw}x${fh}`;
    if (key === this.geometry && this.transform) return this.transform;
    const t = letterboxTransform(
      fw,
      fh,
      this.spec.width,
      this.spec.height,
      this.spec.letterbox,
      this.spec.align,
    );
    this.x0 = new Int32Array(t.resizedWidth);
    this.x1 = new Int32Array(t.resizedWidth);
    this.wx = new Float32Array(t.resizedWidth);
    const inv = 1 / t.scaleX;
    for (let ox = 0; ox < t.resizedWidth; ox++) {
      let sx = (ox + 0.5) * inv - 0.5;
      if (sx < 0) sx = 0;
      let x0 = Math.floor(sx);
      if (x0 > fw - 1) x0 = fw - 1;
      const x1 = x0 < fw - 1 ? x0 + 1 : x0;
      this.x0[ox] = x0 * 3;
      this.x1[ox] = x1 * 3;
      this.wx[ox] = Math.min(sx - x0, 1);
    }
    for (let c = 0; c < 3; c++) {
      const p = this.planeOf[c]!;
      this.output.fill(this.spec.padValue * this.k[c]! + this.b[c]!, p * this.plane, (p + 1) * this.plane);
    }
    this.geometry = key;
    this.transform = t;
    return t;
  }
}
