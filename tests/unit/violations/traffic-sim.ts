import type { TrackInput } from '../../../violations/tracker.js';

/**
 * Seeded simulated traffic for tracker tests: four lanes crossing in the middle of the frame (two
 * horizontal, two vertical, opposite directions), vehicles 0.06–0.12 wide at 0.5–3 of their lengths per
 * second whose speed wanders (braking, accelerating), seen by a detector with 3 % box jitter, 8 %
 * missed detections, a 2-frame occlusion starting at 4 % of frames per vehicle, and a fifth of the
 * detections below the high score.
 */
export interface SimDetection extends TrackInput {
  vehicle: number;
}

export function simulateTraffic(
  fps: number,
  seconds: number,
  seed = 99,
): { t: number; dets: SimDetection[] }[] {
  let s = seed;
  const rnd = () => (s = (s * 16807) % 2147483647) / 2147483647;
  const gauss = () => {
    let u = 0;
    for (let i = 0; i < 6; i++) u += rnd();
    return (u - 3) / Math.sqrt(0.5);
  };
  interface Vehicle {
    id: number;
    x: number;
    y: number;
    vx: number;
    vy: number;
    nominal: number;
    w: number;
    h: number;
    label: string;
    hiddenUntil: number;
  }
  const dt = 1 / fps;
  const frames: { t: number; dets: SimDetection[] }[] = [];
  let vehicles: Vehicle[] = [];
  let next = 1;
  for (let f = 0; f < seconds * fps; f++) {
    const t = (f * 1000) / fps;
    if (rnd() < 0.8 * dt) {
      const lane = Math.floor(rnd() * 4);
      const size = 0.06 + rnd() * 0.06;
      const speed = (0.5 + rnd() * 2.5) * size;
      const label = rnd() < 0.5 ? 'car' : 'motorcycle';
      const base = { id: next++, label, hiddenUntil: 0 };
      const horizontal = { w: size, h: size * 0.7, nominal: speed };
      const vertical = { w: size * 0.7, h: size * 1.6, nominal: speed * 1.6 };
      vehicles.push(
        [
          { ...base, ...horizontal, x: -0.1, y: 0.45, vx: speed, vy: 0 },
          { ...base, ...horizontal, x: 1.0, y: 0.5, vx: -speed, vy: 0 },
          { ...base, ...vertical, x: 0.45, y: -0.1, vx: 0, vy: speed * 1.6 },
          { ...base, ...vertical, x: 0.52, y: 1.0, vx: 0, vy: -speed * 1.6 },
        ][lane]!,
      );
    }
    const dets: SimDetection[] = [];
    for (const v of vehicles) {
      const speed = Math.hypot(v.vx, v.vy);
      const nextSpeed = Math.max(
        0.3 * v.nominal,
        speed + 0.5 * (v.nominal - speed) * dt + gauss() * 0.6 * v.w * Math.sqrt(dt),
      );
      v.vx *= nextSpeed / speed;
      v.vy *= nextSpeed / speed;
      v.x += v.vx * dt;
      v.y += v.vy * dt;
      if (v.hiddenUntil <= t && rnd() < 0.04) v.hiddenUntil = t + (2 * 1000) / fps + 1;
      if (v.hiddenUntil > t || rnd() < 0.08) continue;
      const j = 0.03;
      dets.push({
        vehicle: v.id,
        label: v.label,
        score: rnd() < 0.2 ? 0.15 + rnd() * 0.1 : 0.4 + rnd() * 0.5,
        box: {
          x: v.x + gauss() * j * v.w,
          y: v.y + gauss() * j * v.h,
          w: v.w * (1 + gauss() * j),
          h: v.h * (1 + gauss() * j),
        },
      });
    }
    vehicles = vehicles.filter((v) => v.x > -0.2 && v.x < 1.1 && v.y > -0.2 && v.y < 1.1);
    frames.push({ t, dets });
  }
  return frames;
}
