import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { type Browser, type BrowserContext, chromium, type Locator, type Page } from 'playwright-core';
import type { TestContext } from 'vitest';

/** Debian's chromium (`apt-get install chromium`); .ci/run installs it when it is missing. */
const CHROMIUM = '/usr/bin/chromium';

function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** A fresh browser profile (no stored GraphiQL headers or tabs) that may use the clipboard on `origin`. */
async function newContext(browser: Browser, origin: string): Promise<BrowserContext> {
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
async function screenshot(page: Page, name: string): Promise<string> {
  const file = path.join(await mkdtemp(path.join(os.tmpdir(), 'feedback-e2e-')), `${name.replace(/[^A-Za-z0-9-]+/g, '-')}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

export interface OpenedPage {
  page: Page;
  /** Every URL the page requested, in order. */
  requested: string[];
  errors: string[];
}

/** A Chromium for a test file: each page it opens has a fresh profile, closed with the browser. */
export class E2EBrowser {
  readonly #browser: Browser;
  readonly #contexts: BrowserContext[] = [];

  private constructor(browser: Browser) {
    this.#browser = browser;
  }

  static async launch(): Promise<E2EBrowser> {
    return new E2EBrowser(await launchChromium());
  }

  /** Opens `url` in a fresh browser profile; a failing test leaves a screenshot, named in its error output. */
  async open(url: string, { onTestFailed, task }: TestContext): Promise<OpenedPage> {
    const context = await newContext(this.#browser, new URL(url).origin);
    this.#contexts.push(context);
    const page = await context.newPage();
    const requested: string[] = [];
    const errors: string[] = [];
    page.on('request', (request) => requested.push(request.url()));
    page.on('websocket', (socket) => requested.push(socket.url()));
    page.on('pageerror', (error) => errors.push(error.message));
    onTestFailed(async () => {
      console.error(`screenshot of "${task.name}": ${await screenshot(page, task.name)}`);
    });
    await page.goto(url);
    return { page, requested, errors };
  }

  async close(): Promise<void> {
    for (const context of this.#contexts) await context.close().catch(() => {});
    await this.#browser.close();
  }
}
