/**
 * tools/scenarios/clip-frames.ts on clips ffmpeg makes here: every frame at the asked rate, in order,
 * with back-pressure (a slow consumer loses nothing), and a clear error for a file that is not video.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clipFrames } from '../../../tools/scenarios/clip-frames.js';

const run = promisify(execFile);
const ffmpeg = await run('ffmpeg', ['-version']).then(
  () => true,
  () => false,
);
if (!ffmpeg) console.warn('[clip-frames] skipped: ffmpeg is not installed');

describe.skipIf(!ffmpeg)('clipFrames', () => {
  let dir: string;
  let clip: string;
  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pn-clip-frames-'));
    clip = path.join(dir, 'clip.mp4');
    // 3 s at 25 fps, 320×180, H.264.
    await run('ffmpeg', [
      ...[
        '-hide_banner',
        '-loglevel',
        'error',
        '-f',
        'lavfi',
        '-i',
        'testsrc2=size=320x180:rate=25:duration=3',
      ],
      ...['-c:v', 'libx264', '-pix_fmt', 'yuv420p', clip],
    ]);
  });
  afterAll(() => fs.rm(dir, { recursive: true, force: true }));

  it('yields every frame at the asked rate and size, also to a slow consumer', async () => {
    const frames = [];
    for await (const f of clipFrames(clip, { fps: 2, width: 160 })) {
      frames.push({ index: f.index, atMs: f.atMs, width: f.width, height: f.height, bytes: f.data.length });
      await new Promise((r) => setTimeout(r, 50)); // slower than ffmpeg: back-pressure, nothing dropped
    }
    expect(frames.map((f) => f.index)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(frames.map((f) => f.atMs)).toEqual([0, 500, 1000, 1500, 2000, 2500]);
    for (const f of frames) {
      expect([f.width, f.height]).toEqual([160, 90]);
      expect(f.bytes).toBe(160 * 90 * 3);
    }
  });

  it('stops ffmpeg when the consumer stops early', async () => {
    const seen: number[] = [];
    for await (const f of clipFrames(clip, { fps: 25, width: 160 })) {
      seen.push(f.index);
      if (seen.length === 3) break;
    }
    expect(seen).toEqual([0, 1, 2]);
    // No ffmpeg left reading the clip.
    const alive = async () =>
      (await run('ps', ['-eo', 'args'])).stdout.split('\n').some((l) => l.includes(clip));
    for (let i = 0; i < 20 && (await alive()); i++) await new Promise((r) => setTimeout(r, 100));
    expect(await alive()).toBe(false);
  });

  it('refuses a file that is not video with ffmpeg’s reason', async () => {
    const bad = path.join(dir, 'not-video.mp4');
    await fs.writeFile(bad, 'this is not a video');
    const drain = async () => {
      for await (const f of clipFrames(bad, { fps: 2, width: 160 })) void f;
    };
    await expect(drain()).rejects.toThrow(/could not decode .*not-video\.mp4/);
  });
});
