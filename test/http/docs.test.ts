import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCatalog, errorTypes } from '../../src/errors/catalog.ts';
import { PUBLIC_URL, startTestServer, type TestServer } from '../helpers/server.ts';

// SPEC §5 (errors, the docs page) and §6 (meta routes).

/** SPEC §5's type → HTTP status table. */
const specStatuses = {
  authentication_error: 401,
  permission_error: 403,
  validation_error: 400,
  not_found_error: 404,
  conflict_error: 409,
  rate_limit_error: 429,
  server_error: 500,
};

/** SPEC §5's list of the codes the catalog has at least, by type. */
const specCodes: Record<string, string[]> = {
  authentication_error: ['API_TOKEN_MISSING', 'API_TOKEN_INVALID', 'API_TOKEN_EXPIRED', 'API_TOKEN_REVOKED', 'WRONG_AUTH_HEADER'],
  permission_error: ['INSUFFICIENT_SCOPE'],
  validation_error: [
    'VALIDATION_FAILED',
    'INVALID_JSON',
    'UNSUPPORTED_MEDIA_TYPE',
    'PAYLOAD_TOO_LARGE',
    'INVALID_FIELD_VALUE',
    'FIELD_VALUE_TOO_LARGE',
    'INVALID_PHONE_NUMBER',
    'INVALID_EMAIL',
    'INVALID_ID',
    'INVALID_CURSOR',
    'INVALID_IDEMPOTENCY_KEY',
    'QUERY_TOO_COMPLEX',
  ],
  not_found_error: ['FEEDBACK_SOURCE_NOT_FOUND', 'PERSON_NOT_FOUND', 'RECORD_NOT_FOUND', 'ROUTE_NOT_FOUND'],
  conflict_error: ['FEEDBACK_SOURCE_NAME_TAKEN', 'FEEDBACK_SOURCE_NOT_EMPTY', 'DUPLICATE_EXTERNAL_ID', 'IDEMPOTENCY_KEY_REUSE', 'IDEMPOTENCY_KEY_MISMATCH', 'IDEMPOTENCY_KEY_IN_PROGRESS'],
  rate_limit_error: ['RATE_LIMITED'],
  server_error: ['INTERNAL_ERROR', 'DATABASE_UNAVAILABLE'],
};

const specCodeTypes = Object.entries(specCodes).flatMap(([type, codes]) => codes.map((code) => [code, type] as const));
const catalogCodes = Object.keys(errorCatalog);
const catalogTypes: Record<string, string> = Object.fromEntries(Object.entries(errorCatalog).map(([code, entry]) => [code, entry.type]));

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});

afterAll(() => server.close());

describe('the error catalog', () => {
  it.each(specCodeTypes)('has %s as a %s, as SPEC §5 lists it', (code, type) => {
    expect(catalogTypes[code]).toBe(type);
  });

  it('maps every type to the HTTP status of SPEC §5', () => {
    expect(errorTypes).toEqual(specStatuses);
  });
});

describe('GET /docs/errors', () => {
  let response: Response;
  let html: string;

  beforeAll(async () => {
    response = await fetch(`${server.url}/docs/errors`);
    html = await response.text();
  });

  it('answers 200 text/html', () => {
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
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
    const response = await fetch(`${server.url}/healthz`);
    expect(response.status).toBe(200);
  });

  it('answers GET /readyz with 200 when the database is reachable and migrated', async () => {
    const response = await fetch(`${server.url}/readyz`);
    expect(response.status).toBe(200);
  });
});

describe('an unknown route', () => {
  async function expectRouteNotFound(response: Response) {
    expect(response.status).toBe(404);
    expect(response.headers.get('content-type')).toBe('application/json; charset=utf-8');
    const requestId = response.headers.get('x-request-id');
    expect(requestId).toMatch(/^req_[A-Za-z0-9]{12}$/);
    expect(await response.json()).toEqual({
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
    await expectRouteNotFound(await fetch(`${server.url}/v3/rest/no-such-thing`));
  });

  it('answers 404 ROUTE_NOT_FOUND to a method the path does not have (DELETE /healthz)', async () => {
    await expectRouteNotFound(await fetch(`${server.url}/healthz`, { method: 'DELETE' }));
  });

  it('answers 404 ROUTE_NOT_FOUND as JSON to a path that only begins like /graphql (GET /graphql-explorer)', async () => {
    await expectRouteNotFound(await fetch(`${server.url}/graphql-explorer`));
  });

  it('names the method and path in the ROUTE_NOT_FOUND message', async () => {
    const response = await fetch(`${server.url}/no-such-route?x=1`, { method: 'PATCH' });
    const body = await response.json();
    expect(body.error.message).toContain('PATCH');
    expect(body.error.message).toContain('/no-such-route');
  });
});
