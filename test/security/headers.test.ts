import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectErrorEnvelope, type HttpReply, RestClient, graphql } from '../helpers/http.ts';
import { exchange, type RawExchange, requestHead } from '../helpers/raw-socket.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { FRESH_REQUEST_ID } from '../helpers/spec.ts';
import { rowCounts } from '../helpers/sql.ts';

// SPEC §4 and the README's security properties: a client's X-Request-Id is echoed only when it is
// 1–128 characters of [A-Za-z0-9._:-], else replaced by a fresh req_ id; headers over 16 KiB get
// 400 PAYLOAD_TOO_LARGE; slow clients are cut off (headers within headersMs, the whole request within
// requestMs, else 400 REQUEST_TIMEOUT), in the envelope like every other error (the status follows the type).

const HEADERS_MS = 500;
const REQUEST_MS = 1_000;
/** Node checks these deadlines once a second (connectionsCheckingInterval), so a cut-off may come that much later. */
const CHECK_INTERVAL_MS = 1_000;

let server: TestServer;
let slowServer: TestServer;
let slowToken: string;

beforeAll(async () => {
  server = await startTestServer();
  slowServer = await startTestServer({}, { timeouts: { headersMs: HEADERS_MS, requestMs: REQUEST_MS } });
  slowToken = await slowServer.createToken('Acme');
});

afterAll(async () => {
  await server?.close();
  await slowServer?.close();
});

/**
 * An unauthenticated REST request, whose 401 error body carries the request id too, with header
 * values as they are, bytes that node:http refuses to send included.
 */
const listSourcesRaw = (headers: Record<string, string>) => exchange(server.url, [{ at: 0, bytes: requestHead('GET', '/v3/rest/feedback-sources', headers) }]);

/** The same over HTTP. */
const listSources = (headers: Record<string, string>) => new RestClient(server.url).get('/feedback-sources', { headers });

function expectFreshRequestId(answer: RawExchange | HttpReply): void {
  const header = (name: string) => (answer.headers instanceof Headers ? answer.headers.get(name) : answer.headers[name]);
  expect(header('x-request-id'), 'raw' in answer ? answer.raw.slice(0, 300) : answer.text).toMatch(FRESH_REQUEST_ID);
  expect(header('correlation-id')).toBe(header('x-request-id'));
}

describe('a client X-Request-Id that is not 1–128 characters of [A-Za-z0-9._:-]', () => {
  const hostile: [string, string][] = [
    ['a control character (U+0001)', 'abc\u0001def'],
    ['a tab', 'abc\tdef'],
    ['bytes beyond ASCII (0xFF 0xFE)', 'abc\u00ff\u00fedef'],
    ['an encoded CR LF followed by a header', 'abc%0d%0aSet-Cookie:%20session=stolen'],
    ['a CR LF and a folded line holding a header', 'abc\r\n Set-Cookie: session=stolen'],
    ['markup', '<script>alert(1)</script>'],
    ['129 characters', 'a'.repeat(129)],
    ['10,000 characters', 'r'.repeat(10_000)],
  ];

  for (const [what, value] of hostile) {
    it(`holding ${what} is never echoed and sets no header of its own`, async () => {
      const answer = await listSourcesRaw({ 'x-request-id': value });
      expect(answer.status).toBeGreaterThanOrEqual(400);
      expect(answer.raw).not.toContain(value);
      expect(answer.headers['set-cookie']).toBeUndefined();
    });

    it(`holding ${what} is replaced by a fresh req_ id in both headers`, async () => {
      expectFreshRequestId(await listSourcesRaw({ 'x-request-id': value }));
    });
  }

  it('of 10,000 characters is replaced by the same fresh req_ id in the error body', async () => {
    const answer = await listSources({ 'x-request-id': 'r'.repeat(10_000) });
    const error = expectErrorEnvelope(answer, { status: 401, type: 'authentication_error', code: 'API_TOKEN_MISSING', param: null });
    expect(error.request_id).toMatch(FRESH_REQUEST_ID);
  });

  it('of 10,000 characters on a GraphQL request is replaced by a fresh req_ id', async () => {
    const answer = await graphql(server.url, '{ __typename }', {}, { headers: { 'x-request-id': 'g'.repeat(10_000) } });
    expect(answer.status).toBe(200);
    expectFreshRequestId(answer);
  });

  it('of exactly 128 allowed characters is echoed in both headers', async () => {
    const value = `${'Ab9._:-'.repeat(18)}ab`;
    const answer = await listSources({ 'x-request-id': value });
    expect([answer.headers.get('x-request-id'), answer.headers.get('correlation-id')]).toEqual([value, value]);
  });
});

describe('headers over 16 KiB', () => {
  const padded = (bytes: number) => listSources({ 'x-padding': 'p'.repeat(bytes) });

  it('are answered 400 PAYLOAD_TOO_LARGE with param headers, in the envelope', async () => {
    expectErrorEnvelope(await padded(20_000), { status: 400, type: 'validation_error', code: 'PAYLOAD_TOO_LARGE', param: 'headers' });
  });

  it('are answered with a fresh req_ id in both headers', async () => {
    expectFreshRequestId(await padded(20_000));
  });

  it('are refused only past the limit: 15,000 bytes of headers are served', async () => {
    expect((await padded(15_000)).status).toBe(401);
  });
});

describe(`a slow client (headersMs ${HEADERS_MS}, requestMs ${REQUEST_MS})`, () => {
  const head = requestHead('GET', '/healthz', {});
  const trickle = (first: string, next: (i: number) => string, everyMs: number, count: number) =>
    Array.from({ length: count }, (_, i) => ({ at: i * everyMs, bytes: i === 0 ? first : next(i) }));

  it('is served when its headers arrive in pieces within headersMs', async () => {
    const answer = await exchange(slowServer.url, [
      { at: 0, bytes: head.slice(0, 10) },
      { at: 100, bytes: head.slice(10, 20) },
      { at: 200, bytes: head.slice(20) },
    ]);
    expect(answer.status).toBe(200);
  });

  it('sending a header line every 100 ms is answered 400 REQUEST_TIMEOUT and cut off within headersMs plus a second', async () => {
    const answer = await exchange(slowServer.url, trickle('GET /healthz HTTP/1.1\r\nhost: 127.0.0.1\r\n', (i) => `x-slow-${i}: v\r\n`, 100, 50));
    expect(answer.status).toBe(400);
    expect(JSON.parse(answer.body)).toMatchObject({ error: { type: 'validation_error', code: 'REQUEST_TIMEOUT' } });
    expect(answer.closedByServer).toBe(true);
    expect(answer.closedAfterMs).toBeGreaterThanOrEqual(HEADERS_MS);
    expect(answer.closedAfterMs).toBeLessThan(HEADERS_MS + CHECK_INTERVAL_MS + 500);
  });

  it('stopping in the middle of its headers is answered 400 REQUEST_TIMEOUT and cut off within headersMs plus a second', async () => {
    const answer = await exchange(slowServer.url, [{ at: 0, bytes: 'GET /healthz HTTP/1.1\r\nhost: 127.0.0.1\r\nx-half' }]);
    expect(answer.status).toBe(400);
    expect(JSON.parse(answer.body)).toMatchObject({ error: { type: 'validation_error', code: 'REQUEST_TIMEOUT' } });
    expect(answer.closedByServer).toBe(true);
    expect(answer.closedAfterMs).toBeLessThan(HEADERS_MS + CHECK_INTERVAL_MS + 500);
  });

  it('cut off for slow headers gets a fresh req_ id in both headers of its answer', async () => {
    expectFreshRequestId(await exchange(slowServer.url, [{ at: 0, bytes: 'GET /healthz HTTP/1.1\r\nhost: 127.0.0.1\r\n' }]));
  });

  const postHead = () =>
    requestHead('POST', '/v3/rest/feedback-sources', { 'x-api-token': slowToken, 'content-type': 'application/json', 'content-length': '100' });

  it('that never finishes its body is answered 400 REQUEST_TIMEOUT and cut off after requestMs', async () => {
    const answer = await exchange(slowServer.url, [{ at: 0, bytes: `${postHead()}{"name": "Zendesk` }]);
    expect(answer.status).toBe(400);
    expect(JSON.parse(answer.body)).toMatchObject({ error: { type: 'validation_error', code: 'REQUEST_TIMEOUT' } });
    expect(answer.closedByServer).toBe(true);
    expect(answer.closedAfterMs).toBeGreaterThanOrEqual(REQUEST_MS);
    expect(answer.closedAfterMs).toBeLessThan(REQUEST_MS + CHECK_INTERVAL_MS + 500);
  });

  it('that sends its body one byte every 100 ms is answered 400 REQUEST_TIMEOUT and cut off after requestMs', async () => {
    const answer = await exchange(slowServer.url, trickle(postHead(), () => ' ', 100, 50));
    expect(answer.status).toBe(400);
    expect(JSON.parse(answer.body)).toMatchObject({ error: { type: 'validation_error', code: 'REQUEST_TIMEOUT' } });
    expect(answer.closedByServer).toBe(true);
    expect(answer.closedAfterMs).toBeGreaterThanOrEqual(REQUEST_MS);
    expect(answer.closedAfterMs).toBeLessThan(REQUEST_MS + CHECK_INTERVAL_MS + 500);
  });

  it('that never finishes its body writes nothing', async () => {
    await exchange(slowServer.url, [{ at: 0, bytes: `${postHead()}{"name": "Intercom Chats"}` }]);
    expect((await rowCounts(slowServer.orm)).feedback_source).toBe(0);
  });
});
