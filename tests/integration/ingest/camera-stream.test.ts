import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cameraFrames, type Frame } from '../../../ingest/camera-stream.js';
import { ensureSimClip, type SimulatedFleet } from '../../../ingest/sim/simulated-fleet.js';
import { freePort, log, missing, simClip, startFleet, stopFleets } from './sim-env.js';

/** Mean and standard deviation of one channel (0 = R, 1 = G, 2 = B) over a region. */
function channelStats(f: Frame, channel: number, x0: number, y0: number, w: number, h: number) {
  let sum = 0;
  let sq = 0;
  for (let y = y0; y < y0 + h; y++) {
    for (let x = x0; x < x0 + w; x++) {
      const v = f.data[(y * f.width + x) * 3 + channel]!;
      sum += v;
      sq += v * v;
    }
  }
  const n = w * h;
  const mean = sum / n;
  return { mean, sd: Math.sqrt(Math.max(0, sq / n - mean * mean)) };
}

async function take(gen: AsyncGenerator<Frame>, n: number): Promise<Frame[]> {
  const frames: Frame[] = [];
  for await (const f of gen) {
    frames.push(f);
    if (frames.length === n) break;
  }
  return frames;
}

describe.skipIf(missing)('cameraFrames against the simulated RTSP cameras', () => {
  let fleet: SimulatedFleet;
  let synthetic: string;
  let tmp: string;

  beforeAll(async () => {
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'pn-cam-'));
    // cam1 loops the car-park clip (or the synthetic one without ../shared), cam2 the synthetic road.
    synthetic = await ensureSimClip({ dataDir: tmp, sharedDir: path.join(tmp, 'none'), log });
    fleet = await startFleet({ count: 2, port: 0, clips: [await simClip(), synthetic] });
  });

  afterAll(async () => {
    await stopFleets();
    await fs.rm(tmp, { recursive: true, force: true });
  });

  it('serves /cam1 and /cam2 on the port it reports', () => {
    expect(fleet.urls).toEqual([
      `rtsp://127.0.0.1:${fleet.port}/cam1`,
      `rtsp://127.0.0.1:${fleet.port}/cam2`,
    ]);
  });

  it('receives frames of the requested width and even height from two cameras at once', async () => {
    const [one, two] = await Promise.all(
      fleet.urls.map((url, i) =>
        take(cameraFrames({ cameraId: `cam${i + 1}`, url, fps: 5, width: 320, log }), 4),
      ),
    );
    for (const [i, frames] of [one!, two!].entries()) {
      expect(frames).toHaveLength(4);
      for (const f of frames) {
        expect(f.cameraId).toBe(`cam${i + 1}`);
        expect(f.width).toBe(320);
        expect(f.height).toBe(180); // both clips are 16:9
        expect(f.data.length).toBe(320 * 180 * 3);
      }
      const seqs = frames.map((f) => f.seq);
      expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
      expect(frames.at(-1)!.capturedAt).toBeGreaterThanOrEqual(frames[0]!.capturedAt);
      // A picture, not a flat fill.
      expect(channelStats(frames.at(-1)!, 1, 0, 0, 320, 180).sd).toBeGreaterThan(10);
    }
    // cam2 is the synthetic road: its top rows are the green verge, so RGB order is right (not BGR).
    const verge = [0, 1, 2].map((c) => channelStats(two!.at(-1)!, c, 20, 5, 100, 20).mean);
    expect(verge[1]!).toBeGreaterThan(verge[0]! + 20);
    expect(verge[1]!).toBeGreaterThan(verge[2]! + 20);
  });

  it('gives a slow consumer the newest frame and counts the drops', async () => {
    let dropped = 0;
    const gen = cameraFrames({
      cameraId: 'slow',
      url: fleet.urls[0]!,
      fps: 10,
      width: 160,
      log,
      onDrop: (_f, total) => (dropped = total),
    });
    const seqs: number[] = [];
    for await (const f of gen) {
      seqs.push(f.seq);
      if (seqs.length === 3) break;
      await new Promise((r) => setTimeout(r, 1000)); // a detector much slower than the camera
    }
    expect(dropped).toBeGreaterThanOrEqual(5);
    // Gaps in seq are the frames that were replaced while the consumer was busy.
    expect(seqs[2]! - seqs[1]!).toBeGreaterThan(3);
  });

  it('fails with stream_failed when nothing listens at the URL', async () => {
    const url = `rtsp://127.0.0.1:${await freePort()}/cam1`;
    await expect(
      take(cameraFrames({ cameraId: 'nobody', url, fps: 2, width: 160, log }), 1),
    ).rejects.toMatchObject({
      code: 'stream_failed',
      details: { end: 'failed' },
    });
  });

  it('fails with start_failed when the ffmpeg binary does not exist', async () => {
    const gen = cameraFrames({
      cameraId: 'no-binary',
      url: fleet.urls[0]!,
      fps: 2,
      width: 160,
      log,
      ffmpegPath: '/nonexistent/bin/ffmpeg',
    });
    await expect(take(gen, 1)).rejects.toMatchObject({
      code: 'stream_failed',
      details: { end: 'start_failed' },
    });
  });

  it('fails with stream_failed for a mount that does not exist', async () => {
    const url = fleet.urls[0]!.replace('/cam1', '/cam99');
    await expect(
      take(cameraFrames({ cameraId: 'ghost', url, fps: 2, width: 160, log }), 1),
    ).rejects.toMatchObject({
      code: 'stream_failed',
    });
  });
});
