/**
 * The real browser of the editor tests: Debian's Chromium driven by playwright-core (which
 * downloads no browser of its own). Each launch runs on a fresh temporary profile
 * (user-data dir) that playwright creates and deletes on close, so no state leaks between runs.
 */
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

export const CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_FLAGS });
}
