import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashToken } from '../../src/organizations/tokens.ts';
import { send as sendHttp } from '../helpers/http.ts';
import { exchange } from '../helpers/raw-socket.ts';
import { collectLogs, type LogCollector, readableText } from '../helpers/security-logs.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { keyOf, rows } from '../helpers/sql.ts';
import { countStatements } from '../helpers/sql-counter.ts';
import { waitUntil } from '../helpers/wait.ts';

// README "Security properties": tokens, their hashes and Idempotency-Key values never appear in logs;
// "Running it in production": one line per request with request_id, organization_id, api_key_id,
// method, route, status. Both servers log at trace, the most talkative level.

const RATE_LIMIT = 2;

let server: TestServer;
let limited: TestServer;
let logs: LogCollector;
let limitedLogs: LogCollector;

/** Every token any request presented, valid or not. */
const tokens: string[] = [];
/** Every Idempotency-Key any request sent, valid or not. */
const idempotencyKeys: string[] = [];

interface Key {
  apiKeyId: string;
  organizationId: string;
}

/** A request of the mix and what its log line must say. */
interface Sent {
  what: string;
  requestId: string;
  method: string;
  status: number;
  route: string;
  /** The API key the request authenticated with; null when its token was refused or absent. */
  key: Key | null;
}

const sent: Sent[] = [];
const sentToLimited: Sent[] = [];
let sequence = 0;

interface Request {
  method?: string;
  path: string;
  token?: string;
  headers?: Record<string, string>;
  key?: string;
  body?: unknown;
  /** Sent as is rather than as JSON. */
  rawBody?: string;
}

async function send(base: string, request: Request): Promise<{ status: number; requestId: string; body: string; headers: Headers }> {
  const requestId = `log-${++sequence}`;
  const headers: Record<string, string> = { 'x-request-id': requestId, ...request.headers };
  if (request.token !== undefined) headers['x-api-token'] = request.token;
  if (request.key !== undefined) headers['idempotency-key'] = request.key;
  if (request.rawBody !== undefined) headers['content-type'] = 'application/json';
  const response = await sendHttp(base, { method: request.method ?? 'GET', path: request.path, headers, ...(request.rawBody === undefined ? { json: request.body } : { body: request.rawBody }) });
  return { status: response.status, requestId: response.headers.get('x-request-id') ?? '', body: response.text, headers: response.headers };
}

/** Sends a request of the mix and keeps what its log line must say; fails unless it got `status`. */
async function mix(into: Sent[], base: string, what: string, request: Request, expected: { status: number; route: string; key: Key | null }): Promise<void> {
  const answer = await send(base, request);
  expect(answer.status, `${what}: ${answer.body}`).toBe(expected.status);
  into.push({ what, requestId: answer.requestId, method: request.method ?? 'GET', status: answer.status, route: expected.route, key: expected.key });
}

/** Writes raw bytes and resolves with whatever comes back once the server closes the connection. */
async function sendBytes(base: string, bytes: string): Promise<string> {
  return (await exchange(base, [{ at: 0, bytes }])).raw;
}

const gql = (query: string, variables: Record<string, unknown> = {}) => ({ query, variables });
const CREATE_SOURCE = 'mutation Create($input: FeedbackSourceInput!) { createFeedbackSource(input: $input) { __typename ... on Error { code } } }';
const fakeToken = () => `fgw_${randomBytes(32).toString('base64url')}`;

async function sendTheMix(): Promise<void> {
  const token = await server.createToken('Acme');
  const revoked = await server.createToken('Acme');
  const expired = await server.createToken('Acme', { expiresAt: new Date(Date.now() - 60_000) });
  await rows(server.orm, 'update "api_key" set "revoked_at" = now() where "token_hash" = ?', [hashToken(revoked)]);
  const random = fakeToken();
  const nearMiss = `${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}`;
  tokens.push(token, revoked, expired, random, nearMiss);
  const acme = await keyOf(server.orm, hashToken(token));
  const base = server.url;
  const into = sent;
  const sources = '/v3/rest/feedback-sources';
  const sourceRoute = '/v3/rest/feedback-sources';

  // Successes
  await mix(into, base, 'a REST list', { path: sources, token }, { status: 200, route: sourceRoute, key: acme });
  await mix(into, base, 'a GraphQL query', { method: 'POST', path: '/graphql', token, body: gql('query Viewer { viewer { apiKeyId } }') }, { status: 200, route: '/graphql', key: acme });
  await mix(into, base, 'a token sent as Authorization: Bearer', { path: sources, headers: { authorization: `Bearer ${token}` } }, { status: 200, route: sourceRoute, key: acme });

  // Authentication failures
  await mix(into, base, 'a random token', { path: sources, token: random }, { status: 401, route: sourceRoute, key: null });
  await mix(into, base, 'a token one character off a real one', { path: sources, token: nearMiss }, { status: 401, route: sourceRoute, key: null });
  await mix(into, base, 'a random Bearer token', { path: sources, headers: { authorization: `Bearer ${random}` } }, { status: 401, route: sourceRoute, key: null });
  await mix(into, base, 'a real token in x-api-key', { path: sources, headers: { 'x-api-key': token } }, { status: 401, route: sourceRoute, key: null });
  await mix(into, base, 'a revoked token', { path: sources, token: revoked }, { status: 401, route: sourceRoute, key: null });
  await mix(into, base, 'an expired token', { path: sources, token: expired }, { status: 401, route: sourceRoute, key: null });
  await mix(into, base, 'a GraphQL query with a random token', { method: 'POST', path: '/graphql', token: random, body: gql('{ viewer { apiKeyId } }') }, { status: 401, route: '/graphql', key: null });

  // Writes with an Idempotency-Key, their replays and conflicts
  const restKey = `rest-${randomBytes(12).toString('hex')}`;
  const graphqlKey = `graphql-${randomBytes(12).toString('hex')}`;
  const invalidKey = `invalid-${'k'.repeat(300)}`;
  idempotencyKeys.push(restKey, graphqlKey, invalidKey);
  const zendesk = { name: 'Zendesk Support Tickets', type: 'support_tickets' };
  await mix(into, base, 'a REST write with a key', { method: 'POST', path: sources, token, key: restKey, body: zendesk }, { status: 201, route: sourceRoute, key: acme });
  await mix(into, base, 'its replay', { method: 'POST', path: sources, token, key: restKey, body: zendesk }, { status: 201, route: sourceRoute, key: acme });
  await mix(into, base, 'the key with another body', { method: 'POST', path: sources, token, key: restKey, body: { name: 'Other' } }, { status: 409, route: sourceRoute, key: acme });
  await mix(into, base, 'the key on another route', { method: 'PUT', path: '/v3/rest/people', token, key: restKey, body: { email: 'ada@acme.example' } }, { status: 409, route: '/v3/rest/people', key: acme });
  const survey = gql(CREATE_SOURCE, { input: { name: 'NPS Survey' } });
  await mix(into, base, 'a GraphQL mutation with a key', { method: 'POST', path: '/graphql', token, key: graphqlKey, body: survey }, { status: 200, route: '/graphql', key: acme });
  await mix(into, base, 'its replay', { method: 'POST', path: '/graphql', token, key: graphqlKey, body: survey }, { status: 200, route: '/graphql', key: acme });
  await mix(into, base, 'the key with another mutation', { method: 'POST', path: '/graphql', token, key: graphqlKey, body: gql(CREATE_SOURCE, { input: { name: 'Chat' } }) }, { status: 409, route: '/graphql', key: acme });
  await mix(into, base, 'a key of 308 characters', { method: 'POST', path: sources, token, key: invalidKey, body: { name: 'Chat' } }, { status: 400, route: sourceRoute, key: acme });
  await sendWhileInProgress(acme, token);
  // A token this server has not verified yet: a verified one is cached, and its request looks nothing up.
  const unverified = await server.createToken('Acme');
  tokens.push(unverified);
  await sendWithCancelledTokenLookup(unverified);

  // Validation errors
  await mix(into, base, 'an empty source name', { method: 'POST', path: sources, token, body: { name: '' } }, { status: 400, route: sourceRoute, key: acme });
  await mix(into, base, 'malformed JSON', { method: 'POST', path: sources, token, rawBody: '{"name": ' }, { status: 400, route: sourceRoute, key: acme });
  await mix(into, base, 'a GraphQL mutation with an invalid type', { method: 'POST', path: '/graphql', token, body: gql(CREATE_SOURCE, { input: { name: 'Chat', type: 'Chat Room' } }) }, { status: 200, route: '/graphql', key: acme });
  await mix(into, base, 'an unknown route', { path: '/v3/rest/feedback', token }, { status: 404, route: 'unmatched', key: acme });

  // Requests the HTTP parser refuses, carrying a real token and a key: no request line, but no secret either.
  const parserKey = `parser-${randomBytes(12).toString('hex')}`;
  idempotencyKeys.push(parserKey);
  const secrets = `x-api-token: ${token}\r\nidempotency-key: ${parserKey}\r\n`;
  expect(await sendBytes(base, `POST ${sources} HTTP/1.1\r\nhost: x\r\n${secrets}x-note: bell\x07\r\ncontent-length: 2\r\n\r\n{}`)).toMatch(/^HTTP\/1\.1 400 /);
  expect(await sendBytes(base, `POST ${sources} HTTP/1.1\r\nhost: x\r\n${secrets}x-padding: ${'p'.repeat(20_000)}\r\ncontent-length: 2\r\n\r\n{}`)).toMatch(/^HTTP\/1\.1 400 /);

  // Rate limits, on a server that allows RATE_LIMIT requests a minute
  const limitedToken = await limited.createToken('Initech');
  const limitedRandom = fakeToken();
  tokens.push(limitedToken, limitedRandom);
  const initech = await keyOf(limited.orm, hashToken(limitedToken));
  for (let i = 0; i < RATE_LIMIT + 2; i++) {
    await mix(sentToLimited, limited.url, `request ${i + 1} with a token`, { path: sources, token: limitedToken }, { status: i < RATE_LIMIT ? 200 : 429, route: sourceRoute, key: initech });
  }
  for (let i = 0; i < RATE_LIMIT + 1; i++) {
    await mix(sentToLimited, limited.url, `request ${i + 1} with a random token`, { path: sources, token: limitedRandom }, { status: i < RATE_LIMIT ? 401 : 429, route: sourceRoute, key: null });
  }
}

/**
 * Runs `whileLocked` while a transaction here holds `table` locked: a request touching it waits
 * inside the server until the lock is released (after `whileLocked`).
 */
async function withTableLocked(table: string, whileLocked: (blocker: pg.Client) => Promise<void>): Promise<void> {
  const blocker = new pg.Client({ connectionString: server.orm.config.get('clientUrl') });
  await blocker.connect();
  try {
    await blocker.query('begin');
    await blocker.query(`lock table "${table}" in access exclusive mode`);
    await whileLocked(blocker);
    await blocker.query('commit');
  } finally {
    await blocker.end();
  }
}

const WAITING_FOR_LOCK = "from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock' and pid <> pg_backend_pid()";
const someoneWaits = async (blocker: pg.Client) => Number((await blocker.query(`select count(*) as "count" ${WAITING_FOR_LOCK}`)).rows[0].count) > 0;

/** A second request with a key while the first, held by a lock, still runs. */
async function sendWhileInProgress(acme: Key, token: string): Promise<void> {
  const key = `in-progress-${randomBytes(12).toString('hex')}`;
  idempotencyKeys.push(key);
  const body = { name: 'Intercom Chats', type: 'chat' };
  const request = { method: 'POST', path: '/v3/rest/feedback-sources', token, key, body };
  let first: Promise<void> | undefined;
  await withTableLocked('feedback_source', async (blocker) => {
    first = mix(sent, server.url, 'a write held by a lock', request, { status: 201, route: '/v3/rest/feedback-sources', key: acme });
    await waitUntil(() => someoneWaits(blocker), 'the first write waits for the lock');
    await mix(sent, server.url, 'the same write while the first runs', request, { status: 409, route: '/v3/rest/feedback-sources', key: acme });
  });
  await first;
}

/** A request whose token lookup fails unexpectedly (cancelled by an operator): a 500 whose error is logged. */
async function sendWithCancelledTokenLookup(token: string): Promise<void> {
  let cancelled: Promise<void> | undefined;
  await withTableLocked('api_key', async (blocker) => {
    cancelled = mix(sent, server.url, 'a request whose token lookup is cancelled', { path: '/v3/rest/feedback-sources', token }, { status: 500, route: '/v3/rest/feedback-sources', key: null });
    await waitUntil(() => someoneWaits(blocker), 'the token lookup waits for the lock');
    await blocker.query(`select pg_cancel_backend(pid) ${WAITING_FOR_LOCK}`);
    await cancelled;
  });
}

beforeAll(async () => {
  logs = collectLogs();
  limitedLogs = collectLogs();
  server = await startTestServer({}, { logger: { level: 'trace', stream: logs.stream } });
  limited = await startTestServer({ RATE_LIMIT_PER_MINUTE: String(RATE_LIMIT) }, { logger: { level: 'trace', stream: limitedLogs.stream } });
  await sendTheMix();
});

afterAll(async () => {
  await server?.close();
  await limited?.close();
});

const allLines = () => [...logs.lines, ...limitedLogs.lines];

/** The secrets found in the logs, each with the line it is in (shortened). */
function leaks(secrets: string[]): string[] {
  return allLines().flatMap((line) => {
    const text = readableText(line);
    return secrets.filter((secret) => text.includes(secret)).map((secret) => `${secret.slice(0, 12)}… in ${line.slice(0, 160)}`);
  });
}

describe('the logs of a mix of requests', () => {
  it('contain no token, valid or not', () => {
    expect(leaks(tokens)).toEqual([]);
  });

  it("contain no token's SHA-256 hash", () => {
    expect(leaks(tokens.map(hashToken))).toEqual([]);
  });

  it('contain no Idempotency-Key value', () => {
    expect(leaks(idempotencyKeys)).toEqual([]);
  });

  it('hold exactly one request line per request', () => {
    const requestLines = (collector: LogCollector) => collector.entries().filter((entry) => entry.msg === 'request');
    const idsOf = (entries: Record<string, unknown>[]) => entries.map((entry) => entry.request_id).sort();
    expect(idsOf(requestLines(logs))).toEqual(sent.map((request) => request.requestId).sort());
    expect(idsOf(requestLines(limitedLogs))).toEqual(sentToLimited.map((request) => request.requestId).sort());
  });

  it('give each request line its request_id, method, route and status', () => {
    const lineOf = (collector: LogCollector, requestId: string) => collector.entries().find((entry) => entry.msg === 'request' && entry.request_id === requestId);
    const actual = [...sent.map((request) => [request, lineOf(logs, request.requestId)] as const), ...sentToLimited.map((request) => [request, lineOf(limitedLogs, request.requestId)] as const)].map(
      ([request, line]) => ({ what: request.what, method: line?.method, route: line?.route, status: line?.status }),
    );
    const expected = [...sent, ...sentToLimited].map((request) => ({ what: request.what, method: request.method, route: request.route, status: request.status }));
    expect(actual).toEqual(expected);
  });

  it('name the organization and API key on the request line of every authenticated request, and none on the others', () => {
    const lineOf = (collector: LogCollector, requestId: string) => collector.entries().find((entry) => entry.msg === 'request' && entry.request_id === requestId);
    const who = (line: Record<string, unknown> | undefined) => ({
      organizationId: line?.organization_id === undefined ? null : String(line.organization_id),
      apiKeyId: line?.api_key_id === undefined ? null : String(line.api_key_id),
    });
    const actual = [...sent.map((request) => ({ what: request.what, ...who(lineOf(logs, request.requestId)) })), ...sentToLimited.map((request) => ({ what: request.what, ...who(lineOf(limitedLogs, request.requestId)) }))];
    const expected = [...sent, ...sentToLimited].map((request) => ({ what: request.what, organizationId: request.key?.organizationId ?? null, apiKeyId: request.key?.apiKeyId ?? null }));
    expect(actual).toEqual(expected);
  });
});

describe('finding a presented token', () => {
  const list = (token: string) => sendHttp(server.url, { path: '/v3/rest/feedback-sources', headers: { 'x-api-token': token } });

  it('is one SQL statement that looks up the SHA-256 of the token, never the token itself', async () => {
    const [real] = tokens;
    const nearMiss = `${real?.slice(0, -1)}~`;
    const { result, statements } = await countStatements(() => list(nearMiss));
    expect(result.status).toBe(401);
    expect(statements).toHaveLength(1);
    // The hash travels as a bound parameter; neither it nor the token is in the statement's text.
    expect(statements[0]).toMatch(/"token_hash" = \$1/);
    expect(statements[0]).not.toContain(nearMiss);
    expect(statements[0]).not.toContain(hashToken(nearMiss));
  });

  it('costs the same SQL statements for a token sharing all but its last character with a real one as for a random token', async () => {
    const [real] = tokens;
    const nearMiss = `${real?.slice(0, -1)}~`;
    const random = fakeToken();
    const near = await countStatements(() => list(nearMiss));
    const far = await countStatements(() => list(random));
    expect(near.statements.map((statement) => statement.replace(hashToken(nearMiss), '<hash>'))).toEqual(far.statements.map((statement) => statement.replace(hashToken(random), '<hash>')));
  });

  it('goes through a unique index on the token hash', async () => {
    const indexes = await rows<{ indexdef: string }>(server.orm, "select indexdef from pg_indexes where tablename = 'api_key'");
    expect(indexes.map((index) => index.indexdef)).toContainEqual(expect.stringMatching(/^CREATE UNIQUE INDEX \S+ ON public\.api_key USING btree \(token_hash\)$/));
  });
});
