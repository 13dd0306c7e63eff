import { describe, expect, it } from 'vitest';
import { createLogger } from '../../../core/logger.js';
import type { DeadlineSweepResult } from '../../../fines/case.service.js';
import { startDeadlineSweeper } from '../../../fines/deadline-sweeper.js';

const log = createLogger({ level: 'silent' });
const result: DeadlineSweepResult = { escalated: 0, overdue: 0, expired: 0, unchanged: 0 };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('deadline sweeper', () => {
  it('sweeps soon after start and then on its interval, never two at once, and keeps going after a failure', async () => {
    let running = 0;
    let maxRunning = 0;
    let calls = 0;
    const sweeper = startDeadlineSweeper({
      log,
      firstDelayMs: 1,
      intervalMs: 10,
      run: async () => {
        calls++;
        running++;
        maxRunning = Math.max(maxRunning, running);
        await sleep(25); // longer than the interval: ticks in between are skipped
        running--;
        if (calls === 1) throw new Error('database down');
        return result;
      },
    });
    await sleep(150);
    await sweeper.stop();
    expect(calls).toBeGreaterThanOrEqual(2);
    expect(maxRunning).toBe(1);
    const after = calls;
    await sleep(40);
    expect(calls).toBe(after);
  });

  it('waits for a running sweep when stopped', async () => {
    let finished = false;
    const sweeper = startDeadlineSweeper({
      log,
      firstDelayMs: 1,
      intervalMs: 60_000,
      run: async () => {
        await sleep(50);
        finished = true;
        return result;
      },
    });
    await sleep(10);
    await sweeper.stop();
    expect(finished).toBe(true);
  });
});
