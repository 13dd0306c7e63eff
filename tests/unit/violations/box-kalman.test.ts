import { describe, expect, it } from 'vitest';
import { BoxKalman, CHI2_4DOF_95 } from '../../../violations/box-kalman.js';

const box = (x: number, y = 0.5, w = 0.1, h = 0.1) => ({ x, y, w, h });

describe('box Kalman filter', () => {
  it('learns a steady velocity from a few frames at 2 fps', () => {
    const kf = new BoxKalman(box(0.1), 0);
    for (let i = 1; i <= 6; i++) kf.update(box(0.1 + 0.04 * i), i * 500);
    // 0.04 per 0.5 s = 0.08 per second.
    expect(kf.state.velocity.cx).toBeCloseTo(0.08, 2);
    expect(kf.state.velocity.cy).toBeCloseTo(0, 3);
    expect(kf.prior(4000).box.x).toBeCloseTo(0.1 + 0.04 * 8, 2);
  });

  it('smooths detector jitter instead of following it', () => {
    const kf = new BoxKalman(box(0.3), 0);
    const jitter = [0.004, -0.004, 0.003, -0.005, 0.004, -0.003, 0.005, -0.004];
    for (const [i, j] of jitter.entries()) kf.update(box(0.3 + j), (i + 1) * 500);
    expect(Math.abs(kf.state.box.x - 0.3)).toBeLessThan(0.004);
    expect(Math.abs(kf.state.velocity.cx)).toBeLessThan(0.015);
  });

  it('widens its gate with the time since the last update', () => {
    const kf = new BoxKalman(box(0.1), 0);
    for (let i = 1; i <= 4; i++) kf.update(box(0.1 + 0.02 * i), i * 500);
    const far = box(0.1 + 0.02 * 4 + 0.15);
    expect(kf.mahalanobis2(far, 2500)).toBeGreaterThan(CHI2_4DOF_95);
    expect(kf.mahalanobis2(far, 2500 + 1500)).toBeLessThan(kf.mahalanobis2(far, 2500));
  });

  it('lets a new track match a detection one box length away, not five', () => {
    const kf = new BoxKalman(box(0.1), 0);
    expect(kf.mahalanobis2(box(0.2), 500)).toBeLessThan(CHI2_4DOF_95);
    expect(kf.mahalanobis2(box(0.6), 500)).toBeGreaterThan(CHI2_4DOF_95);
  });
});
