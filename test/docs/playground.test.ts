import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type HttpReply, PUBLIC_URL, send } from '../helpers/http.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

// Issue #14: the REST playground at /docs is rendered from the live OpenAPI document and works on a
// machine without internet: the page and everything it loads come from the gateway. (The browser
// test, test/e2e/docs-and-status.e2e.ts, checks every request the page makes.)

interface ErrorResponseSchema {
  properties?: { error?: { properties?: { code?: { enum?: string[] } } } };
}
interface OpenApi {
  paths: Record<string, Record<string, { responses: Record<string, { description: string; content?: Record<string, { schema?: ErrorResponseSchema }> }> }>>;
}

let server: TestServer;
let page: HttpReply;

beforeAll(async () => {
  server = await startTestServer();
  page = await send(server.url, { path: '/docs' });
});

afterAll(() => server.close());

/** The URLs an HTML page loads by itself: src of scripts, images and frames, href of stylesheets, icons and preloads. */
function loadedBy(html: string): string[] {
  const sources = [...html.matchAll(/<(?:script|img|iframe|source|embed)\b[^>]*\ssrc="([^"]*)"/gi)].map((match) => match[1] ?? '');
  const links = [...html.matchAll(/<link\b[^>]*\shref="([^"]*)"/gi)].map((match) => match[1] ?? '');
  return [...sources, ...links];
}

describe('GET /docs', () => {
  it('answers 200 with an HTML page, without a token', () => {
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.text).toMatch(/^<!doctype html>/i);
    expect(page.text).toContain('<title>REST API · Feedback gateway</title>');
  });

  it('answers /docs/ with the same page', async () => {
    const slashed = await send(server.url, { path: '/docs/' });
    expect(slashed.status).toBe(200);
    expect(slashed.text).toBe(page.text);
  });

  it('loads only its script, from this server, by an absolute path', async () => {
    expect(loadedBy(page.text)).toEqual(['/docs/js/scalar.js']);
    const script = await send(server.url, { path: '/docs/js/scalar.js' });
    expect(script.status).toBe(200);
    expect(script.headers.get('content-type')).toBe('application/javascript; charset=utf-8');
    expect(script.text.length).toBeGreaterThan(1_000_000);
  });

  it('names no other host: the HTML holds no absolute URL', () => {
    expect(page.text).not.toMatch(/(https?:)?\/\/[a-z0-9.-]+\.[a-z]{2,}/i);
  });

  it('reads the live OpenAPI document and sends requests to the origin it was loaded from', () => {
    expect(page.text).toContain('"url": "/v3/rest/openapi.json"');
    expect(page.text).toMatch(/"servers": \[\s*\{\s*"url": "\/"/);
  });

  it('turns off what would reach Scalar\'s services: fonts, telemetry, the agent, MCP and the developer toolbar', () => {
    expect(page.text).toContain('"withDefaultFonts": false');
    expect(page.text).toContain('"telemetry": false');
    expect(page.text).toContain('"showDeveloperTools": "never"');
    expect(page.text).toMatch(/"agent": \{\s*"disabled": true\s*\}/);
    expect(page.text).toMatch(/"mcp": \{\s*"disabled": true\s*\}/);
  });

  it('keeps the token a visitor pastes, preferring the x-api-token scheme', () => {
    expect(page.text).toContain('"persistAuth": true');
    expect(page.text).toMatch(/"preferredSecurityScheme": "apiToken"/);
  });
});

describe('the OpenAPI document the playground shows', () => {
  let document: OpenApi;
  let errorPage: string;

  beforeAll(async () => {
    document = (await send<OpenApi>(server.url, { path: '/v3/rest/openapi.json' })).body;
    errorPage = (await send(server.url, { path: '/docs/errors' })).text;
  });

  it('links each error code of every error response to its entry on /docs/errors, which exists', () => {
    let links = 0;
    for (const [path, operations] of Object.entries(document.paths)) {
      for (const [method, operation] of Object.entries(operations)) {
        for (const [status, response] of Object.entries(operation.responses)) {
          const codes = response.content?.['application/json']?.schema?.properties?.error?.properties?.code?.enum;
          if (!codes) continue;
          const linked = [...response.description.matchAll(/\[([A-Z0-9_]+)\]\(([^)]*)\)/g)].map(([, code, href]) => ({ code, href }));
          expect(linked, `${method} ${path} ${status}`).toEqual(codes.map((code) => ({ code, href: `${PUBLIC_URL}/docs/errors#${code}` })));
          for (const code of codes) expect(errorPage).toContain(`id="${code}"`);
          links += codes.length;
        }
      }
    }
    expect(links).toBeGreaterThan(100);
  });
});
