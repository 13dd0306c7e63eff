import { describe, expect, it } from 'vitest';
import { IouTracker } from '../../../violations/tracker.js';

const car = (x: number, y: number, score = 0.8, label = 'car') => ({
  label,
  score,
  box: { x, y, w: 0.1, h: 0.1 },
});

describe('tracker (Kalman, ByteTrack-style association)', () => {
  it('keeps one id for a vehicle moving steadily', () => {
    const tracker = new IouTracker();
    let ids = new Set<number>();
    for (let i = 0; i < 10; i++) {
      const tracks = tracker.update(i * 500, [car(0.1 + i * 0.03, 0.5)]);
      ids = new Set([...ids, ...tracks.map((t) => t.id)]);
    }
    expect(ids.size).toBe(1);
    expect(tracker.active[0]!.confirmed).toBe(true);
    expect(tracker.active[0]!.history).toHaveLength(10);
  });

  it('keeps the id through a one-frame gap using the predicted position', () => {
    const tracker = new IouTracker({ maxAgeMs: 1000 });
    tracker.update(0, [car(0.1, 0.5)]);
    tracker.update(500, [car(0.16, 0.5)]);
    tracker.update(1000, []);
    const tracks = tracker.update(1500, [car(0.28, 0.5)]);
    expect(tracks).toHaveLength(1);
    expect(tracks[0]!.id).toBe(1);
  });

  it('keeps the id of a vehicle missing 2 frames at 2 fps (1 s hidden), with default options', () => {
    const tracker = new IouTracker();
    // 0.06 per frame: after the gap the vehicle is 0.18 on, further than its own width.
    for (let i = 0; i < 4; i++) tracker.update(i * 500, [car(0.1 + i * 0.06, 0.5)]);
    expect(tracker.update(2000, [])).toHaveLength(1);
    expect(tracker.update(2500, [])).toHaveLength(1);
    const tracks = tracker.update(3000, [car(0.1 + 6 * 0.06, 0.5)]);
    expect(tracks.map((t) => t.id)).toEqual([1]);
    expect(tracks[0]!.history.at(-1)!.t).toBe(3000);
  });

  it('predicts the hidden vehicle where it should be, from its filtered velocity', () => {
    const tracker = new IouTracker();
    for (let i = 0; i < 5; i++) tracker.update(i * 500, [car(0.1 + i * 0.05, 0.5)]);
    const predicted = tracker.predict(1, 3000)!;
    expect(predicted.x).toBeCloseTo(0.1 + 6 * 0.05, 1);
    expect(predicted.y).toBeCloseTo(0.5, 2);
  });

  it('follows a vehicle that moves more than its own length between frames (1 fps)', () => {
    // No overlap between consecutive boxes: the Mahalanobis gate carries the association.
    const tracker = new IouTracker();
    let ids = new Set<number>();
    for (let i = 0; i < 6; i++) {
      const tracks = tracker.update(i * 1000, [car(0.05 + i * 0.12, 0.4)]);
      ids = new Set([...ids, ...tracks.map((t) => t.id)]);
    }
    expect(ids).toEqual(new Set([1]));
    expect(tracker.active[0]!.hits).toBe(6);
  });

  it('does not swap the ids of two vehicles passing each other', () => {
    const tracker = new IouTracker();
    const seen = new Map<number, number[]>();
    for (let i = 0; i < 9; i++) {
      // One goes right, one goes left on a lane just below; they pass at i = 4.
      const tracks = tracker.update(i * 500, [car(0.1 + i * 0.08, 0.4), car(0.74 - i * 0.08, 0.47)]);
      for (const t of tracks) seen.set(t.id, [...(seen.get(t.id) ?? []), t.history.at(-1)!.box.x]);
    }
    expect([...seen.keys()].sort()).toEqual([1, 2]);
    const right = seen.get(1)!;
    expect(right.every((x, i) => i === 0 || x > right[i - 1]!)).toBe(true);
    const left = seen.get(2)!;
    expect(left.every((x, i) => i === 0 || x < left[i - 1]!)).toBe(true);
  });

  it('extends a track with a low-score detection but never starts one from it', () => {
    const tracker = new IouTracker();
    tracker.update(0, [car(0.1, 0.5)]);
    const extended = tracker.update(500, [car(0.12, 0.5, 0.25)]);
    expect(extended[0]!.hits).toBe(2);
    const fresh = new IouTracker();
    expect(fresh.update(0, [car(0.1, 0.5, 0.25)])).toHaveLength(0);
  });

  it('gives two vehicles side by side two ids', () => {
    const tracker = new IouTracker();
    tracker.update(0, [car(0.1, 0.5), car(0.6, 0.5)]);
    const tracks = tracker.update(500, [car(0.62, 0.5), car(0.12, 0.5)]);
    expect(tracks.map((t) => t.id).sort()).toEqual([1, 2]);
    expect(tracks.find((t) => t.id === 1)!.history[1]!.box.x).toBeCloseTo(0.12);
  });

  it('never matches a motorbike detection to a car track', () => {
    const tracker = new IouTracker();
    tracker.update(0, [car(0.1, 0.5)]);
    const tracks = tracker.update(500, [car(0.1, 0.5, 0.8, 'motorcycle')]);
    expect(tracks.map((t) => [t.id, t.label])).toEqual([[2, 'motorcycle']]);
  });

  it('drops a tentative track that misses a frame, but keeps a confirmed one', () => {
    const tracker = new IouTracker();
    tracker.update(0, [car(0.1, 0.5), car(0.6, 0.5)]);
    tracker.update(500, [car(0.1, 0.5)]);
    expect(tracker.active.map((t) => t.id)).toEqual([1]);
    tracker.update(1000, []);
    expect(tracker.active.map((t) => t.id)).toEqual([1]);
  });

  it('drops a track unseen for longer than its maximum age', () => {
    const tracker = new IouTracker({ maxAgeMs: 1000 });
    tracker.update(0, [car(0.1, 0.5)]);
    tracker.update(500, [car(0.1, 0.5)]);
    expect(tracker.update(1500, [])).toHaveLength(1);
    expect(tracker.update(1600, [])).toHaveLength(0);
  });
});
