import { describe, expect, it } from 'vitest';
import { LatestSlot } from '../../../ingest/latest-slot.js';

describe('LatestSlot (newest wins)', () => {
  it('gives the newest value to a slow consumer and counts the replaced ones', async () => {
    const slot = new LatestSlot<number>();
    expect(slot.put(1)).toBeUndefined();
    expect(slot.put(2)).toBe(1);
    expect(slot.put(3)).toBe(2);
    expect(slot.replaced).toBe(2);
    expect(await slot.take()).toEqual({ done: false, value: 3 });
  });

  it('wakes a waiting consumer on put', async () => {
    const slot = new LatestSlot<string>();
    const next = slot.take();
    slot.put('a');
    expect(await next).toEqual({ done: false, value: 'a' });
    expect(slot.replaced).toBe(0);
  });

  it('delivers the pending value before reporting the close error', async () => {
    const slot = new LatestSlot<number>();
    slot.put(7);
    slot.close(new Error('stream ended'));
    expect(await slot.take()).toEqual({ done: false, value: 7 });
    await expect(slot.take()).rejects.toThrow('stream ended');
    await expect(slot.take()).rejects.toThrow('stream ended');
  });

  it('reports done after a close without error, and ignores later puts', async () => {
    const slot = new LatestSlot<number>();
    const waiting = slot.take();
    slot.close();
    expect(await waiting).toEqual({ done: true, value: undefined });
    expect(slot.put(1)).toBeUndefined();
    expect(await slot.take()).toEqual({ done: true, value: undefined });
  });

  it('keeps the first close only', async () => {
    const slot = new LatestSlot<number>();
    slot.close(new Error('first'));
    slot.close(new Error('second'));
    await expect(slot.take()).rejects.toThrow('first');
  });

  it('drops a pending value on clear without counting it as replaced', async () => {
    const slot = new LatestSlot<number>();
    slot.put(1);
    slot.clear();
    slot.close();
    expect(slot.replaced).toBe(0);
    expect(await slot.take()).toEqual({ done: true, value: undefined });
  });

  it('refuses a second concurrent consumer', async () => {
    const slot = new LatestSlot<number>();
    const first = slot.take();
    await expect(slot.take()).rejects.toThrow(/one consumer/);
    slot.put(1);
    expect(await first).toEqual({ done: false, value: 1 });
  });
});
