import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../core/config.js';
import { AppError } from '../../../core/errors.js';

describe('loadConfig', () => {
  it('applies defaults and resolves paths against the working directory', () => {
    const c = loadConfig({}, '/srv/pn');
    expect(c.PORT).toBe(3000);
    expect(c.REDIS_URL).toBe('redis://127.0.0.1:6379');
    expect(c.dataDir).toBe('/srv/pn/data');
    expect(c.evidenceDir).toBe('/srv/pn/data/evidence');
    expect(c.embeddedDb).toBe(true);
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('uses the server when DATABASE_URL is given', () => {
    const c = loadConfig({ DATABASE_URL: 'postgres://u:p@db:5432/pn' });
    expect(c.embeddedDb).toBe(false);
  });

  it('ignores variables that belong to other programs', () => {
    expect(() => loadConfig({ PATH: '/usr/bin', HOME: '/root', npm_config_cache: 'x' })).not.toThrow();
  });

  it('names an invalid key without echoing its value', () => {
    try {
      loadConfig({ PORT: 'secret-looking-value', DATABASE_URL: 'mysql://user:hunter2@x/db' });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(AppError);
      const message = (err as Error).message;
      expect(message).toContain('PORT');
      expect(message).toContain('DATABASE_URL');
      expect(message).not.toContain('hunter2');
      expect(message).not.toContain('secret-looking-value');
    }
  });

  it('rejects an unknown key in a namespace the project owns, suggesting the right one', () => {
    expect(() => loadConfig({ INGEST_FSP: '2' })).toThrow(
      /INGEST_FSP: unknown setting \(did you mean INGEST_FPS\?\)/,
    );
  });

  it('rejects a backoff floor above its cap', () => {
    expect(() => loadConfig({ INGEST_BACKOFF_MIN_MS: '5000', INGEST_BACKOFF_MAX_MS: '2000' })).toThrow(
      /INGEST_BACKOFF_MIN_MS/,
    );
  });

  it('accepts well-formed API tokens and rejects short ones', () => {
    expect(
      loadConfig({ API_TOKENS: 'reviewer:abcdefghijklmnop1234,operator:ZZZZZZZZZZZZZZZZ' }).API_TOKENS,
    ).toBeDefined();
    expect(() => loadConfig({ API_TOKENS: 'reviewer:short' })).toThrow(/API_TOKENS/);
  });
});
