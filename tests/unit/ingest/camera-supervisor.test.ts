import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { AppError } from '../../../core/errors.js';
import { framesReceived, streamRestarts, streamUp } from '../../../core/metrics.js';
import type { CameraFramesOptions, Frame } from '../../../ingest/camera-stream.js';
import {
  CameraSupervisor,
  ingestSettings,
  type CameraDownEvent,
  type CameraSupervisorOptions,
  type CameraUpEvent,
} from '../../../ingest/camera-supervisor.js';
import { loadConfig } from '../../../core/config.js';
import { SHUTDOWN_STOP, StopRequest } from '../../../ingest/process-control.js';

const quiet = pino({ level: 'silent' }, new Writable({ write: (_c, _e, done) => done() }));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function frame(cameraId: string, seq: number): Frame {
  return { cameraId, seq, capturedAt: Date.now(), width: 4, height: 2, data: Buffer.alloc(24) };
}

/** Waits until `predicate` holds (polling), failing after `ms`. */
async function until(predicate: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > end) throw new Error('condition not reached in time');
    await sleep(5);
  }
}

type Script = (opts: CameraFramesOptions) => AsyncGenerator<Frame>;

/** A frame source that runs the given scripts in turn, one per ffmpeg "process". */
function scripted(...scripts: Script[]) {
  const starts: CameraFramesOptions[] = [];
  let i = 0;
  const source = (opts: CameraFramesOptions): AsyncIterable<Frame> => {
    starts.push(opts);
    const script = scripts[Math.min(i++, scripts.length - 1)]!;
    return script(opts);
  };
  return { source, starts };
}

/** Emits frames every `everyMs` until aborted (then returns, like cameraFrames). */
function flowing(everyMs: number, limit = Infinity): Script {
  return async function* (opts) {
    for (let seq = 0; seq < limit && !opts.signal?.aborted; seq++) {
      const f = frame(opts.cameraId, seq);
      opts.onReceive?.(f);
      yield f;
      await sleep(everyMs);
    }
  };
}

/** A few frames, then the stream ends the way ffmpeg's does when the server dies. */
function endsAfter(frames: number): Script {
  return async function* (opts) {
    yield* flowing(5, frames)(opts);
    throw new AppError('stream_failed', 'ffmpeg exited 0 (end of stream)', { details: { end: 'ended' } });
  };
}

/** One frame, then silence until aborted (a hung server). */
const hangs: Script = async function* (opts) {
  const f = frame(opts.cameraId, 0);
  opts.onReceive?.(f);
  yield f;
  await new Promise<void>((resolve) =>
    opts.signal?.addEventListener('abort', () => resolve(), { once: true }),
  );
};

const base = {
  cameraId: 'cam-test',
  url: 'rtsp://user:pw1234@127.0.0.1/cam1',
  fps: 2,
  width: 4,
  stallTimeoutMs: 150,
  backoffMinMs: 10,
  backoffMaxMs: 40,
  maxRestartsPerMinute: 100,
  log: quiet,
  random: () => 0.5,
};

const running: CameraSupervisor[] = [];
function supervisor(opts: Partial<CameraSupervisorOptions> & Pick<CameraSupervisorOptions, 'frameSource'>) {
  const s = new CameraSupervisor({ ...base, onFrame: () => undefined, ...opts });
  running.push(s);
  return s;
}

afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.stop()));
});

const metrics = {
  camera_stream_up: streamUp,
  camera_frames_received_total: framesReceived,
  camera_stream_restarts_total: streamRestarts,
};

async function metric(name: keyof typeof metrics, labels: Record<string, string>): Promise<number> {
  const { values } = await metrics[name].get();
  const v = values.find((x) => Object.entries(labels).every(([k, val]) => x.labels[k as 'camera'] === val));
  return v?.value ?? 0;
}

describe('CameraSupervisor', () => {
  it('reports up on the first frame and hands frames to onFrame', async () => {
    const { source } = scripted(flowing(10));
    const got: number[] = [];
    const ups: CameraUpEvent[] = [];
    const s = supervisor({ cameraId: 'cam-up', frameSource: source, onFrame: (f) => void got.push(f.seq) });
    s.on('up', (e) => ups.push(e));
    s.start();
    await until(() => got.length >= 3);
    expect(ups).toHaveLength(1);
    expect(ups[0]).toMatchObject({ cameraId: 'cam-up', width: 4, height: 2, restarts: 0 });
    const st = s.status();
    expect(st.state).toBe('up');
    expect(st.framesReceived).toBeGreaterThanOrEqual(3);
    expect(st.lastFrameAt).not.toBeNull();
    expect(st.frameSize).toEqual({ width: 4, height: 2 });
    expect(await metric('camera_stream_up', { camera: 'cam-up' })).toBe(1);
    expect(await metric('camera_frames_received_total', { camera: 'cam-up' })).toBeGreaterThanOrEqual(3);
  });

  it('restarts after the stream ends: down, then up again, with the restart counted', async () => {
    const { source, starts } = scripted(endsAfter(3), flowing(10));
    const events: string[] = [];
    const downs: CameraDownEvent[] = [];
    const s = supervisor({ cameraId: 'cam-restart', frameSource: source });
    s.on('up', () => events.push('up'));
    s.on('down', (e) => {
      events.push('down');
      downs.push(e);
    });
    s.on('restart', () => events.push('restart'));
    s.start();
    await until(() => events.filter((e) => e === 'up').length === 2);
    expect(events).toEqual(['up', 'down', 'restart', 'up']);
    expect(downs[0]).toMatchObject({ reason: 'stream_ended', restarts: 0, nextAttemptInMs: 10 });
    expect(downs[0]!.error).toContain('end of stream');
    expect(starts).toHaveLength(2);
    expect(s.status()).toMatchObject({ state: 'up', restarts: 1, downReason: null });
    expect(
      await metric('camera_stream_restarts_total', { camera: 'cam-restart', reason: 'stream_ended' }),
    ).toBe(1);
  });

  it('detects a stalled stream with its watchdog and restarts ffmpeg', async () => {
    const { source, starts } = scripted(hangs, flowing(10));
    const downs: CameraDownEvent[] = [];
    const s = supervisor({ cameraId: 'cam-stall', frameSource: source });
    s.on('down', (e) => downs.push(e));
    s.start();
    await until(() => downs.length === 1);
    expect(downs[0]!.reason).toBe('stall');
    expect(starts[0]!.signal?.aborted).toBe(true);
    await until(() => s.status().state === 'up' && starts.length === 2);
  });

  it('gives the first frame of each ffmpeg stallTimeoutMs + startGraceMs', async () => {
    const silent: Script = async function* (opts) {
      await new Promise<void>((resolve) =>
        opts.signal?.addEventListener('abort', () => resolve(), { once: true }),
      );
      yield* [];
    };
    const { source } = scripted(silent);
    const downs: CameraDownEvent[] = [];
    const s = supervisor({
      cameraId: 'cam-first',
      frameSource: source,
      stallTimeoutMs: 100,
      startGraceMs: 200,
    });
    s.on('down', (e) => downs.push(e));
    const t0 = Date.now();
    s.start();
    await until(() => downs.length === 1);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(290);
    expect(downs[0]).toMatchObject({
      reason: 'stall',
      error: 'camera cam-first: no first frame within 300 ms',
    });
  });

  it('backs off exponentially while the camera stays down, and reports down only once', async () => {
    const failing: Script = async function* (opts) {
      void opts;
      yield* [];
      throw new AppError('stream_failed', 'Connection refused', { details: { end: 'failed' } });
    };
    const { source, starts } = scripted(failing);
    const downs: CameraDownEvent[] = [];
    const delays: number[] = [];
    const s = supervisor({ cameraId: 'cam-down', frameSource: source, backoffMinMs: 10, backoffMaxMs: 40 });
    s.on('down', (e) => downs.push(e));
    s.on('restart', (e) => delays.push(e.delayMs));
    s.start();
    await until(() => starts.length >= 5);
    expect(downs).toHaveLength(1);
    expect(downs[0]).toMatchObject({ reason: 'ffmpeg_failed', nextAttemptInMs: 10 });
    const st = s.status();
    expect(st.state).toBe('down');
    expect(st.lastError).toContain('Connection refused');
    expect(delays.slice(0, 4)).toEqual([10, 20, 40, 40]);
  });

  it('caps restarts per minute', async () => {
    const { source, starts } = scripted(endsAfter(1));
    const s = supervisor({ cameraId: 'cam-cap', frameSource: source, maxRestartsPerMinute: 2 });
    s.start();
    await until(() => starts.length === 3);
    await sleep(100);
    // A third restart would exceed 2 per minute: it waits for the window.
    expect(starts).toHaveLength(3);
    const st = s.status();
    expect(st.state).toBe('down');
    expect(st.nextAttemptAt! - Date.now()).toBeGreaterThan(50_000);
  });

  it('keeps going when onFrame throws, and waits for an async onFrame', async () => {
    const { source } = scripted(flowing(5));
    let calls = 0;
    let inFlight = 0;
    let maxInFlight = 0;
    const s = supervisor({
      cameraId: 'cam-consumer',
      frameSource: source,
      onFrame: async () => {
        calls++;
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        await sleep(15);
        inFlight--;
        if (calls % 2 === 0) throw new Error('detector hiccup');
      },
    });
    s.start();
    await until(() => calls >= 5);
    expect(maxInFlight).toBe(1);
    expect(s.status().state).toBe('up');
  });

  it('stops cleanly: the source is aborted, state stopped, stream_up 0', async () => {
    const { source, starts } = scripted(flowing(10));
    const s = supervisor({ cameraId: 'cam-stop', frameSource: source });
    let stopped = 0;
    s.on('stopped', () => stopped++);
    s.start();
    await until(() => s.status().state === 'up');
    await s.stop();
    await s.stop();
    expect(starts[0]!.signal?.aborted).toBe(true);
    expect(s.status().state).toBe('stopped');
    expect(stopped).toBe(1);
    expect(await metric('camera_stream_up', { camera: 'cam-stop' })).toBe(0);
  });

  it('passes stop grace periods to the source as the abort reason, and reports how ffmpeg ended', async () => {
    // A source that ends its "ffmpeg" the way cameraFrames does: on abort, and says how.
    const ends: Script = async function* (opts) {
      yield* flowing(10)(opts);
      opts.onStopped?.(opts.signal?.reason instanceof StopRequest ? 'sigterm' : 'quit');
    };
    const { source, starts } = scripted(ends);
    const s = supervisor({ cameraId: 'cam-stop-fast', frameSource: source });
    s.start();
    await until(() => s.status().state === 'up');
    expect(await s.stop(SHUTDOWN_STOP)).toBe('sigterm');
    expect((starts[0]!.signal?.reason as StopRequest).options).toEqual(SHUTDOWN_STOP);
    // Nothing running: nothing to end.
    expect(await s.stop()).toBe('none');
  });

  it('survives a throwing event listener', async () => {
    const { source } = scripted(endsAfter(2), flowing(10));
    const s = supervisor({ cameraId: 'cam-listener', frameSource: source });
    let ups = 0;
    s.on('up', () => {
      ups++;
      throw new Error('listener bug');
    });
    s.on('down', () => {
      throw new Error('listener bug');
    });
    s.start();
    await until(() => ups === 2);
    expect(s.status().state).toBe('up');
  });

  it('stops once when stop() is called concurrently', async () => {
    const { source } = scripted(flowing(10));
    const s = supervisor({ cameraId: 'cam-stop2', frameSource: source });
    let stopped = 0;
    s.on('stopped', () => stopped++);
    s.start();
    await until(() => s.status().state === 'up');
    await Promise.all([s.stop(), s.stop(), s.stop()]);
    expect(stopped).toBe(1);
  });

  it('never puts the camera password in events or status', async () => {
    const failing: Script = async function* (opts) {
      void opts;
      yield* [];
      throw new AppError('stream_failed', `401 from ${base.url}`, { details: { end: 'failed' } });
    };
    const { source } = scripted(failing);
    const downs: CameraDownEvent[] = [];
    const s = supervisor({ cameraId: 'cam-secret', frameSource: source });
    s.on('down', (e) => downs.push(e));
    s.start();
    await until(() => downs.length === 1);
    expect(JSON.stringify(downs) + JSON.stringify(s.status())).not.toContain('pw1234');
  });
});

describe('ingestSettings', () => {
  it('takes the ingest keys of the configuration', () => {
    const config = loadConfig({ INGEST_FPS: '5', INGEST_WIDTH: '320', INGEST_STALL_TIMEOUT_MS: '4000' });
    expect(ingestSettings(config)).toEqual({
      fps: 5,
      width: 320,
      stallTimeoutMs: 4000,
      backoffMinMs: 1000,
      backoffMaxMs: 30_000,
      maxRestartsPerMinute: 6,
    });
  });
});
