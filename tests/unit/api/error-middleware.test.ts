import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { zodMessage } from '../../../api/error-middleware.js';

describe('zodMessage', () => {
  it('names each field with where it came from, never the value sent', () => {
    const r = z
      .strictObject({ limit: z.number().max(10), name: z.string() })
      .safeParse({ limit: 99, name: 7 });
    const message = zodMessage(r.error!, 'query');
    expect(message).toMatch(/^query\.limit: .*; query\.name: /);
    expect(message).not.toContain('99');
  });

  it('keeps the message short however many issues there are', () => {
    const schema = z.strictObject({});
    const input = Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`key${i}`.repeat(20), i]));
    const message = zodMessage(schema.safeParse(input).error!, 'body');
    expect(message.length).toBeLessThanOrEqual(500);
  });
});
