import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FeedbackSource } from '../../src/sources/source.entity.ts';
import { type ErrorEnvelope, expectErrorEnvelope, expectGraphQLErrorEnvelope, type GraphQLBody, type HttpReply, RestClient, send } from '../helpers/http.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const LIMIT = 3;

let server: TestServer;

type Answer = HttpReply<{ error?: ErrorEnvelope } & GraphQLBody<unknown>>;

/**
 * Sends a request from a loopback address of the test's choosing (127.0.0.0/8 all reaches this
 * machine), so each test that counts per client address has a budget of its own.
 */
function fromAddress(on: TestServer, localAddress: string, method: string, path: string, headers: Record<string, string> = {}, json?: unknown): Promise<Answer> {
  return send(on.url, { method, path, headers, json, localAddress });
}

function listSources(token: string, on = server) {
  return new RestClient(on.url, token).get<{ error?: ErrorEnvelope }>('/feedback-sources');
}

function viewer(token: string, on = server) {
  return on.graphql('{ viewer { scopes } }', {}, token);
}

async function spend(token: string, requests: number): Promise<void> {
  for (let i = 0; i < requests; i++) expect((await listSources(token)).status).toBe(200);
}

/** Every field of a RATE_LIMITED error and its Retry-After header. */
function expectRateLimited(error: { retry_after_seconds?: unknown } | undefined, retryAfterHeader: string | null): void {
  expect(error).toMatchObject({ type: 'rate_limit_error', code: 'RATE_LIMITED', retryable: true });
  const seconds = error?.retry_after_seconds;
  expect(Number.isInteger(seconds)).toBe(true);
  expect(seconds).toBeGreaterThan(0);
  expect(seconds).toBeLessThanOrEqual(60);
  expect(retryAfterHeader).toBe(String(seconds));
}

beforeAll(async () => {
  server = await startTestServer({ RATE_LIMIT_PER_MINUTE: String(LIMIT) });
});

afterAll(() => server.close());

describe('RateLimit headers', () => {
  it('are set on an authenticated REST response: limit, remaining and seconds until the reset', async () => {
    const response = await listSources(await server.createToken('Headers Corp'));
    expect(response.status).toBe(200);
    expect(response.headers.get('ratelimit-limit')).toBe(String(LIMIT));
    expect(response.headers.get('ratelimit-remaining')).toBe(String(LIMIT - 1));
    const reset = Number(response.headers.get('ratelimit-reset'));
    expect(Number.isInteger(reset)).toBe(true);
    expect(reset).toBeGreaterThan(0);
    expect(reset).toBeLessThanOrEqual(60);
  });

  it('are set on an authenticated GraphQL response', async () => {
    const response = await viewer(await server.createToken('Headers Corp'));
    expect(response.status).toBe(200);
    expect(response.headers.get('ratelimit-limit')).toBe(String(LIMIT));
    expect(response.headers.get('ratelimit-remaining')).toBe(String(LIMIT - 1));
    expect(Number(response.headers.get('ratelimit-reset'))).toBeGreaterThan(0);
  });

  it('are set on an authenticated error response', async () => {
    const response = await new RestClient(server.url, await server.createToken('Headers Corp')).get('/feedback-sources/987654');
    expect(response.status).toBe(404);
    expect(response.headers.get('ratelimit-limit')).toBe(String(LIMIT));
    expect(response.headers.get('ratelimit-remaining')).toBe(String(LIMIT - 1));
  });

  it('are set on a 400 INVALID_JSON answer to an authenticated request', async () => {
    const response = await new RestClient(server.url, await server.createToken('Headers Corp')).send('POST', '/feedback-sources', {
      headers: { 'content-type': 'application/json' },
      body: '{"name": ',
    });
    expect(response.status).toBe(400);
    expect(response.headers.get('ratelimit-limit')).toBe(String(LIMIT));
    expect(response.headers.get('ratelimit-remaining')).toBe(String(LIMIT - 1));
  });

  it('are set on a 404 ROUTE_NOT_FOUND answer to an authenticated request', async () => {
    const response = await new RestClient(server.url, await server.createToken('Headers Corp')).get('/feedback-srcs');
    expect(response.status).toBe(404);
    expect(response.headers.get('ratelimit-limit')).toBe(String(LIMIT));
    expect(response.headers.get('ratelimit-remaining')).toBe(String(LIMIT - 1));
  });

  it('count RateLimit-Remaining down with each request', async () => {
    const token = await server.createToken('Countdown Corp');
    const remaining: (string | null)[] = [];
    for (let i = 0; i < LIMIT; i++) remaining.push((await listSources(token)).headers.get('ratelimit-remaining'));
    expect(remaining).toEqual(['2', '1', '0']);
  });
});

describe('the budget of a token', () => {
  it('is shared by REST and GraphQL: the request after 3 mixed ones gets 429', async () => {
    const token = await server.createToken('Mixed Corp');
    expect((await listSources(token)).status).toBe(200);
    expect((await viewer(token)).status).toBe(200);
    expect((await listSources(token)).status).toBe(200);
    const response = await viewer(token);
    expect(response.status).toBe(429);
  });

  it('is its own: another token of the same organization still gets answers when the first is limited', async () => {
    const first = await server.createToken('Shared Org');
    const second = await server.createToken('Shared Org');
    await spend(first, LIMIT);
    expect((await listSources(first)).status).toBe(429);
    const response = await listSources(second);
    expect(response.status).toBe(200);
    expect(response.headers.get('ratelimit-remaining')).toBe(String(LIMIT - 1));
  });

  it('is not taken from the client address: a valid token gets answers from an address whose budget is spent', async () => {
    const address = '127.0.0.10';
    for (let i = 0; i < LIMIT; i++) await fromAddress(server, address, 'GET', '/v3/rest/feedback-sources');
    expect((await fromAddress(server, address, 'GET', '/v3/rest/feedback-sources')).status).toBe(429);
    const token = await server.createToken('Behind NAT Corp');
    const response = await fromAddress(server, address, 'GET', '/v3/rest/feedback-sources', { 'x-api-token': token });
    expect(response.status).toBe(200);
  });
});

describe('past the limit', () => {
  it('answers REST with 429 rate_limit_error RATE_LIMITED, retryable, retry_after_seconds and a Retry-After header', async () => {
    const token = await server.createToken('Limited Corp');
    await spend(token, LIMIT);
    const response = await listSources(token);
    expectErrorEnvelope(response, { status: 429, type: 'rate_limit_error', code: 'RATE_LIMITED', param: null, retryable: true });
    expectRateLimited(response.body.error, response.headers.get('retry-after'));
    expect(response.headers.get('ratelimit-limit')).toBe(String(LIMIT));
    expect(response.headers.get('ratelimit-remaining')).toBe('0');
  });

  it('answers GraphQL with status 429 and the same fields in errors[0].extensions, with a Retry-After header', async () => {
    const token = await server.createToken('Limited Corp');
    await spend(token, LIMIT);
    const response = await viewer(token);
    expect(response.body.data ?? null).toBeNull();
    expect(response.body.errors).toHaveLength(1);
    const extensions = expectGraphQLErrorEnvelope(response, { status: 429, type: 'rate_limit_error', code: 'RATE_LIMITED', param: null, retryable: true });
    expectRateLimited(extensions, response.headers.get('retry-after'));
  });

  it('runs no write', async () => {
    const token = await server.createToken('Limited Corp');
    await spend(token, LIMIT);
    const name = `Not created ${randomUUID()}`;
    const response = await new RestClient(server.url, token).post('/feedback-sources', { name });
    expect(response.status).toBe(429);
    expect(await server.orm.em.fork().count(FeedbackSource, { name })).toBe(0);
  });
});

describe('requests without a valid token', () => {
  it('are limited per client address: without a token, the request past the limit gets 429 instead of 401', async () => {
    const address = '127.0.0.11';
    const statuses: number[] = [];
    for (let i = 0; i < LIMIT; i++) {
      const response = await fromAddress(server, address, 'GET', '/v3/rest/feedback-sources');
      expect(response.body.error?.code).toBe('API_TOKEN_MISSING');
      statuses.push(response.status);
    }
    const limited = await fromAddress(server, address, 'GET', '/v3/rest/feedback-sources');
    expect(statuses).toEqual([401, 401, 401]);
    expect(limited.status).toBe(429);
    expectRateLimited(limited.body.error, limited.headers.get('retry-after'));
  });

  it('are limited per client address: with an invalid token, the request past the limit gets 429 instead of 401', async () => {
    const address = '127.0.0.12';
    const headers = { 'x-api-token': 'fgw_not-a-real-token' };
    for (let i = 0; i < LIMIT; i++) {
      const response = await fromAddress(server, address, 'GET', '/v3/rest/feedback-sources', headers);
      expect(response.status).toBe(401);
      expect(response.body.error?.code).toBe('API_TOKEN_INVALID');
    }
    const limited = await fromAddress(server, address, 'GET', '/v3/rest/feedback-sources', headers);
    expect(limited.status).toBe(429);
    expectRateLimited(limited.body.error, limited.headers.get('retry-after'));
  });

  it('count REST and GraphQL together per client address', async () => {
    const address = '127.0.0.13';
    const graphql = { query: '{ viewer { scopes } }' };
    expect((await fromAddress(server, address, 'POST', '/graphql', {}, graphql)).status).toBe(401);
    expect((await fromAddress(server, address, 'GET', '/v3/rest/feedback-sources')).status).toBe(401);
    expect((await fromAddress(server, address, 'POST', '/graphql', {}, graphql)).status).toBe(401);
    const limited = await fromAddress(server, address, 'POST', '/graphql', {}, graphql);
    expect(limited.status).toBe(429);
    expect(limited.body.errors?.[0]?.extensions).toMatchObject({ type: 'rate_limit_error', code: 'RATE_LIMITED', retryable: true });
  });

  it('give every client address its own budget: another address still gets 401', async () => {
    for (let i = 0; i <= LIMIT; i++) await fromAddress(server, '127.0.0.14', 'GET', '/v3/rest/feedback-sources');
    const response = await fromAddress(server, '127.0.0.15', 'GET', '/v3/rest/feedback-sources');
    expect(response.status).toBe(401);
    expect(response.body.error?.code).toBe('API_TOKEN_MISSING');
  });
});

describe('RATE_LIMIT_PER_MINUTE=0', () => {
  let unlimited: TestServer;
  let token: string;

  beforeAll(async () => {
    unlimited = await startTestServer({ RATE_LIMIT_PER_MINUTE: '0' });
    token = await unlimited.createToken('Unlimited Corp');
  });

  afterAll(() => unlimited.close());

  it('answers every one of 30 requests of a token, REST and GraphQL, without 429', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 15; i++) {
      statuses.push((await listSources(token, unlimited)).status);
      statuses.push((await viewer(token, unlimited)).status);
    }
    expect(statuses).toEqual(Array(30).fill(200));
  });

  it('sends no RateLimit headers', async () => {
    const response = await listSources(token, unlimited);
    expect(response.status).toBe(200);
    expect(response.headers.get('ratelimit-limit')).toBeNull();
    expect(response.headers.get('ratelimit-remaining')).toBeNull();
    expect(response.headers.get('ratelimit-reset')).toBeNull();
  });

  it('answers 401, never 429, to 30 requests without a token from one address', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 30; i++) statuses.push((await fromAddress(unlimited, '127.0.0.16', 'GET', '/v3/rest/feedback-sources')).status);
    expect(statuses).toEqual(Array(30).fill(401));
  });
});
