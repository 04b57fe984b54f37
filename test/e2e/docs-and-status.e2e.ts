import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import packageJson from '../../package.json' with { type: 'json' };
import { E2EBrowser, type OpenedPage } from '../helpers/e2e-browser.ts';
import { PUBLIC_URL, RestClient } from '../helpers/http.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

// Issue #14: the REST playground at /docs and the status page, as a person uses them in Chromium.

/** The body the playground fills in from the document's examples. */
const EXAMPLE_SOURCE = { name: 'Zendesk Support Tickets', type: 'support_tickets' };

let server: TestServer | undefined;
let browser: E2EBrowser | undefined;
let token: string;

beforeAll(async () => {
  server = await startTestServer();
  token = await server.createToken('Playground Corp');
  browser = await E2EBrowser.launch();
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

async function open(path: string, context: TestContext): Promise<OpenedPage> {
  if (!browser || !server) throw new Error('the browser and the server did not start');
  return await browser.open(`${server.url}${path}`, context);
}

/** The playground once it has read the OpenAPI document and drawn it. */
async function openPlayground(context: TestContext): Promise<OpenedPage> {
  const opened = await open('/docs', context);
  await opened.page.getByRole('heading', { name: 'Feedback gateway REST API' }).waitFor({ timeout: 20_000 });
  return opened;
}

/** The token field ("Value") of the authentication box on the playground's first page. */
const tokenField = (page: Page) => page.getByLabel('Value', { exact: true }).first();

const notFromTheGateway = (requested: readonly string[]) => requested.filter((url) => !/^(data|blob):/.test(url) && new URL(url).origin !== server?.url);

describe('the REST playground at /docs in Chromium', () => {
  it('loads everything it shows from the gateway itself, nothing from another host', async (context) => {
    const { page, requested, errors } = await openPlayground(context);
    await page.getByRole('link', { name: 'Create a feedback source' }).first().click();
    await page.getByRole('button', { name: /^Test Request/ }).first().click();
    await page.getByRole('button', { name: /^Send Request/ }).first().waitFor();
    expect(requested).toEqual(expect.arrayContaining([`${server?.url}/docs`, `${server?.url}/docs/js/scalar.js`, `${server?.url}/v3/rest/openapi.json`]));
    expect(notFromTheGateway(requested)).toEqual([]);
    expect(errors).toEqual([]);
  });

  it('creates a feedback source with a token pasted once, shows the 201 response, and keeps the token across a reload', async (context) => {
    const { page, requested } = await openPlayground(context);
    await page.getByText('Selected Auth Type: apiToken').first().waitFor();
    await tokenField(page).fill(token);
    await page.getByRole('link', { name: 'Create a feedback source' }).first().click();
    await page.getByRole('button', { name: /^Test Request/ }).first().click();
    await page.getByRole('button', { name: /^Send Request/ }).first().click();
    await page.getByText('201 Created').first().waitFor({ timeout: 20_000 });

    expect(requested.filter((url) => url.endsWith('/v3/rest/feedback-sources'))).toEqual([`${server?.url}/v3/rest/feedback-sources`]);
    expect(notFromTheGateway(requested)).toEqual([]);
    const sources = await new RestClient(server?.url ?? '', token).get('/feedback-sources');
    expect(sources.status).toBe(200);
    expect(sources.body).toMatchObject({ data: [EXAMPLE_SOURCE] });

    await page.reload();
    await page.getByRole('heading', { name: 'Feedback gateway REST API' }).waitFor({ timeout: 20_000 });
    await expect.poll(() => tokenField(page).inputValue(), { timeout: 10_000 }).toBe(token);
  });

  it('offers both ways of sending the token: x-api-token and Bearer', async (context) => {
    const { page } = await openPlayground(context);
    await page.getByRole('button', { name: /Selected Auth Type/ }).first().click();
    expect(await page.getByRole('option').allInnerTexts()).toEqual(['apiToken', 'bearerAuth']);
  });

  it('links each error code of an operation to its entry on /docs/errors', async (context) => {
    const { page } = await openPlayground(context);
    await page.getByRole('link', { name: 'Create a feedback source' }).first().click();
    const link = page.getByRole('link', { name: 'FEEDBACK_SOURCE_NAME_TAKEN', exact: true }).first();
    await link.waitFor({ state: 'attached', timeout: 10_000 });
    expect(await link.getAttribute('href')).toBe(`${PUBLIC_URL}/docs/errors#FEEDBACK_SOURCE_NAME_TAKEN`);
  });
});

describe('the status page at /status in Chromium', () => {
  it('shows the database as up, with its latency, and the version', async (context) => {
    const { page, requested } = await open('/status', context);
    await expect.poll(() => page.locator('#database .up').textContent()).toBe('up');
    expect(await page.locator('#database').textContent()).toMatch(/up\s*[\d.]+ ms/);
    expect(await page.locator('#overall').textContent()).toBe('ok');
    expect(await page.locator('body').textContent()).toContain(`Version${packageJson.version}`);
    expect(await page.title()).toBe('Status · Feedback gateway');
    expect(notFromTheGateway(requested)).toEqual([]);
  });
});
