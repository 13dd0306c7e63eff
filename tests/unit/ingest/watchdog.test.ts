import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Watchdog } from '../../../ingest/watchdog.js';

describe('Watchdog', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('fires once after the timeout without a sign of life', () => {
    const onStall = vi.fn();
    const w = new Watchdog(1000, onStall);
    w.arm();
    vi.advanceTimersByTime(999);
    expect(onStall).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(onStall).toHaveBeenCalledTimes(1);
    expect(w.armed).toBe(false);
    vi.advanceTimersByTime(5000);
    expect(onStall).toHaveBeenCalledTimes(1);
  });

  it('does not fire while it is re-armed in time, nor after disarm', () => {
    const onStall = vi.fn();
    const w = new Watchdog(1000, onStall);
    w.arm();
    for (let i = 0; i < 10; i++) {
      vi.advanceTimersByTime(900);
      w.arm();
    }
    expect(onStall).not.toHaveBeenCalled();
    w.disarm();
    vi.advanceTimersByTime(5000);
    expect(onStall).not.toHaveBeenCalled();
  });
});
