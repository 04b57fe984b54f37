import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectErrorEnvelope, expectGraphQLErrorEnvelope, type GraphQLBody, send } from '../helpers/http.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { FRESH_REQUEST_ID } from '../helpers/spec.ts';

let server: TestServer;
let token: string;

const CLIENT_ID = 'client-123.abc:x_y';

/** Both headers must be present and equal; returns their value. */
function requestIdOf(headers: Headers): string {
  const requestId = headers.get('x-request-id');
  expect(requestId).toEqual(expect.any(String));
  expect(headers.get('correlation-id')).toBe(requestId);
  return String(requestId);
}

beforeAll(async () => {
  server = await startTestServer();
  token = await server.createToken('Request Id Org');
});

afterAll(() => server.close());

describe('X-Request-Id and correlation-id on every response', () => {
  it('are set and equal on a GraphQL success', async () => {
    const response = await server.graphql('{ viewer { scopes } }', {}, token);
    expect(response.status).toBe(200);
    expect(requestIdOf(response.headers)).toMatch(FRESH_REQUEST_ID);
  });

  it('are set and equal on a GraphQL authentication error, whose request_id is the same value', async () => {
    const response = await server.graphql('{ viewer { scopes } }');
    expect(response.status).toBe(401);
    const requestId = requestIdOf(response.headers);
    expect(requestId).toMatch(FRESH_REQUEST_ID);
    expect(response.body.errors?.[0]?.extensions?.request_id).toBe(requestId);
  });

  it('are set and equal on a GraphQL union error, whose requestId is the same value', async () => {
    const response = await server.graphql<{ createFeedbackSource: { __typename: string; code: string; requestId: string } }>(
      'mutation { createFeedbackSource(input: { name: "" }) { __typename ... on Error { code requestId } } }',
      {},
      token,
    );
    expect(response.status).toBe(200);
    const requestId = requestIdOf(response.headers);
    expect(requestId).toMatch(FRESH_REQUEST_ID);
    expect(response.body.data?.createFeedbackSource).toMatchObject({ __typename: 'ValidationError', requestId });
  });

  it('are set and equal on GET /healthz', async () => {
    const response = await send(server.url, { path: '/healthz' });
    expect(response.status).toBe(200);
    expect(requestIdOf(response.headers)).toMatch(FRESH_REQUEST_ID);
  });

  it('are set and equal on GET /docs/errors', async () => {
    const response = await send(server.url, { path: '/docs/errors' });
    expect(response.status).toBe(200);
    expect(requestIdOf(response.headers)).toMatch(FRESH_REQUEST_ID);
  });

  it('are set and equal on the GraphiQL page', async () => {
    const response = await send(server.url, { path: '/graphql', headers: { accept: 'text/html' } });
    expect(response.status).toBe(200);
    expect(requestIdOf(response.headers)).toMatch(FRESH_REQUEST_ID);
  });

  it('answers 404 ROUTE_NOT_FOUND with the request id in headers and body for an unknown route', async () => {
    const response = await send(server.url, { path: '/no/such/route' });
    const error = expectErrorEnvelope(response, { status: 404, type: 'not_found_error', code: 'ROUTE_NOT_FOUND', param: null });
    expect(error.request_id).toMatch(FRESH_REQUEST_ID);
  });

  it('answers 404 ROUTE_NOT_FOUND with the request id in headers and body for an unknown method', async () => {
    const response = await send(server.url, { method: 'DELETE', path: '/healthz' });
    expectErrorEnvelope(response, { status: 404, type: 'not_found_error', code: 'ROUTE_NOT_FOUND', param: null });
  });

  it('answers 400 INVALID_JSON with the request id in headers and body for a malformed GraphQL body', async () => {
    const response = await send<GraphQLBody<unknown>>(server.url, {
      method: 'POST',
      path: '/graphql',
      headers: { 'content-type': 'application/json', 'x-api-token': token },
      body: '{"query": ',
    });
    expectGraphQLErrorEnvelope(response, { status: 400, type: 'validation_error', code: 'INVALID_JSON', param: 'body' });
  });

  it('gives two requests different fresh ids', async () => {
    const first = await send(server.url, { path: '/healthz' });
    const second = await send(server.url, { path: '/healthz' });
    expect(requestIdOf(first.headers)).not.toBe(requestIdOf(second.headers));
  });
});

describe("the client's X-Request-Id", () => {
  it('is echoed in both headers when it is 1–128 characters of [A-Za-z0-9._:-]', async () => {
    const response = await send(server.url, { path: '/healthz', headers: { 'x-request-id': CLIENT_ID } });
    expect(requestIdOf(response.headers)).toBe(CLIENT_ID);
  });

  it('is echoed on a GraphQL success', async () => {
    const response = await server.graphql('{ viewer { scopes } }', {}, token, { 'x-request-id': CLIENT_ID });
    expect(response.status).toBe(200);
    expect(requestIdOf(response.headers)).toBe(CLIENT_ID);
  });

  it('is the request_id of the error body', async () => {
    const response = await server.graphql('{ viewer { scopes } }', {}, null, { 'x-request-id': CLIENT_ID });
    expect(response.status).toBe(401);
    expect(requestIdOf(response.headers)).toBe(CLIENT_ID);
    expect(response.body.errors?.[0]?.extensions?.request_id).toBe(CLIENT_ID);
  });

  it('is the request_id of the body of an unknown route', async () => {
    const response = await send(server.url, { path: '/no/such/route', headers: { 'x-request-id': CLIENT_ID } });
    const error = expectErrorEnvelope(response, { status: 404, type: 'not_found_error', code: 'ROUTE_NOT_FOUND', param: null });
    expect(error.request_id).toBe(CLIENT_ID);
  });

  it('is echoed when it is exactly 128 characters long', async () => {
    const longest = 'a'.repeat(128);
    const response = await send(server.url, { path: '/healthz', headers: { 'x-request-id': longest } });
    expect(requestIdOf(response.headers)).toBe(longest);
  });

  it.each([
    { reason: 'contains a space', value: 'client 123' },
    { reason: 'is 129 characters long', value: 'a'.repeat(129) },
    { reason: 'is empty', value: '' },
    { reason: 'contains a slash', value: 'client/123' },
  ])('is replaced by a fresh req_ id when it $reason', async ({ value }) => {
    const response = await send(server.url, { path: '/healthz', headers: { 'x-request-id': value } });
    const requestId = requestIdOf(response.headers);
    expect(requestId).toMatch(FRESH_REQUEST_ID);
    expect(requestId).not.toBe(value);
  });

  it('is replaced in the error body too when it is invalid', async () => {
    const response = await server.graphql('{ viewer { scopes } }', {}, null, { 'x-request-id': 'client 123' });
    expect(response.status).toBe(401);
    const requestId = requestIdOf(response.headers);
    expect(requestId).toMatch(FRESH_REQUEST_ID);
    expect(response.body.errors?.[0]?.extensions?.request_id).toBe(requestId);
  });
});
