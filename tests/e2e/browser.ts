/**
 * Headless Chromium for the browser journeys: Debian's `chromium` (or E2E_CHROMIUM), driven by
 * playwright-core (which downloads no browser of its own). Says why when either is missing, so the
 * journeys skip with a reason instead of failing on the machine rather than the code.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import type { Browser, BrowserType, Page } from 'playwright-core';

export type { Browser, Page };

function findChromium(): string | undefined {
  const wanted = process.env['E2E_CHROMIUM'];
  if (wanted) return fs.existsSync(wanted) ? wanted : undefined;
  for (const name of ['chromium', 'chromium-browser', 'google-chrome']) {
    try {
      return execFileSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).trim() || undefined;
    } catch {
      // not on PATH: try the next name
    }
  }
  return undefined;
}

export async function launchBrowser(): Promise<
  { ok: true; browser: Browser } | { ok: false; reason: string }
> {
  const executablePath = findChromium();
  if (!executablePath) {
    return {
      ok: false,
      reason:
        'no Chromium (install it: apt-get install -y chromium, or set E2E_CHROMIUM; npm run test:e2e does this as root)',
    };
  }
  let chromium: BrowserType;
  try {
    ({ chromium } = await import('playwright-core'));
  } catch {
    return { ok: false, reason: 'playwright-core is not installed (npm install)' };
  }
  try {
    const browser = await chromium.launch({
      executablePath,
      headless: true,
      // As root (containers, CI) Chromium's sandbox cannot start; the pages are the project's own.
      args: ['--no-sandbox', '--disable-dev-shm-usage'],
    });
    return { ok: true, browser };
  } catch (err) {
    return { ok: false, reason: `Chromium at ${executablePath} did not start: ${(err as Error).message}` };
  }
}
