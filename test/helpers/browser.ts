import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext } from 'playwright-core';

/** Debian's chromium, driven by playwright-core (no browser download); .ci/run installs it. */
export const CHROMIUM = '/usr/bin/chromium';

/** Where browser tests keep their screenshots (gitignored): test-artifacts/<name>/ at the repository root. */
export function artifactsDir(name: string): string {
  const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
  const dir = join(root, 'test-artifacts', name);
  mkdirSync(dir, { recursive: true });
  return dir;
}

export interface Browser {
  readonly context: BrowserContext;
  close(): Promise<void>;
}

/**
 * A headless chromium with a fresh profile. Fails with a clear message when chromium is not
 * installed: a browser test is never skipped silently.
 */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install Debian's chromium package (apt-get install chromium; .ci/run does) to run the console tests`);
  const profile = mkdtempSync(join(tmpdir(), 'sluice-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1280, height: 900 },
  });
  return {
    context,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
