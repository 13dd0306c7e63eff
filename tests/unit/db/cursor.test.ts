import { describe, expect, it } from 'vitest';
import { AppError } from '../../../core/errors.js';
import { decodeCursor, encodeCursor } from '../../../db/cursor.js';

describe('keyset cursor', () => {
  it('round-trips a position with millisecond precision', () => {
    const position = { at: new Date('2026-11-22T10:11:12.345Z'), id: 987654321 };
    const cursor = encodeCursor(position);
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeCursor(cursor)).toEqual(position);
  });

  it('round-trips times before 1970', () => {
    const position = { at: new Date('1969-12-31T23:59:59.999Z'), id: 1 };
    expect(decodeCursor(encodeCursor(position))).toEqual(position);
  });

  it.each([
    ['empty', ''],
    ['not base64url', 'abc+/='],
    ['no separator', Buffer.from('12345').toString('base64url')],
    ['id zero', Buffer.from('1:0').toString('base64url')],
    ['negative id', Buffer.from('1:-5').toString('base64url')],
    ['text', Buffer.from('yesterday:5').toString('base64url')],
    ['too long', 'A'.repeat(65)],
  ])('rejects a cursor that is %s as a bad request', (_name, cursor) => {
    expect(() => decodeCursor(cursor)).toThrow(AppError);
    try {
      decodeCursor(cursor);
    } catch (err) {
      expect((err as AppError).code).toBe('bad_request');
    }
  });
});
