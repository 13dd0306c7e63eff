/**
 * INGEST_DECODE, the opt-in decode levers of ingest/ffmpeg-adapter.ts and ingest/camera-supervisor.ts
 * (here beside the fleet benchmark that measures them).
 */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../core/config.js';
import type { CameraFramesOptions, Frame } from '../../../ingest/camera-stream.js';
import { CameraSupervisor, ingestSettings } from '../../../ingest/camera-supervisor.js';
import { decoderOptions, ffmpegReadArgs, videoFilter } from '../../../ingest/ffmpeg-adapter.js';
import { createLogger } from '../../../core/logger.js';

const rtsp = { url: 'rtsp://127.0.0.1:8554/cam1', fps: 2, width: 640, ioTimeoutMs: 10_000 };
const beforeInput = (args: string[]) => args.slice(0, args.indexOf('-i'));
const valueOf = (args: string[], flag: string) => args[args.indexOf(flag) + 1];

describe('decode modes', () => {
  it('leaves the arguments as they were without a mode or with all', () => {
    const plain = ffmpegReadArgs(rtsp);
    expect(ffmpegReadArgs({ ...rtsp, decode: 'all' })).toEqual(plain);
    expect(plain).not.toContain('-skip_frame');
    expect(valueOf(plain, '-vf')).toBe('fps=2,scale=w=640:h=trunc(ow/dar/2)*2,setsar=1');
  });

  it('keyframes: decodes only keyframes, on one thread, and never repeats a frame to fill the rate', () => {
    const args = ffmpegReadArgs({ ...rtsp, decode: 'keyframes' });
    const input = beforeInput(args);
    expect(valueOf(input, '-skip_frame')).toBe('nokey');
    expect(valueOf(input, '-threads')).toBe('1');
    const vf = valueOf(args.slice(args.indexOf('-i')), '-vf')!;
    expect(vf).toBe(
      "select='isnan(prev_selected_t)+gte(t-prev_selected_t,0.45)',scale=w=640:h=trunc(ow/dar/2)*2,setsar=1",
    );
    expect(vf).not.toMatch(/fps=/);
    expect(videoFilter(1, 320, 'keyframes')).toMatch(/gte\(t-prev_selected_t,0\.9\)/);
    expect(videoFilter(0.5, 320, 'keyframes')).toMatch(/gte\(t-prev_selected_t,1\.8\)/);
  });

  it('reduced: every frame through the fps filter, one thread, no deblocking, fast flags', () => {
    const args = ffmpegReadArgs({ ...rtsp, decode: 'reduced' });
    const input = beforeInput(args);
    expect(valueOf(input, '-skip_loop_filter')).toBe('all');
    expect(valueOf(input, '-flags2')).toBe('fast');
    expect(valueOf(input, '-threads')).toBe('1');
    expect(input).not.toContain('-skip_frame');
    expect(valueOf(args, '-vf')).toMatch(/^fps=2,/);
  });

  it('puts decoder options before the input for files too, and refuses an unknown mode', () => {
    const file = ffmpegReadArgs({ ...rtsp, url: '/data/clip.mp4', decode: 'keyframes' });
    expect(beforeInput(file)).toEqual(expect.arrayContaining(['-skip_frame', 'nokey', '-re']));
    expect(() => ffmpegReadArgs({ ...rtsp, decode: 'half' as never })).toThrow(RangeError);
    expect(decoderOptions()).toEqual([]);
  });
});

describe('INGEST_DECODE', () => {
  it('defaults to all, which ingestSettings does not carry', () => {
    const config = loadConfig({});
    expect(config.INGEST_DECODE).toBe('all');
    expect(ingestSettings(config)).not.toHaveProperty('decode');
  });

  it('carries an opt-in mode to the supervisor and refuses unknown ones', () => {
    expect(ingestSettings(loadConfig({ INGEST_DECODE: 'keyframes' })).decode).toBe('keyframes');
    expect(() => loadConfig({ INGEST_DECODE: 'nokey' })).toThrow(/INGEST_DECODE/);
  });
});

describe('CameraSupervisor with a decode mode', () => {
  async function sourceOptions(decode: 'all' | 'keyframes' | undefined): Promise<CameraFramesOptions> {
    let seen: CameraFramesOptions | undefined;
    // eslint-disable-next-line require-yield
    async function* source(opts: CameraFramesOptions): AsyncGenerator<Frame> {
      seen = opts;
      await new Promise<void>((resolve) => opts.signal?.addEventListener('abort', () => resolve()));
    }
    const s = new CameraSupervisor({
      cameraId: 'cam-decode',
      url: 'rtsp://127.0.0.1/x',
      fps: 2,
      width: 64,
      stallTimeoutMs: 60_000,
      backoffMinMs: 100,
      backoffMaxMs: 1000,
      maxRestartsPerMinute: 6,
      ...(decode ? { decode } : {}),
      log: createLogger({ level: 'silent' }),
      onFrame: () => undefined,
      frameSource: source,
    });
    s.start();
    while (!seen) await new Promise((r) => setTimeout(r, 5));
    await s.stop();
    return seen;
  }

  it('starts ffmpeg through its own starter only for an opt-in mode', async () => {
    expect((await sourceOptions(undefined)).startProcess).toBeUndefined();
    expect((await sourceOptions('all')).startProcess).toBeUndefined();
    expect(typeof (await sourceOptions('keyframes')).startProcess).toBe('function');
  });
});
