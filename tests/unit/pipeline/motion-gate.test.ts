import { describe, expect, it } from 'vitest';
import { MotionGate, sampleLattice, type GateFrame } from '../../../pipeline/motion-gate.js';

const W = 640;
const H = 360;

/** A grey road with seeded sensor noise (±`noise` levels per channel) and optional dark boxes. */
function frame(
  capturedAt: number,
  opts: {
    seed?: number;
    noise?: number;
    base?: number;
    boxes?: { x: number; y: number; w: number; h: number }[];
  } = {},
): GateFrame {
  const data = Buffer.alloc(W * H * 3);
  let s = opts.seed ?? 1;
  const rand = () => ((s = (s * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff) * 2 - 1;
  const base = opts.base ?? 120;
  const noise = opts.noise ?? 4;
  for (let i = 0; i < data.length; i++)
    data[i] = Math.max(0, Math.min(255, Math.round(base + rand() * noise)));
  for (const b of opts.boxes ?? []) {
    for (let y = b.y; y < b.y + b.h; y++)
      for (let x = b.x; x < b.x + b.w; x++) data.fill(30, (y * W + x) * 3, (y * W + x) * 3 + 3);
  }
  return { data, width: W, height: H, capturedAt };
}

function counting() {
  let calls = 0;
  return {
    get calls() {
      return calls;
    },
    detect: (label: string) => async () => {
      calls += 1;
      return label;
    },
  };
}

describe('motion gate', () => {
  it('reuses the detections of a still picture whose sensor noise changes every frame', async () => {
    const gate = new MotionGate<string>();
    const d = counting();
    expect(await gate.detect(frame(0, { seed: 1 }), d.detect('first'))).toEqual({
      detections: 'first',
      skipped: false,
    });
    for (let i = 1; i <= 3; i++) {
      expect(await gate.detect(frame(i * 500, { seed: 1 + i }), d.detect('again'))).toEqual({
        detections: 'first',
        skipped: true,
      });
    }
    expect(d.calls).toBe(1);
    expect([gate.seen, gate.skipped]).toEqual([4, 3]);
  });

  it('runs the detector when a small far vehicle (10 × 6 px) moves a few pixels', async () => {
    const gate = new MotionGate<string>();
    const d = counting();
    await gate.detect(frame(0, { boxes: [{ x: 300, y: 100, w: 10, h: 6 }] }), d.detect('a'));
    const next = await gate.detect(
      frame(500, { seed: 2, boxes: [{ x: 306, y: 101, w: 10, h: 6 }] }),
      d.detect('b'),
    );
    expect(next).toEqual({ detections: 'b', skipped: false });
  });

  it('tolerates heavy night grain but still sees a car move in it', async () => {
    const gate = new MotionGate<string>();
    const d = counting();
    await gate.detect(
      frame(0, { base: 40, noise: 20, boxes: [{ x: 100, y: 200, w: 40, h: 24 }] }),
      d.detect('a'),
    );
    const grain = await gate.detect(
      frame(500, { base: 40, noise: 20, seed: 7, boxes: [{ x: 100, y: 200, w: 40, h: 24 }] }),
      d.detect('b'),
    );
    expect(grain.skipped).toBe(true);
    const moved = await gate.detect(
      frame(1000, { base: 40, noise: 20, seed: 8, boxes: [{ x: 112, y: 202, w: 40, h: 24 }] }),
      d.detect('c'),
    );
    expect(moved).toEqual({ detections: 'c', skipped: false });
  });

  it('leaves an on-screen clock inside an ignore mask out, and nothing else', async () => {
    const clock = [
      { x: 0, y: 0 },
      { x: 0.25, y: 0 },
      { x: 0.25, y: 0.06 },
      { x: 0, y: 0.06 },
    ];
    const tick = (
      capturedAt: number,
      seconds: number,
      extra: { x: number; y: number; w: number; h: number }[] = [],
    ) =>
      frame(capturedAt, {
        seed: capturedAt + 1,
        boxes: [{ x: 8 + 12 * (seconds % 10), y: 4, w: 10, h: 12 }, ...extra],
      });
    const masked = new MotionGate<string>({ ignore: [clock] });
    const plain = new MotionGate<string>();
    const d = counting();
    await masked.detect(tick(0, 0), d.detect('a'));
    await plain.detect(tick(0, 0), d.detect('a'));
    expect((await masked.detect(tick(1000, 1), d.detect('b'))).skipped).toBe(true);
    expect((await plain.detect(tick(1000, 1), d.detect('b'))).skipped).toBe(false);
    // A car moving just below the clock still counts.
    const car = { x: 60, y: 40, w: 30, h: 16 };
    expect((await masked.detect(tick(1500, 2, [car]), d.detect('c'))).skipped).toBe(false);
  });

  it('runs the detector when the whole picture brightens (exposure, clouds)', async () => {
    const gate = new MotionGate<string>();
    const d = counting();
    await gate.detect(frame(0, { base: 120 }), d.detect('a'));
    expect((await gate.detect(frame(500, { base: 132, seed: 3 }), d.detect('b'))).skipped).toBe(false);
  });

  it('runs the detector at least every maxSkipMs, however still the picture', async () => {
    const gate = new MotionGate<string>({ maxSkipMs: 2000 });
    const d = counting();
    await gate.detect(frame(0), d.detect('a'));
    expect((await gate.detect(frame(1999, { seed: 2 }), d.detect('b'))).skipped).toBe(true);
    expect((await gate.detect(frame(2000, { seed: 3 }), d.detect('c'))).detections).toBe('c');
    // The reference moved to the frame at 2000 ms.
    expect((await gate.detect(frame(3500, { seed: 4 }), d.detect('d'))).detections).toBe('c');
  });

  it('runs the detector after a reset, a change of frame size or a clock going back', async () => {
    const gate = new MotionGate<string>();
    const d = counting();
    await gate.detect(frame(1000), d.detect('a'));
    gate.reset();
    expect((await gate.detect(frame(1500), d.detect('b'))).skipped).toBe(false);
    expect((await gate.detect(frame(900), d.detect('c'))).skipped).toBe(false);
    const small = { data: Buffer.alloc(320 * 180 * 3, 120), width: 320, height: 180, capturedAt: 1000 };
    expect((await gate.detect(small, d.detect('d'))).skipped).toBe(false);
  });

  it('does not keep a failed detection as the reference', async () => {
    const gate = new MotionGate<string>();
    await expect(
      gate.detect(frame(0), async () => {
        throw new Error('detector busy');
      }),
    ).rejects.toThrow('detector busy');
    const d = counting();
    expect((await gate.detect(frame(100), d.detect('b'))).skipped).toBe(false);
  });

  it('samples each cell on a lattice and refuses a frame shorter than its size says', () => {
    const f = frame(0, { noise: 0, base: 100, boxes: [{ x: 0, y: 0, w: 20, h: 20 }] });
    const { means, samples } = sampleLattice(f, 32, 18);
    expect(samples).toHaveLength(32 * 18 * 64);
    expect(means[0]).toBeCloseTo(30, 0);
    expect(means[1]).toBeCloseTo(100, 0);
    expect(() => sampleLattice({ data: Buffer.alloc(10), width: W, height: H }, 32, 18)).toThrow(RangeError);
    expect(() => new MotionGate({ cols: 0 })).toThrow(RangeError);
  });
});
