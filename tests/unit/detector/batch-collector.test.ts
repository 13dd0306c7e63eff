import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AppError } from '../../../core/errors.js';
import { BatchCollector, isDrop, type BatchReport } from '../../../detector/batch-collector.js';

/** A batched call that answers each item with "item@batchNo" and records the batches it saw. */
function recorder() {
  const batches: string[][] = [];
  let release: (() => void) | undefined;
  let hold = false;
  return {
    batches,
    /** While held, calls wait until released (to make items queue behind a batch in flight). */
    hold() {
      hold = true;
    },
    release() {
      hold = false;
      release?.();
    },
    run: async (items: string[]) => {
      batches.push([...items]);
      if (hold) await new Promise<void>((r) => (release = r));
      return items.map((i) => `${i}@${batches.length}`);
    },
  };
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

const flush = () => vi.advanceTimersByTimeAsync(0);

describe('batch collector', () => {
  it('runs a full batch at once and gives each camera its own result', async () => {
    const r = recorder();
    const c = new BatchCollector({ maxBatch: 3, maxWaitMs: 1000, maxQueue: 8, run: r.run, now: Date.now });
    const a = c.submit('cam-a', 'a1');
    const b = c.submit('cam-b', 'b1');
    const d = c.submit('cam-c', 'c1');
    await flush();
    expect(r.batches).toEqual([['a1', 'b1', 'c1']]);
    await expect(Promise.all([a, b, d])).resolves.toEqual(['a1@1', 'b1@1', 'c1@1']);
  });

  it('runs a partial batch when its oldest frame has waited maxWaitMs, not before', async () => {
    const r = recorder();
    const reports: BatchReport[] = [];
    const c = new BatchCollector({
      maxBatch: 4,
      maxWaitMs: 50,
      maxQueue: 8,
      run: r.run,
      now: Date.now,
      onBatch: (b) => reports.push(b),
    });
    const a = c.submit('cam-a', 'a1');
    await vi.advanceTimersByTimeAsync(30);
    const b = c.submit('cam-b', 'b1');
    await vi.advanceTimersByTimeAsync(19);
    expect(r.batches).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(r.batches).toEqual([['a1', 'b1']]);
    await expect(Promise.all([a, b])).resolves.toEqual(['a1@1', 'b1@1']);
    expect(reports[0]).toMatchObject({ size: 2, sources: 2, trigger: 'deadline', failed: false });
    expect(reports[0]!.waitedMs).toBe(50);
  });

  it('with maxWaitMs 0 runs whatever waits at once', async () => {
    const r = recorder();
    const c = new BatchCollector({ maxBatch: 8, maxWaitMs: 0, maxQueue: 8, run: r.run, now: Date.now });
    const a = c.submit('cam-a', 'a1');
    await flush();
    expect(r.batches).toEqual([['a1']]);
    await expect(a).resolves.toBe('a1@1');
  });

  it('keeps one batch in flight; frames arriving meanwhile form the next batch', async () => {
    const r = recorder();
    r.hold();
    const c = new BatchCollector({ maxBatch: 2, maxWaitMs: 0, maxQueue: 8, run: r.run, now: Date.now });
    const first = c.submit('cam-a', 'a1');
    await flush();
    const later = [c.submit('cam-b', 'b1'), c.submit('cam-c', 'c1'), c.submit('cam-d', 'd1')];
    await flush();
    expect(r.batches).toEqual([['a1']]);
    expect(c.queued).toBe(3);
    r.release();
    await flush();
    // The oldest two first; the third waits for the batch after.
    expect(r.batches.slice(1)).toEqual([['b1', 'c1'], ['d1']]);
    await expect(first).resolves.toBe('a1@1');
    await expect(Promise.all(later)).resolves.toEqual(['b1@2', 'c1@2', 'd1@3']);
  });

  it('shares a batch fairly: a camera with frames waiting gets no second slot before the others get one', async () => {
    const r = recorder();
    r.hold();
    const c = new BatchCollector({
      maxBatch: 3,
      maxWaitMs: 0,
      maxQueue: 16,
      maxPerSource: 4,
      run: r.run,
      now: Date.now,
    });
    void c.submit('busy', 'x0');
    await flush();
    const all: Promise<string>[] = [];
    for (let k = 1; k <= 3; k++) {
      all.push(c.submit('busy', `x${k}`));
      await vi.advanceTimersByTimeAsync(1);
    }
    all.push(c.submit('quiet-1', 'q1'));
    await vi.advanceTimersByTimeAsync(1);
    all.push(c.submit('quiet-2', 'r1'));
    r.release();
    await flush();
    expect(r.batches[1]).toEqual(['x1', 'q1', 'r1']);
    expect(r.batches[2]).toEqual(['x2', 'x3']);
    await Promise.all(all);
  });

  it('newest wins per camera: a newer frame replaces the waiting one, which is rejected as a counted drop', async () => {
    const r = recorder();
    const c = new BatchCollector({ maxBatch: 4, maxWaitMs: 100, maxQueue: 8, run: r.run, now: Date.now });
    const old = c.submit('cam-a', 'a1');
    const oldResult = old.catch((e: unknown) => e);
    const fresh = c.submit('cam-a', 'a2');
    const err = await oldResult;
    expect(isDrop(err)).toBe(true);
    expect(err).toMatchObject({ code: 'dependency_down', details: { reason: 'replaced' } });
    await vi.advanceTimersByTimeAsync(100);
    expect(r.batches).toEqual([['a2']]);
    await expect(fresh).resolves.toBe('a2@1');
    expect(c.stats.dropped.replaced).toBe(1);
    expect(c.stats.droppedBySource.get('cam-a')).toBe(1);
  });

  it("refuses a new camera's frame when the queue is full, at once and counted", async () => {
    const r = recorder();
    r.hold();
    const c = new BatchCollector({ maxBatch: 2, maxWaitMs: 0, maxQueue: 2, run: r.run, now: Date.now });
    void c.submit('cam-a', 'a1');
    await flush();
    const waiting = [c.submit('cam-b', 'b1'), c.submit('cam-c', 'c1')];
    const refused = await c.submit('cam-d', 'd1').catch((e: unknown) => e);
    expect(isDrop(refused)).toBe(true);
    expect(refused).toMatchObject({ details: { reason: 'queue_full' } });
    expect(c.stats.dropped.queue_full).toBe(1);
    expect(c.stats.droppedBySource.get('cam-d')).toBe(1);
    r.release();
    await expect(Promise.all(waiting)).resolves.toEqual(['b1@2', 'c1@2']);
  });

  it('isolates a failed batch: its frames are rejected, the next batch runs', async () => {
    let calls = 0;
    const c = new BatchCollector<string, string>({
      maxBatch: 2,
      maxWaitMs: 10,
      maxQueue: 8,
      now: Date.now,
      run: async (items) => {
        calls += 1;
        if (calls === 1) throw new AppError('internal', 'session failed');
        return items.map((i) => `ok:${i}`);
      },
    });
    const failed = [c.submit('a', 'a1'), c.submit('b', 'b1')].map((p) => p.catch((e: unknown) => e));
    await flush();
    for (const e of await Promise.all(failed)) expect(e).toMatchObject({ message: 'session failed' });
    const next = c.submit('a', 'a2');
    await vi.advanceTimersByTimeAsync(10);
    await expect(next).resolves.toBe('ok:a2');
    expect(c.stats.failedBatches).toBe(1);
    expect(c.stats.batches).toBe(2);
  });

  it('fails only the frame whose own result is an error', async () => {
    const c = new BatchCollector<string, string>({
      maxBatch: 2,
      maxWaitMs: 0,
      maxQueue: 8,
      now: Date.now,
      run: async (items) =>
        items.map((i) => (i === 'bad' ? new AppError('bad_request', 'wrong frame size') : `ok:${i}`)),
    });
    const bad = c.submit('a', 'bad').catch((e: unknown) => e);
    const good = c.submit('b', 'fine');
    await flush();
    expect(await bad).toMatchObject({ code: 'bad_request' });
    await expect(good).resolves.toBe('ok:fine');
  });

  it('rejects a whole batch whose call answers the wrong number of results', async () => {
    const c = new BatchCollector<string, string>({
      maxBatch: 2,
      maxWaitMs: 10,
      maxQueue: 8,
      now: Date.now,
      run: async () => ['only one'],
    });
    const both = [c.submit('a', 'a1'), c.submit('b', 'b1')].map((p) => p.catch((e: unknown) => e));
    await flush();
    for (const e of await Promise.all(both)) {
      expect(e).toMatchObject({
        code: 'internal',
        message: expect.stringContaining('1 results for 2 frames'),
      });
    }
  });

  it('on close, refuses what waits and every later frame', async () => {
    const r = recorder();
    const c = new BatchCollector({ maxBatch: 4, maxWaitMs: 1000, maxQueue: 8, run: r.run, now: Date.now });
    const waiting = c.submit('a', 'a1').catch((e: unknown) => e);
    c.close();
    expect(await waiting).toMatchObject({ details: { reason: 'closed' } });
    await expect(c.submit('b', 'b1')).rejects.toMatchObject({ details: { reason: 'closed' } });
    await vi.advanceTimersByTimeAsync(2000);
    expect(r.batches).toEqual([]);
  });

  it('refuses settings that cannot work', () => {
    const run = async (items: string[]) => items;
    expect(() => new BatchCollector({ maxBatch: 0, maxWaitMs: 0, maxQueue: 1, run })).toThrow(/maxBatch/);
    expect(() => new BatchCollector({ maxBatch: 4, maxWaitMs: 0, maxQueue: 2, run })).toThrow(/maxQueue/);
    expect(() => new BatchCollector({ maxBatch: 1, maxWaitMs: -1, maxQueue: 1, run })).toThrow(/maxWaitMs/);
  });
});
