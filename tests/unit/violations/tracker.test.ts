import { describe, expect, it } from 'vitest';
import { IouTracker } from '../../../violations/tracker.js';

const car = (x: number, y: number, score = 0.8) => ({ label: 'car', score, box: { x, y, w: 0.1, h: 0.1 } });

describe('IoU tracker', () => {
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

  it('drops a track unseen for longer than its maximum age', () => {
    const tracker = new IouTracker({ maxAgeMs: 1000 });
    tracker.update(0, [car(0.1, 0.5)]);
    expect(tracker.update(1500, [])).toHaveLength(0);
  });
});
