/**
 * Notice codes as a citizen types them. A code opens the owner's view of the full evidence, so knowing
 * one must be proof of having received the notice: codes are random, never sequential or derived from
 * the plate. They are made by fines/case-machine.ts `newNoticeCode`: `PN-` and 12 Crockford base-32
 * characters in groups of four (60 random bits; with the owner view's per-client rate limit, guessing
 * one is out of reach). Crockford's alphabet has no I, L, O or U, so a code read aloud or typed from
 * paper survives: lower case, O for 0, I or L for 1, spaces or missing dashes are all accepted.
 *
 * The owner view refuses any code not in this random form, so a case made with a guessable code (an
 * import from another system, a hand-made test row) can never expose its evidence.
 */

export const NOTICE_CODE_FORMAT = /^PN-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$/;

/** A typed code in canonical form, or undefined when it cannot be a random notice code. */
export function normaliseNoticeCode(typed: string): string | undefined {
  const compact = typed.toUpperCase().replace(/[\s-]/g, '').replace(/O/g, '0').replace(/[IL]/g, '1');
  if (!/^PN[0-9A-Z]{12}$/.test(compact)) return undefined;
  const code = `PN-${compact.slice(2, 6)}-${compact.slice(6, 10)}-${compact.slice(10)}`;
  return NOTICE_CODE_FORMAT.test(code) ? code : undefined;
}
