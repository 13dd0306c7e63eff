import { afterEach, describe, expect, it } from 'vitest';
import type { Frame } from '../../../ingest/camera-stream.js';
import {
  CameraSupervisor,
  type CameraDownEvent,
  type CameraSupervisorOptions,
  type CameraUpEvent,
} from '../../../ingest/camera-supervisor.js';
import { log, missing, nextEvent, simClip, startFleet, stopFleets, until } from './sim-env.js';

const supervisors: CameraSupervisor[] = [];

function supervise(url: string, overrides: Partial<CameraSupervisorOptions> = {}) {
  const frames: Frame[] = [];
  const s = new CameraSupervisor({
    cameraId: `it-${supervisors.length}`,
    url,
    fps: 5,
    width: 320,
    stallTimeoutMs: 5000,
    backoffMinMs: 200,
    backoffMaxMs: 1000,
    maxRestartsPerMinute: 60,
    log,
    onFrame: (f) => {
      frames.push(f);
      if (frames.length > 50) frames.shift();
    },
    ...overrides,
  });
  supervisors.push(s);
  return { s, frames };
}

afterEach(async () => {
  await Promise.all(supervisors.splice(0).map((s) => s.stop()));
  await stopFleets();
});

describe.skipIf(missing)('CameraSupervisor against the simulated RTSP cameras', () => {
  it('reports down when the server dies and up again when it returns on the same port', async () => {
    const clip = await simClip();
    const first = await startFleet({ count: 1, port: 0, clip });
    const { s } = supervise(first.urls[0]!);
    const up = nextEvent<CameraUpEvent>(s, 'up', 20_000);
    s.start();
    expect(await up).toMatchObject({ width: 320, height: 180, restarts: 0 });
    await until(() => s.status().framesReceived >= 5, 10_000, 'five frames');

    const down = nextEvent<CameraDownEvent>(s, 'down', 10_000);
    process.kill(first.pid, 'SIGKILL');
    await first.exited;
    const d = await down;
    // ffmpeg exits 0 when its server dies: the end of the stream is the failure, not a stall.
    expect(d.reason).toBe('stream_ended');
    expect(s.status().state).toBe('down');

    // Reconnects are refused meanwhile; the supervisor keeps retrying with backoff.
    await until(() => s.status().restarts >= 2, 10_000, 'two restarts while the server is away');
    const received = s.status().framesReceived;
    const again = nextEvent<CameraUpEvent>(s, 'up', 20_000);
    await startFleet({ count: 1, port: first.port, clip });
    const u = await again;
    expect(u.restarts).toBeGreaterThanOrEqual(2);
    await until(() => s.status().framesReceived >= received + 5, 10_000, 'frames after the return');
    const st = s.status();
    expect(st).toMatchObject({ state: 'up', downReason: null, frameSize: { width: 320, height: 180 } });
    expect(st.fps).toBeGreaterThan(0);
  });

  it('notices a stalled stream with its watchdog and recovers once the server resumes', async () => {
    const fleet = await startFleet({ count: 1, port: 0, clip: await simClip() });
    // ffmpeg's own socket timeout far above the watchdog's: the watchdog must be what notices.
    const { s } = supervise(fleet.urls[0]!, { stallTimeoutMs: 2000, ioTimeoutMs: 60_000 });
    const up = nextEvent<CameraUpEvent>(s, 'up', 20_000);
    s.start();
    await up;
    await until(() => s.status().framesReceived >= 3, 10_000, 'three frames');

    const down = nextEvent<CameraDownEvent>(s, 'down', 10_000);
    process.kill(fleet.pid, 'SIGSTOP'); // the server hangs: connections stay open, nothing is sent
    const d = await down;
    expect(d.reason).toBe('stall');
    expect(d.at - d.lastFrameAt!).toBeGreaterThanOrEqual(1900);

    const again = nextEvent<CameraUpEvent>(s, 'up', 30_000);
    process.kill(fleet.pid, 'SIGCONT');
    await again;
    const received = s.status().framesReceived;
    await until(() => s.status().framesReceived >= received + 3, 10_000, 'frames after the stall');
  });

  it('stops cleanly: no restart after stop and the state is stopped', async () => {
    const fleet = await startFleet({ count: 1, port: 0, clip: await simClip() });
    const { s, frames } = supervise(fleet.urls[0]!);
    const up = nextEvent<CameraUpEvent>(s, 'up', 20_000);
    s.start();
    await up;
    await s.stop();
    const count = frames.length;
    await new Promise((r) => setTimeout(r, 700));
    expect(frames.length).toBe(count);
    expect(s.status()).toMatchObject({ state: 'stopped', restarts: 0 });
  });
});
