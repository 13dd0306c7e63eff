import { describe, expect, it } from 'vitest';
import { FrameAssembler } from '../../../ingest/frame-assembler.js';

/** Frames of `size` bytes where every byte of frame i is i. */
function stream(frames: number, size: number): Buffer {
  const out = Buffer.alloc(frames * size);
  for (let i = 0; i < frames; i++) out.fill(i, i * size, (i + 1) * size);
  return out;
}

function split(buf: Buffer, sizes: number[]): Buffer[] {
  const chunks: Buffer[] = [];
  let offset = 0;
  let i = 0;
  while (offset < buf.length) {
    const n = sizes[i++ % sizes.length]!;
    chunks.push(buf.subarray(offset, offset + n));
    offset += n;
  }
  return chunks;
}

describe('FrameAssembler', () => {
  it.each([
    ['one byte at a time', [1]],
    ['chunks smaller than a frame', [7, 3, 11]],
    ['chunks holding several frames and a part', [25, 2, 40]],
    ['exact frame-sized chunks', [12]],
  ])('cuts exact frames whatever the chunk boundaries: %s', (_name, sizes) => {
    const frames: Buffer[] = [];
    const a = new FrameAssembler((f) => frames.push(f));
    a.setFrameSize(12);
    for (const c of split(stream(9, 12), sizes)) a.push(c);
    expect(frames).toHaveLength(9);
    frames.forEach((f, i) => {
      expect(f.length).toBe(12);
      expect([...f].every((b) => b === i)).toBe(true);
    });
    expect(a.pendingBytes).toBe(0);
  });

  it('keeps a partial frame until the rest arrives', () => {
    const frames: Buffer[] = [];
    const a = new FrameAssembler((f) => frames.push(f));
    a.setFrameSize(10);
    a.push(Buffer.alloc(15, 1));
    expect(frames).toHaveLength(1);
    expect(a.pendingBytes).toBe(5);
    a.push(Buffer.alloc(5, 2));
    expect(frames).toHaveLength(2);
    expect([...frames[1]!]).toEqual([1, 1, 1, 1, 1, 2, 2, 2, 2, 2]);
  });

  it('hands out buffers that later chunks do not overwrite', () => {
    const frames: Buffer[] = [];
    const a = new FrameAssembler((f) => frames.push(f));
    a.setFrameSize(4);
    const chunk = Buffer.from([1, 2, 3, 4]);
    a.push(chunk);
    chunk.fill(9);
    a.push(chunk);
    expect([...frames[0]!]).toEqual([1, 2, 3, 4]);
    expect([...frames[1]!]).toEqual([9, 9, 9, 9]);
  });

  it('holds bytes that arrive before the frame size is known, then cuts them', () => {
    const frames: Buffer[] = [];
    const a = new FrameAssembler((f) => frames.push(f));
    for (const c of split(stream(3, 6), [4])) a.push(c);
    expect(frames).toHaveLength(0);
    expect(a.pendingBytes).toBe(18);
    a.setFrameSize(6);
    expect(frames.map((f) => f[0])).toEqual([0, 1, 2]);
  });

  it('refuses to hold more than its bound before the size is known', () => {
    const a = new FrameAssembler(() => undefined, 100);
    a.push(Buffer.alloc(60));
    expect(() => a.push(Buffer.alloc(60))).toThrow(/before the frame size was known/);
  });

  it('rejects a second, different frame size', () => {
    const a = new FrameAssembler(() => undefined);
    a.setFrameSize(6);
    expect(() => a.setFrameSize(6)).not.toThrow();
    expect(() => a.setFrameSize(8)).toThrow(/already set/);
    expect(() => new FrameAssembler(() => undefined).setFrameSize(0)).toThrow(RangeError);
  });
});
