import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { Lifecycle } from '../../../core/lifecycle.js';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  return { log: pino({ level: 'info' }, sink), lines };
}

describe('Lifecycle', () => {
  it('runs closers in reverse and logs each duration and every phase in the last line', async () => {
    const { log, lines } = capture();
    const lifecycle = new Lifecycle(log);
    const order: string[] = [];
    lifecycle.onClose('database', () => void order.push('database'));
    lifecycle.onClose('broken', () => {
      order.push('broken');
      throw new Error('boom');
    });
    lifecycle.onClose('cameras', async () => {
      order.push('cameras');
      await new Promise((r) => setTimeout(r, 30));
    });
    await lifecycle.stop('SIGTERM');
    expect(order).toEqual(['cameras', 'broken', 'database']);
    expect(lines.filter((l) => l['msg'] === 'closed').map((l) => l['closer'])).toEqual([
      'cameras',
      'broken',
      'database',
    ]);
    expect(lines.find((l) => l['msg'] === 'closer failed')).toMatchObject({ closer: 'broken', err: 'boom' });
    const last = lines.at(-1)!;
    expect(last).toMatchObject({ msg: 'shut down', reason: 'SIGTERM' });
    const phases = last['phases'] as Record<string, number>;
    expect(Object.keys(phases)).toEqual(['cameras', 'broken', 'database']);
    expect(phases['cameras']).toBeGreaterThanOrEqual(25);
    expect(last['ms']).toBeGreaterThanOrEqual(phases['cameras']!);
  });
});
