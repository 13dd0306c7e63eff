import { PassThrough, Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { isAppError, type AppError } from '../../../core/errors.js';
import { cameraFrames, scrubSecrets, type Frame } from '../../../ingest/camera-stream.js';
import { SHUTDOWN_STOP, StopRequest, type StopOutcome } from '../../../ingest/process-control.js';
import type {
  FfmpegExit,
  FfmpegProcess,
  FfmpegReadOptions,
  FfmpegStartHooks,
} from '../../../ingest/ffmpeg-adapter.js';

const URL_WITH_SECRET = 'rtsp://admin:s3cr3t-pw@10.1.2.3:554/Streaming/Channels/101';
const W = 4;
const H = 2;
const FRAME = W * H * 3;

/** An ffmpeg stand-in: stdout and stderr are driven by the test. */
function fakeFfmpeg(opts: { quitEndsIt?: boolean } = {}) {
  const stdout = new PassThrough();
  const calls: string[] = [];
  let hooks: FfmpegStartHooks | undefined;
  let started: FfmpegReadOptions | undefined;
  let status: FfmpegExit | undefined;
  let resolveExit!: (e: FfmpegExit) => void;
  const exited = new Promise<FfmpegExit>((r) => (resolveExit = r));
  const end = (exit: FfmpegExit) => {
    if (status) return;
    status = exit;
    stdout.end();
    resolveExit(exit);
  };
  const proc: FfmpegProcess = {
    pid: 4242,
    stdout,
    exited,
    exitStatus: () => status,
    requestQuit: () => {
      calls.push('quit');
      if (opts.quitEndsIt !== false) setImmediate(() => end({ code: 0, signal: null }));
    },
    kill: (signal) => {
      calls.push(signal);
      setImmediate(() => end({ code: null, signal }));
      return true;
    },
  };
  return {
    calls,
    end,
    startProcess: async (o: FfmpegReadOptions, h: FfmpegStartHooks) => {
      started = o;
      hooks = h;
      return proc;
    },
    get options() {
      return started;
    },
    stderr(...lines: string[]) {
      for (const l of lines) hooks!.onStderrLine(l);
    },
    announce(width = W, height = H) {
      this.stderr(
        `Input #0, rtsp, from '${URL_WITH_SECRET}':`,
        "Output #0, rawvideo, to 'pipe:1':",
        `  Stream #0:0: Video: rawvideo (RGB[24] / 0x18424752), rgb24(pc, progressive), ${width}x${height}, q=2-31`,
      );
    },
    write(...frames: number[]) {
      for (const f of frames) stdout.write(Buffer.alloc(FRAME, f));
    },
  };
}

const tick = () => new Promise((r) => setImmediate(r));

function capture() {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  return { log: pino({ level: 'debug' }, sink), lines };
}

describe('cameraFrames', () => {
  it('yields exact RGB24 frames with camera id, sequence, size and arrival time', async () => {
    const ff = fakeFfmpeg();
    const gen = cameraFrames({
      cameraId: 'cam-7',
      url: URL_WITH_SECRET,
      fps: 2,
      width: W,
      startProcess: ff.startProcess,
      log: capture().log,
    });
    const first = gen.next();
    await tick();
    ff.announce();
    // One frame and a half, then the rest: chunk boundaries do not matter.
    ff.write(1);
    await tick();
    const { value } = await first;
    const frame = value as Frame;
    expect(frame).toMatchObject({ cameraId: 'cam-7', seq: 0, width: W, height: H });
    expect(frame.data.length).toBe(FRAME);
    expect(frame.data.every((b) => b === 1)).toBe(true);
    expect(Math.abs(frame.capturedAt - Date.now())).toBeLessThan(5000);
    expect(ff.options).toMatchObject({ url: URL_WITH_SECRET, fps: 2, width: W });
    await gen.return();
  });

  it('gives a slow consumer the newest frame and counts the ones it replaced', async () => {
    const ff = fakeFfmpeg();
    const drops: number[] = [];
    const received: number[] = [];
    const gen = cameraFrames({
      cameraId: 'c',
      url: 'rtsp://127.0.0.1/cam1',
      fps: 2,
      width: W,
      startProcess: ff.startProcess,
      log: capture().log,
      onDrop: (f) => drops.push(f.seq),
      onReceive: (f) => received.push(f.seq),
    });
    const first = gen.next();
    await tick();
    ff.announce();
    ff.write(0);
    expect(((await first).value as Frame).seq).toBe(0);
    // The consumer is busy: five frames arrive meanwhile.
    ff.write(1, 2, 3, 4, 5);
    await tick();
    const next = (await gen.next()).value as Frame;
    expect(next.seq).toBe(5);
    expect(next.data[0]).toBe(5);
    expect(drops).toEqual([1, 2, 3, 4]);
    expect(received).toEqual([0, 1, 2, 3, 4, 5]);
    await gen.return();
  });

  it('treats an end of stream with exit code 0 as a failure, naming what ffmpeg said without secrets', async () => {
    const ff = fakeFfmpeg();
    const gen = cameraFrames({
      cameraId: 'c',
      url: URL_WITH_SECRET,
      fps: 2,
      width: W,
      startProcess: ff.startProcess,
      log: capture().log,
    });
    const first = gen.next();
    await tick();
    ff.announce();
    ff.write(9);
    await first;
    ff.stderr(`[rtsp @ 0x1] method PAUSE failed for ${URL_WITH_SECRET}`);
    ff.end({ code: 0, signal: null });
    const err = await gen.next().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isAppError(err)).toBe(true);
    const appErr = err as AppError;
    expect(appErr.code).toBe('stream_failed');
    expect(appErr.details).toMatchObject({ end: 'ended', exitCode: 0, frames: 1 });
    expect(appErr.message).toContain('exited 0');
    expect(JSON.stringify(appErr.details) + appErr.message).not.toContain('s3cr3t');
  });

  it('reports a non-zero exit before any frame as a failed stream', async () => {
    const ff = fakeFfmpeg();
    const gen = cameraFrames({
      cameraId: 'c',
      url: 'rtsp://127.0.0.1:1/x',
      fps: 2,
      width: W,
      startProcess: ff.startProcess,
      log: capture().log,
    });
    const first = gen.next();
    await tick();
    ff.stderr('[tcp @ 0x1] Connection to tcp://127.0.0.1:1?timeout=10000000 failed: Connection refused');
    ff.end({ code: 1, signal: null });
    await expect(first).rejects.toMatchObject({
      code: 'stream_failed',
      details: { end: 'failed', exitCode: 1 },
    });
  });

  it('delivers a frame that was pending when the stream ended before failing', async () => {
    const ff = fakeFfmpeg();
    const gen = cameraFrames({
      cameraId: 'c',
      url: 'rtsp://h/x',
      fps: 2,
      width: W,
      startProcess: ff.startProcess,
      log: capture().log,
    });
    const first = gen.next();
    await tick();
    ff.announce();
    ff.write(1);
    await first;
    ff.write(2);
    ff.end({ code: 0, signal: null });
    await tick();
    expect(((await gen.next()).value as Frame).data[0]).toBe(2);
    await expect(gen.next()).rejects.toMatchObject({ code: 'stream_failed' });
  });

  it('ends ffmpeg when the consumer stops iterating', async () => {
    const ff = fakeFfmpeg();
    const gen = cameraFrames({
      cameraId: 'c',
      url: 'rtsp://h/x',
      fps: 2,
      width: W,
      startProcess: ff.startProcess,
      log: capture().log,
    });
    const first = gen.next();
    await tick();
    ff.announce();
    ff.write(1);
    await first;
    await gen.return();
    expect(ff.calls).toEqual(['quit']);
  });

  it('escalates to signals when ffmpeg ignores the quit request', async () => {
    const ff = fakeFfmpeg({ quitEndsIt: false });
    const gen = cameraFrames({
      cameraId: 'c',
      url: 'rtsp://h/x',
      fps: 2,
      width: W,
      startProcess: ff.startProcess,
      log: capture().log,
      stop: { quitGraceMs: 5, termGraceMs: 5, killWaitMs: 50 },
    });
    const first = gen.next();
    await tick();
    ff.announce();
    ff.write(1);
    await first;
    await gen.return();
    expect(ff.calls).toEqual(['quit', 'SIGTERM']);
  });

  it('returns without error when its signal aborts, and stops ffmpeg at once', async () => {
    const ff = fakeFfmpeg();
    const ac = new AbortController();
    const gen = cameraFrames({
      cameraId: 'c',
      url: 'rtsp://h/x',
      fps: 2,
      width: W,
      startProcess: ff.startProcess,
      signal: ac.signal,
      log: capture().log,
    });
    const first = gen.next();
    await tick();
    ff.announce();
    ff.write(1);
    await first;
    const waiting = gen.next();
    ac.abort();
    expect(await waiting).toEqual({ done: true, value: undefined });
    expect(ff.calls).toContain('quit');
  });

  it('ends ffmpeg with the grace periods of a StopRequest abort reason, and says how it ended', async () => {
    const ff = fakeFfmpeg();
    const ac = new AbortController();
    const outcomes: StopOutcome[] = [];
    const gen = cameraFrames({
      cameraId: 'c',
      url: 'rtsp://h/x',
      fps: 2,
      width: W,
      startProcess: ff.startProcess,
      signal: ac.signal,
      log: capture().log,
      onStopped: (o) => outcomes.push(o),
    });
    const first = gen.next();
    await tick();
    ff.announce();
    ff.write(1);
    await first;
    const waiting = gen.next();
    ac.abort(new StopRequest(SHUTDOWN_STOP));
    expect(await waiting).toEqual({ done: true, value: undefined });
    // No quit request: SIGTERM at once (the fake dies on the first signal).
    expect(ff.calls).toEqual(['SIGTERM']);
    expect(outcomes).toEqual(['sigterm']);
  });

  it('fails with start_failed when ffmpeg cannot be started', async () => {
    const gen = cameraFrames({
      cameraId: 'c',
      url: URL_WITH_SECRET,
      fps: 2,
      width: W,
      log: capture().log,
      startProcess: () => Promise.reject(new Error('Cannot find ffmpeg')),
    });
    await expect(gen.next()).rejects.toMatchObject({
      code: 'stream_failed',
      details: { end: 'start_failed' },
    });
  });

  it('logs ffmpeg stderr until frames flow, then stays quiet, and never logs credentials', async () => {
    const ff = fakeFfmpeg();
    const { log, lines } = capture();
    const gen = cameraFrames({
      cameraId: 'c',
      url: URL_WITH_SECRET,
      fps: 2,
      width: W,
      startProcess: ff.startProcess,
      log,
    });
    const first = gen.next();
    await tick();
    ff.stderr(`[rtsp @ 0x1] 401 Unauthorized from ${URL_WITH_SECRET}`);
    ff.announce();
    ff.write(1);
    await first;
    const before = lines.length;
    ff.stderr('[h264 @ 0x2] error while decoding MB 12 3', 'more noise');
    expect(lines.length).toBe(before);
    const all = lines.join('\n');
    expect(all).toContain('401 Unauthorized');
    expect(all).not.toContain('s3cr3t');
    expect(all).not.toContain('admin:');
    await gen.return();
  });
});

describe('scrubSecrets', () => {
  it('removes the URL credentials, any user:password@ and the bare password', () => {
    const line = `failed ${URL_WITH_SECRET} via rtsp://bob:hunter22@other/x, password s3cr3t-pw`;
    const out = scrubSecrets(line, URL_WITH_SECRET);
    expect(out).not.toMatch(/s3cr3t|hunter22|admin|bob/);
    expect(out).toContain('10.1.2.3:554/Streaming/Channels/101');
  });

  it('handles percent-encoded passwords and file paths', () => {
    const url = 'rtsp://u:p%40ss%21word@cam/1';
    expect(scrubSecrets('auth p@ss!word rejected', url)).toBe('auth *** rejected');
    expect(scrubSecrets('/data/clip.mp4: No such file', '/data/clip.mp4')).toBe(
      '/data/clip.mp4: No such file',
    );
  });
});
