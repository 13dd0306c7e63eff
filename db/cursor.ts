import { AppError } from '../core/errors.js';

/**
 * Opaque keyset cursors for lists ordered newest first by (time, id). The cursor names the last row of
 * a page; the next page holds the rows strictly after it in that order.
 */

export interface KeysetPosition {
  at: Date;
  id: number;
}

export function encodeCursor(position: KeysetPosition): string {
  return Buffer.from(`${position.at.getTime()}:${position.id}`, 'utf8').toString('base64url');
}

/** Throws AppError bad_request for anything that is not a cursor made by encodeCursor. */
export function decodeCursor(cursor: string): KeysetPosition {
  const invalid = () => new AppError('bad_request', 'invalid cursor', { permanent: true });
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(cursor)) throw invalid();
  const match = /^(-?\d{1,16}):(\d{1,16})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!match) throw invalid();
  const ms = Number(match[1]);
  const id = Number(match[2]);
  const at = new Date(ms);
  if (!Number.isSafeInteger(ms) || !Number.isSafeInteger(id) || id < 1 || Number.isNaN(at.getTime()))
    throw invalid();
  return { at, id };
}
