import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ErrorCode, errorCatalog, errorTypes, statusOfCode } from '../../src/errors/catalog.ts';
import { type HttpReply, PUBLIC_URL, send } from '../helpers/http.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { FRESH_REQUEST_ID, SPEC_CODE_TYPES, SPEC_ERROR_STATUSES, specStatusOf } from '../helpers/spec.ts';

// SPEC §5 (errors, the docs page) and §6 (meta routes).

const catalogCodes = Object.keys(errorCatalog) as ErrorCode[];
const catalogTypes: Record<string, string> = Object.fromEntries(Object.entries(errorCatalog).map(([code, entry]) => [code, entry.type]));

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});

afterAll(() => server.close());

describe('the error catalog', () => {
  it.each(SPEC_CODE_TYPES)('has %s as a %s, as SPEC §5 lists it', (code, type) => {
    expect(catalogTypes[code]).toBe(type);
  });

  it('maps every type to the HTTP status of SPEC §5', () => {
    expect(errorTypes).toEqual(SPEC_ERROR_STATUSES);
  });

  it.each(catalogCodes)('answers %s with the status SPEC §5 gives it: its type\'s, or its own', (code) => {
    expect(statusOfCode(code)).toBe(specStatusOf(errorCatalog[code].type, code));
  });

  it('answers SERVICE_OVERLOADED with 503, the one status not its type\'s', () => {
    expect(statusOfCode('SERVICE_OVERLOADED')).toBe(503);
  });
});

describe('GET /docs/errors', () => {
  let response: HttpReply;
  let html: string;

  beforeAll(async () => {
    response = await send(server.url, { path: '/docs/errors' });
    html = response.text;
  });

  it('answers 200 text/html', () => {
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
  });

  it.each(catalogCodes.map((code) => [code, statusOfCode(code)] as const))('gives %s its HTTP status, %s', (code, status) => {
    const section = html.slice(html.indexOf(`id="${code}"`), html.indexOf('</section>', html.indexOf(`id="${code}"`)));
    expect(section).toContain(`HTTP ${status} `);
  });

  it.each(catalogCodes)('has an element with id="%s"', (code) => {
    expect(html).toMatch(new RegExp(`<[a-zA-Z][^>]*\\sid="${code}"`));
  });

  it('has exactly one element per code, so every doc_url anchor is unambiguous', () => {
    for (const code of catalogCodes) expect(html.split(`id="${code}"`)).toHaveLength(2);
  });
});

describe('health', () => {
  it('answers GET /healthz with 200', async () => {
    const response = await send(server.url, { path: '/healthz' });
    expect(response.status).toBe(200);
  });

  it('answers GET /readyz with 200 when the database is reachable and migrated', async () => {
    const response = await send(server.url, { path: '/readyz' });
    expect(response.status).toBe(200);
  });
});

describe('an unknown route', () => {
  function expectRouteNotFound(response: HttpReply) {
    expect(response.status).toBe(404);
    expect(response.headers.get('content-type')).toBe('application/json; charset=utf-8');
    const requestId = response.headers.get('x-request-id');
    expect(requestId).toMatch(FRESH_REQUEST_ID);
    expect(response.body).toEqual({
      error: {
        type: 'not_found_error',
        code: 'ROUTE_NOT_FOUND',
        message: expect.any(String),
        retryable: false,
        request_id: requestId,
        doc_url: `${PUBLIC_URL}/docs/errors#ROUTE_NOT_FOUND`,
        param: null,
        suggestion: expect.any(String),
      },
    });
  }

  it('answers 404 ROUTE_NOT_FOUND to a path no route has', async () => {
    expectRouteNotFound(await send(server.url, { path: '/v3/rest/no-such-thing' }));
  });

  it('answers 404 ROUTE_NOT_FOUND to a method the path does not have (DELETE /healthz)', async () => {
    expectRouteNotFound(await send(server.url, { method: 'DELETE', path: '/healthz' }));
  });

  it('answers 404 ROUTE_NOT_FOUND as JSON to a path that only begins like /graphql (GET /graphql-explorer)', async () => {
    expectRouteNotFound(await send(server.url, { path: '/graphql-explorer' }));
  });

  it('names the method and path in the ROUTE_NOT_FOUND message', async () => {
    const response = await send<{ error: { message: string } }>(server.url, { method: 'PATCH', path: '/no-such-route?x=1' });
    expect(response.body.error.message).toContain('PATCH');
    expect(response.body.error.message).toContain('/no-such-route');
  });
});
