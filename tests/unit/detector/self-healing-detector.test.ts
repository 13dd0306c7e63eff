import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { AppError } from '../../../core/errors.js';
import type { Detection, Detector, Frame } from '../../../detector/detector.js';
import { SelfHealingDetector } from '../../../detector/self-healing-detector.js';

const log = pino({ level: 'silent' });
const frame: Frame = { data: Buffer.alloc(12), width: 2, height: 2 };

/** A detector whose worker can be made to die. */
function scriptedDetector(id: number, state: { dead: Set<number>; closed: number[] }): Detector {
  return {
    model: { name: 'm', version: String(id) },
    modelName: `m/${id}`,
    provider: 'cpu',
    maxBatch: 1,
    pending: 0,
    lastTimings: undefined,
    async detect(): Promise<Detection[]> {
      if (state.dead.has(id)) throw new AppError('internal', `detector worker exited with code 1`);
      return [
        {
          label: 'car',
          classId: 2,
          score: 0.9,
          box: { x: 0, y: 0, w: 1, h: 1 },
          model: { name: 'm', version: String(id) },
        },
      ];
    },
    async close() {
      state.closed.push(id);
    },
  };
}

describe('self-healing detector', () => {
  it('replaces a dead worker and detects again', async () => {
    const state = { dead: new Set<number>(), closed: [] as number[] };
    let made = 0;
    const d = await SelfHealingDetector.start(async () => scriptedDetector(++made, state), log);
    expect(await d.detect(frame)).toHaveLength(1);
    state.dead.add(1);
    await expect(d.detect(frame)).rejects.toThrow(/exited/);
    await expect.poll(() => d.restarts).toBe(1);
    expect(d.modelName).toBe('m/2');
    expect(await d.detect(frame)).toHaveLength(1);
    expect(state.closed).toContain(1);
    await d.close();
  });

  it('refuses frames while the replacement loads, with a retryable error', async () => {
    const state = { dead: new Set<number>([1]), closed: [] as number[] };
    let release: () => void = () => undefined;
    let made = 0;
    const d = await SelfHealingDetector.start(async () => {
      made += 1;
      if (made === 2) await new Promise<void>((r) => (release = r));
      return scriptedDetector(made, state);
    }, log);
    await expect(d.detect(frame)).rejects.toThrow(/exited/);
    const refused = await d.detect(frame).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(AppError);
    expect((refused as AppError).code).toBe('dependency_down');
    expect((refused as AppError).permanent).toBe(false);
    release();
    await expect.poll(() => d.restarts).toBe(1);
    await d.close();
  });

  it('leaves a healthy worker alone when a frame is bad', async () => {
    const state = { dead: new Set<number>(), closed: [] as number[] };
    let made = 0;
    const bad: Detector = {
      ...scriptedDetector(1, state),
      async detect() {
        throw new AppError('bad_request', 'frame must be RGB24', { permanent: true });
      },
    };
    const d = await SelfHealingDetector.start(
      async () => (++made === 1 ? bad : scriptedDetector(made, state)),
      log,
    );
    await expect(d.detect(frame)).rejects.toThrow(/RGB24/);
    expect(made).toBe(1);
    expect(d.restarts).toBe(0);
    await d.close();
  });
});
