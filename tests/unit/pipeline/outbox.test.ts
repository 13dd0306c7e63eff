import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { Outbox } from '../../../pipeline/outbox.js';

const log = pino({ level: 'silent' });

describe('outbox', () => {
  it('sends at once when the queue answers', async () => {
    const sent: number[] = [];
    const box = new Outbox<number>(async (n) => void sent.push(n), log);
    expect(await box.submit(1)).toBe(true);
    expect(sent).toEqual([1]);
    expect(box.size).toBe(0);
  });

  it('keeps what failed and delivers it in order once the queue is back', async () => {
    let up = false;
    const sent: number[] = [];
    const box = new Outbox<number>(async (n) => {
      if (!up) throw new Error('redis down');
      sent.push(n);
    }, log);
    await box.submit(1);
    await box.submit(2);
    expect(box.size).toBe(2);
    up = true;
    await box.flush();
    expect(sent).toEqual([1, 2]);
    expect(box.size).toBe(0);
    box.stop();
  });

  it('runs the after-send step only once the item is sent, now or on a retry', async () => {
    let up = true;
    const done: number[] = [];
    const box = new Outbox<number>(async () => {
      if (!up) throw new Error('redis down');
    }, log);
    await box.submit(1, (n) => done.push(n));
    expect(done).toEqual([1]);
    up = false;
    await box.submit(2, (n) => done.push(n));
    expect(done).toEqual([1]);
    up = true;
    await box.flush();
    expect(done).toEqual([1, 2]);
    box.stop();
  });

  it('counts an after-send step that fails without resending the item', async () => {
    const sent: number[] = [];
    const box = new Outbox<number>(async (n) => void sent.push(n), log);
    expect(
      await box.submit(1, () => {
        throw new Error('disk full');
      }),
    ).toBe(true);
    expect(sent).toEqual([1]);
    expect(box.size).toBe(0);
  });

  it('queues behind pending items so order is kept', async () => {
    let up = false;
    const sent: number[] = [];
    const box = new Outbox<number>(async (n) => {
      if (!up) throw new Error('down');
      sent.push(n);
    }, log);
    await box.submit(1);
    up = true;
    await box.submit(2);
    expect(sent).toEqual([]);
    await box.flush();
    expect(sent).toEqual([1, 2]);
    box.stop();
  });

  it('drops the oldest entry past its capacity and counts it', async () => {
    const box = new Outbox<number>(
      async () => {
        throw new Error('down');
      },
      log,
      2,
    );
    for (const n of [1, 2, 3]) await box.submit(n);
    expect(box.size).toBe(2);
    expect(box.dropped).toBe(1);
    box.stop();
  });
});
