import { describe, expect, it } from 'vitest';
import { JobName } from '../../../pipeline/queues.js';
import { checkHandlers, type HandlerEntry } from '../../../pipeline/worker-host.js';

const handle = async () => undefined;

describe('job handler registry', () => {
  it('accepts exactly one handler per job name', () => {
    expect(() => checkHandlers([{ name: JobName.RecordViolation, handle }])).not.toThrow();
  });

  it('refuses to boot when a job name has no handler', () => {
    expect(() => checkHandlers([])).toThrow(/missing \[violation.record\]/);
  });

  it('refuses to boot when a job name has two handlers', () => {
    const twice: HandlerEntry[] = [
      { name: JobName.RecordViolation, handle },
      { name: JobName.RecordViolation, handle },
    ];
    expect(() => checkHandlers(twice)).toThrow(/doubled \[violation.record\]/);
  });
});
