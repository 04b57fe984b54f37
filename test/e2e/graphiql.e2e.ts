import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import { E2EBrowser, editorText, pasteInto } from '../helpers/e2e-browser.ts';
import { RestClient } from '../helpers/http.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { metricValue } from '../helpers/subscriptions.ts';

const SOURCE_NAME = 'Zendesk Support Tickets (GraphiQL)';
const QUERY = `query ListSources {
  feedbackSources(first: 5, name: "${SOURCE_NAME}") {
    edges { node { name type } }
  }
}
`;

let server: TestServer | undefined;
let browser: E2EBrowser | undefined;
let token: string;

beforeAll(async () => {
  server = await startTestServer();
  token = await server.createToken('GraphiQL Corp');
  const created = await server.graphql<{ createFeedbackSource: { __typename: string } }>(
    'mutation ($input: FeedbackSourceInput!) { createFeedbackSource(input: $input) { __typename } }',
    { input: { name: SOURCE_NAME, type: 'support_tickets' } },
    token,
  );
  expect(created.body.data?.createFeedbackSource.__typename).toBe('CreateFeedbackSourceSuccess');
  browser = await E2EBrowser.launch();
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

/** GraphiQL in a fresh browser profile, its Headers editor shown. */
async function openGraphiQL(context: TestContext): Promise<{ page: Page; errors: string[] }> {
  if (!browser || !server) throw new Error('the browser and the server did not start');
  const { page, errors } = await browser.open(`${server.url}/graphql`, context);
  await page.getByRole('button', { name: 'Headers', exact: true }).click();
  return { page, errors };
}

const headersEditor = (page: Page) => page.locator('.graphiql-editor-tool .graphiql-editor:not(.hidden) .monaco-editor');
const operationEditor = (page: Page) => page.locator('.graphiql-query-editor .monaco-editor');
const resultPane = (page: Page) => page.locator('.graphiql-response');

/** Pastes the operation and runs it once GraphiQL has parsed it (its tab takes the operation's name). */
async function run(page: Page, query: string, operationName: string): Promise<void> {
  await pasteInto(page, operationEditor(page), query);
  await page.locator('.graphiql-tab-button', { hasText: operationName }).waitFor({ timeout: 10_000 });
  await page.getByRole('button', { name: /^Execute query/ }).click();
}

describe('GraphiQL at /graphql in Chromium', () => {
  it('opens with the Headers editor holding {"x-api-token": ""}', async (context) => {
    const { page } = await openGraphiQL(context);
    await expect.poll(async () => editorText(headersEditor(page)), { timeout: 15_000 }).toContain('x-api-token');
    expect(JSON.parse(await editorText(headersEditor(page)))).toEqual({ 'x-api-token': '' });
  });

  it('runs a query with the token pasted into the Headers editor and shows the source in the result pane', async (context) => {
    const { page, errors } = await openGraphiQL(context);
    await pasteInto(page, headersEditor(page), JSON.stringify({ 'x-api-token': token }, null, 2));
    await run(page, QUERY, 'ListSources');
    await resultPane(page).getByText(SOURCE_NAME).waitFor({ timeout: 20_000 });
    expect(JSON.parse(await editorText(resultPane(page)))).toEqual({ data: { feedbackSources: { edges: [{ node: { name: SOURCE_NAME, type: 'support_tickets' } }] } } });
    expect(errors).toEqual([]);
  });

  it('runs a subscription and shows a record ingested over REST meanwhile in the result pane', async (context) => {
    if (!server) throw new Error('the server did not start');
    const { page, errors } = await openGraphiQL(context);
    const rest = new RestClient(server.url, token);
    const sourceId = (await rest.createSource({ name: 'Live tickets (GraphiQL)' })).id;
    await pasteInto(page, headersEditor(page), JSON.stringify({ 'x-api-token': token }, null, 2));
    const before = await metricValue(server.url, 'graphql_subscriptions_open{transport="sse"}');
    await run(page, `subscription LiveTickets {\n  recordIngested(sourceId: ${sourceId}) { id externalId fields { name value } }\n}\n`, 'LiveTickets');
    // GraphiQL shows nothing until the first event; the server counts the subscription once it listens.
    await expect.poll(() => metricValue(server?.url ?? '', 'graphql_subscriptions_open{transport="sse"}'), { timeout: 20_000 }).toBe(before + 1);

    const record = await rest.ingest(sourceId, { external_id: 'zendesk-live-1', fields: [{ category: 'content', type: 'string', name: 'subject', value: 'Arrived while subscribed' }] });
    await resultPane(page).getByText('zendesk-live-1').waitFor({ timeout: 20_000 });
    expect(JSON.parse(await editorText(resultPane(page)))).toEqual({
      data: { recordIngested: { id: String(record.id), externalId: 'zendesk-live-1', fields: [{ name: 'subject', value: 'Arrived while subscribed' }] } },
    });
    expect(errors).toEqual([]);
  });

  it('shows API_TOKEN_MISSING and no source in the result pane when the token is left empty', async (context) => {
    const { page } = await openGraphiQL(context);
    await run(page, QUERY, 'ListSources');
    await resultPane(page).getByText('API_TOKEN_MISSING').first().waitFor({ timeout: 20_000 });
    expect(await editorText(resultPane(page))).not.toContain(SOURCE_NAME);
  });
});
