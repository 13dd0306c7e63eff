import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SHUTDOWN_STOP, stopProcess, type Stoppable } from '../../../ingest/process-control.js';

/** A fake process that exits on the quit request or on the given number of signals of a kind. */
function fakeProcess(diesOn: { quit?: boolean; SIGTERM?: number; SIGKILL?: number }, alreadyExited = false) {
  const calls: string[] = [];
  const received = new Map<string, number>();
  let exit!: () => void;
  let status: unknown = alreadyExited ? { code: 0 } : undefined;
  const exited = new Promise<void>((resolve) => {
    exit = () => {
      status = { code: 0 };
      resolve();
    };
  });
  if (alreadyExited) exit();
  const proc: Stoppable = {
    exited,
    exitStatus: () => status,
    requestQuit: () => {
      calls.push('quit');
      if (diesOn.quit) setTimeout(exit, 100);
    },
    kill: (signal) => {
      calls.push(signal);
      const n = (received.get(signal) ?? 0) + 1;
      received.set(signal, n);
      const needed =
        signal === 'SIGTERM' ? diesOn.SIGTERM : signal === 'SIGKILL' ? diesOn.SIGKILL : undefined;
      if (needed !== undefined && n >= needed) setTimeout(exit, 10);
      return true;
    },
  };
  return { proc, calls };
}

describe('stopProcess', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('asks politely first and stops there when the process quits', async () => {
    const { proc, calls } = fakeProcess({ quit: true });
    const outcome = stopProcess(proc, { quitGraceMs: 1000 });
    await vi.advanceTimersByTimeAsync(200);
    expect(await outcome).toBe('quit');
    expect(calls).toEqual(['quit']);
  });

  it('escalates to SIGTERM after the quit grace period', async () => {
    const { proc, calls } = fakeProcess({ SIGTERM: 1 });
    const outcome = stopProcess(proc, { quitGraceMs: 1000, termGraceMs: 1000 });
    await vi.advanceTimersByTimeAsync(999);
    expect(calls).toEqual(['quit']);
    await vi.advanceTimersByTimeAsync(100);
    expect(await outcome).toBe('sigterm');
    expect(calls).toEqual(['quit', 'SIGTERM']);
  });

  it('ends with SIGKILL when the process ignores quit and SIGTERM', async () => {
    const { proc, calls } = fakeProcess({ SIGKILL: 1 });
    const outcome = stopProcess(proc, { quitGraceMs: 500, termGraceMs: 500, killWaitMs: 500 });
    await vi.advanceTimersByTimeAsync(1100);
    expect(await outcome).toBe('sigkill');
    expect(calls).toEqual(['quit', 'SIGTERM', 'SIGTERM', 'SIGKILL']);
  });

  it('sends a second SIGTERM, which is what interrupts an ffmpeg blocked on a hung server', async () => {
    const { proc, calls } = fakeProcess({ SIGTERM: 2 });
    const outcome = stopProcess(proc, { quitGraceMs: 1000, termGraceMs: 1500 });
    await vi.advanceTimersByTimeAsync(1000 + 250 + 20);
    expect(await outcome).toBe('sigterm');
    expect(calls).toEqual(['quit', 'SIGTERM', 'SIGTERM']);
  });

  it('reports a process that survives SIGKILL instead of hanging', async () => {
    const { proc } = fakeProcess({});
    const outcome = stopProcess(proc, { quitGraceMs: 10, termGraceMs: 10, killWaitMs: 10 });
    await vi.advanceTimersByTimeAsync(50);
    expect(await outcome).toBe('unresponsive');
  });

  it('with no quit grace (shutdown) goes straight to the two SIGTERMs', async () => {
    const { proc, calls } = fakeProcess({ SIGTERM: 2 });
    const outcome = stopProcess(proc, SHUTDOWN_STOP);
    await vi.advanceTimersByTimeAsync(250 + 20);
    expect(await outcome).toBe('sigterm');
    expect(calls).toEqual(['SIGTERM', 'SIGTERM']);
  });

  it('does nothing to a process that already exited', async () => {
    const { proc, calls } = fakeProcess({}, true);
    expect(await stopProcess(proc)).toBe('already_exited');
    expect(calls).toEqual([]);
  });
});
