import type { Box } from './geometry.js';

/**
 * Kalman filter of a box as centre (cx, cy) and size (w, h), each with its rate of change, in
 * normalised image coordinates per second. The motion model is constant velocity driven by white
 * acceleration noise, and measurements are boxes, so the four axes never mix: the filter runs as four
 * independent two-state filters, which is the 8-state filter of SORT/ByteTrack with its block-diagonal
 * matrices multiplied out.
 *
 * Noise is relative to the box's own size (an axis along x scales with the width, along y with the
 * height), so a far, small vehicle and a near, large one are treated alike. The defaults are tuned for
 * 1–5 analysed frames per second, where a vehicle can move more than its own length between frames:
 * a new track's speed is very uncertain, and a detector box jitters by a few per cent of its size.
 */
export interface KalmanNoise {
  /** Detector jitter, standard deviation as a fraction of the box (centre; size). */
  measurementPos: number;
  measurementSize: number;
  /** Acceleration noise, box sizes per s² (centre; size). */
  accelPos: number;
  accelSize: number;
  /** Speed uncertainty of a new track, box sizes per s (centre; size). */
  initialVelPos: number;
  initialVelSize: number;
}

export const DEFAULT_KALMAN_NOISE: KalmanNoise = {
  measurementPos: 0.05,
  measurementSize: 0.08,
  accelPos: 0.5,
  accelSize: 0.3,
  initialVelPos: 1.5,
  initialVelSize: 0.3,
};

/** One axis: position p, velocity v and their covariance [[a, b], [b, c]]. */
interface Axis {
  p: number;
  v: number;
  a: number;
  b: number;
  c: number;
}

const AXES = ['x', 'y', 'w', 'h'] as const;
type AxisName = (typeof AXES)[number];

export interface KalmanPrior {
  box: Box;
  /** Per axis (cx, cy, w, h): predicted value and innovation variance S = P + R. */
  mean: [number, number, number, number];
  innovationVar: [number, number, number, number];
}

export class BoxKalman {
  private axes: Record<AxisName, Axis>;
  private t: number;

  constructor(
    box: Box,
    t: number,
    private readonly noise: KalmanNoise = DEFAULT_KALMAN_NOISE,
  ) {
    const { measurementPos: mp, measurementSize: ms, initialVelPos: vp, initialVelSize: vs } = noise;
    const axis = (p: number, scale: number, mStd: number, vStd: number): Axis => ({
      p,
      v: 0,
      a: (mStd * scale) ** 2,
      b: 0,
      c: (vStd * scale) ** 2,
    });
    this.axes = {
      x: axis(box.x + box.w / 2, box.w, mp, vp),
      y: axis(box.y + box.h / 2, box.h, mp, vp),
      w: axis(box.w, box.w, ms, vs),
      h: axis(box.h, box.h, ms, vs),
    };
    this.t = t;
  }

  /** The time of the last update. */
  get updatedAt(): number {
    return this.t;
  }

  /** The filtered box and velocity (per second) at the last update. */
  get state(): { box: Box; velocity: { cx: number; cy: number; w: number; h: number } } {
    const { x, y, w, h } = this.axes;
    return {
      box: { x: x.p - w.p / 2, y: y.p - h.p / 2, w: w.p, h: h.p },
      velocity: { cx: x.v, cy: y.v, w: w.v, h: h.v },
    };
  }

  /** The prediction for time t (ms), without changing the filter. */
  prior(t: number): KalmanPrior {
    const dt = Math.max(0, (t - this.t) / 1000);
    const predicted = AXES.map((name) => this.predictAxis(name, dt));
    const [x, y, w, h] = predicted as [Axis, Axis, Axis, Axis];
    const R = this.measurementVar();
    const width = Math.max(w.p, 1e-4);
    const height = Math.max(h.p, 1e-4);
    return {
      box: { x: x.p - width / 2, y: y.p - height / 2, w: width, h: height },
      mean: [x.p, y.p, width, height],
      innovationVar: [x.a + R[0], y.a + R[1], w.a + R[2], h.a + R[3]],
    };
  }

  /** Squared Mahalanobis distance of a measured box from the prediction at t (4 degrees of freedom). */
  mahalanobis2(box: Box, t: number, prior = this.prior(t)): number {
    const z = [box.x + box.w / 2, box.y + box.h / 2, box.w, box.h];
    let d = 0;
    for (let i = 0; i < 4; i++) d += (z[i]! - prior.mean[i]!) ** 2 / prior.innovationVar[i]!;
    return d;
  }

  /** Predicts to t (ms) and corrects with the measured box. */
  update(box: Box, t: number): void {
    const dt = Math.max(0, (t - this.t) / 1000);
    const R = this.measurementVar(box);
    const z = [box.x + box.w / 2, box.y + box.h / 2, box.w, box.h];
    AXES.forEach((name, i) => {
      const s = this.predictAxis(name, dt);
      const S = s.a + R[i]!;
      const k0 = s.a / S;
      const k1 = s.b / S;
      const innovation = z[i]! - s.p;
      this.axes[name] = {
        p: s.p + k0 * innovation,
        v: s.v + k1 * innovation,
        a: s.a * (1 - k0),
        b: s.b * (1 - k0),
        c: s.c - k1 * s.b,
      };
    });
    this.t = Math.max(this.t, t);
  }

  private scale(name: AxisName): number {
    return Math.max(name === 'x' || name === 'w' ? this.axes.w.p : this.axes.h.p, 1e-4);
  }

  private predictAxis(name: AxisName, dt: number): Axis {
    const { p, v, a, b, c } = this.axes[name];
    const accel =
      (name === 'x' || name === 'y' ? this.noise.accelPos : this.noise.accelSize) * this.scale(name);
    const q = accel * accel;
    return {
      p: p + v * dt,
      v,
      a: a + 2 * dt * b + dt * dt * c + (q * dt ** 4) / 4,
      b: b + dt * c + (q * dt ** 3) / 2,
      c: c + q * dt * dt,
    };
  }

  private measurementVar(box?: Box): [number, number, number, number] {
    const w = Math.max(box?.w ?? this.axes.w.p, 1e-4);
    const h = Math.max(box?.h ?? this.axes.h.p, 1e-4);
    const { measurementPos: mp, measurementSize: ms } = this.noise;
    return [(mp * w) ** 2, (mp * h) ** 2, (ms * w) ** 2, (ms * h) ** 2];
  }
}

/** Chi-square quantiles for 4 degrees of freedom (gates on `mahalanobis2`). */
export const CHI2_4DOF_95 = 9.4877;
export const CHI2_4DOF_80 = 5.9886;
