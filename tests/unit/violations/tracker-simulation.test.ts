import { describe, expect, it } from 'vitest';
import { IouTracker } from '../../../violations/tracker.js';
import { simulateTraffic } from './traffic-sim.js';

/** Links a tracker makes between consecutive detections of one track: right (same vehicle) or wrong. */
function score(fps: number) {
  const tracker = new IouTracker({ highScore: 0.35, lowScore: 0.12 });
  const frames = simulateTraffic(fps, 300);
  const lastVehicle = new Map<number, number>();
  let right = 0;
  let wrong = 0;
  let tracked = 0;
  let detections = 0;
  for (const { t, dets } of frames) {
    detections += dets.length;
    for (const track of tracker.update(t, dets)) {
      if (!track.confirmed || track.lastSeenAt !== t) continue;
      const det = dets.find((d) => d.box === track.history.at(-1)!.box)!;
      tracked++;
      const prev = lastVehicle.get(track.id);
      if (prev !== undefined) {
        if (prev === det.vehicle) right++;
        else wrong++;
      }
      lastVehicle.set(track.id, det.vehicle);
    }
  }
  return { tracked: tracked / detections, wrongLinks: wrong / (right + wrong) };
}

describe('tracker on simulated crossing traffic (misses, occlusions, jitter, varying speed)', () => {
  it('at 2 fps tracks over 80 % of detections with under 2.5 % wrong links', () => {
    const { tracked, wrongLinks } = score(2);
    expect(tracked).toBeGreaterThan(0.8);
    expect(wrongLinks).toBeLessThan(0.025);
  });

  it('at 5 fps tracks over 90 % of detections with under 1 % wrong links', () => {
    const { tracked, wrongLinks } = score(5);
    expect(tracked).toBeGreaterThan(0.9);
    expect(wrongLinks).toBeLessThan(0.01);
  });

  it('at 1 fps, where vehicles move up to three lengths a frame, still tracks over half', () => {
    const { tracked, wrongLinks } = score(1);
    expect(tracked).toBeGreaterThan(0.5);
    expect(wrongLinks).toBeLessThan(0.15);
  });
});
