import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { type Browser, type BrowserContext, chromium, type Locator, type Page } from 'playwright-core';

/** Debian's chromium (`apt-get install chromium`); .ci/run installs it when it is missing. */
export const CHROMIUM = '/usr/bin/chromium';

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** A fresh browser profile (no stored GraphiQL headers or tabs) that may use the clipboard on `origin`. */
export async function newContext(browser: Browser, origin: string): Promise<BrowserContext> {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin });
  return context;
}

/**
 * Replaces the whole text of a Monaco editor the way a person pastes: select all, then Ctrl+V.
 * Typing would trip the editor's auto-closing of brackets and quotes.
 */
export async function pasteInto(page: Page, editor: Locator, text: string): Promise<void> {
  await page.evaluate((value) => navigator.clipboard.writeText(value), text);
  await editor.click();
  await page.keyboard.press('Control+A');
  await page.keyboard.press('Control+V');
}

/**
 * The text a Monaco editor shows: its rendered lines in the order they are drawn (Monaco reuses line
 * elements, so the DOM order may differ), with Monaco's no-break spaces read as spaces.
 */
export async function editorText(editor: Locator): Promise<string> {
  const lines = await editor.locator('.view-line').evaluateAll((elements) =>
    elements.map((element) => ({ top: Number.parseFloat((element as HTMLElement).style.top) || 0, text: element.textContent ?? '' })),
  );
  return lines
    .sort((a, b) => a.top - b.top)
    .map(({ text }) => text.replaceAll('\u00a0', ' '))
    .join('\n');
}

/** Saves a screenshot of `page` into a temporary directory and returns its path, to debug a failure. */
export async function screenshot(page: Page, name: string): Promise<string> {
  const file = path.join(await mkdtemp(path.join(os.tmpdir(), 'feedback-e2e-')), `${name.replace(/[^A-Za-z0-9-]+/g, '-')}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}
