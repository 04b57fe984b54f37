import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { boundedDriverOptions } from '../../src/database/timeouts.ts';
import { errorCatalog } from '../../src/errors/catalog.ts';
import { admissionLimit, REQUESTS_PER_CONNECTION } from '../../src/http/admission.ts';
import { expectErrorEnvelope, expectGraphQLErrorEnvelope, type GraphQLReply, graphql, type HttpReply, PUBLIC_URL, RestClient, send } from '../helpers/http.ts';
import { RawConnection, requestHead } from '../helpers/raw-socket.ts';
import { textRecord } from '../helpers/resources.ts';
import { collectLogs, type LogCollector } from '../helpers/security-logs.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { type HeldInserts, holdRecordInserts, runSql } from '../helpers/sql.ts';
import { waitUntil } from '../helpers/wait.ts';

// SPEC §5 SERVICE_OVERLOADED: beyond MAX_CONCURRENT_REQUESTS API requests in flight, a process sheds
// more with 503 (retryable, Retry-After) at once instead of queueing them for a database connection.
// Two requests are held inside their INSERT by an advisory lock the test takes, which fills the
// places of a server that admits two; the test then releases them.

const LIMIT = 2;

let server: TestServer;
let databaseUrl: string;
let token: string;
let rest: RestClient;
let sourceId: number;
let logs: LogCollector;
let inserts: HeldInserts;
let heldRest: Promise<HttpReply<{ id: number }>>;
let heldGraphQL: Promise<GraphQLReply<{ ingestRecord: { __typename: string } }>>;
/** A REST ingest whose headers arrived before the places filled and whose body had not. */
let trickling: RawConnection;
let tricklingBody: string;

const INGEST = `mutation ($sourceId: ID!, $input: IngestRecordInput!) {
  ingestRecord(sourceId: $sourceId, input: $input) { __typename ... on IngestRecordSuccess { record { id } } ... on Error { code } }
}`;

const ingestREST = (externalId: string, client = rest) => client.post<{ id: number }>(`/feedback-sources/${sourceId}/records`, textRecord('Shed?', { external_id: externalId }));
const ingestGraphQL = (externalId: string) =>
  graphql<{ ingestRecord: { __typename: string } }>(server.url, INGEST, { sourceId, input: { externalId, fields: textRecord('Shed?').fields } }, { token });

async function externalIdsWritten(): Promise<string[]> {
  const rows = await runSql<{ external_id: string }>(databaseUrl, 'select external_id from feedback_record where source_id = $1 order by external_id', [sourceId]);
  return rows.map((row) => row.external_id);
}

async function metric(name: string): Promise<number> {
  const response = await send(server.url, { path: '/metrics' });
  const value = new RegExp(`^${name} (\\d+)$`, 'm').exec(response.text)?.[1];
  expect(value, `${name} in /metrics`).toBeDefined();
  return Number(value);
}

/** The whole envelope of a refusal: nothing in it depends on the request but its id. */
function overloadedBody(requestId: string) {
  return {
    type: 'server_error',
    code: 'SERVICE_OVERLOADED',
    message: errorCatalog.SERVICE_OVERLOADED.message,
    retryable: true,
    request_id: requestId,
    doc_url: `${PUBLIC_URL}/docs/errors#SERVICE_OVERLOADED`,
    param: null,
    suggestion: errorCatalog.SERVICE_OVERLOADED.suggestion,
  };
}

const OVERLOADED = { type: 'server_error', code: 'SERVICE_OVERLOADED', param: null, retryable: true } as const;

beforeAll(async () => {
  logs = collectLogs();
  // Held statements outlast the request path's timeouts here; what is under test is admission.
  server = await startTestServer(
    { MAX_CONCURRENT_REQUESTS: String(LIMIT) },
    { logger: { level: 'info', stream: logs.stream } },
    { driverOptions: { ...boundedDriverOptions, statement_timeout: 60_000, query_timeout: 60_000 } },
  );
  databaseUrl = server.orm.config.get('clientUrl') ?? '';
  token = await server.createToken('Overload Corp');
  rest = new RestClient(server.url, token);
  sourceId = (await rest.createSource({ name: 'Busy source' })).id;
  inserts = await holdRecordInserts(databaseUrl, [4242, 1]);
});

afterAll(async () => {
  trickling?.close();
  await inserts?.close();
  await server?.close();
});

describe(`while ${LIMIT} API requests are running`, () => {
  beforeAll(async () => {
    trickling = await RawConnection.open(server.url);
    const payload = JSON.stringify(textRecord('Slow body', { external_id: 'trickled' }));
    await trickling.write(
      requestHead('POST', `/v3/rest/feedback-sources/${sourceId}/records`, {
        'x-api-token': token,
        'content-type': 'application/json',
        'content-length': String(Buffer.byteLength(payload)),
        connection: 'keep-alive',
      }) + payload.slice(0, 10),
    );
    tricklingBody = payload.slice(10);
    await inserts.hold();
    heldRest = ingestREST('held-rest');
    heldGraphQL = ingestGraphQL('held-graphql');
    await waitUntil(async () => (await inserts.waiting()) === LIMIT, `${LIMIT} inserts wait for the lock`);
  });

  it('answers a REST request beyond them 503 SERVICE_OVERLOADED, retryable, with Retry-After: 1 and its request id', async () => {
    const reply = await ingestREST('shed-rest');
    expectErrorEnvelope(reply, OVERLOADED);
    expect(reply.headers.get('retry-after')).toBe('1');
    expect(reply.body).toEqual({ error: overloadedBody(reply.headers.get('x-request-id') ?? '') });
  });

  it('echoes the client X-Request-Id on a refusal', async () => {
    const reply = await rest.get(`/feedback-sources/${sourceId}`, { headers: { 'x-request-id': 'client-id-42' } });
    expect(reply.headers.get('x-request-id')).toBe('client-id-42');
    expect(reply.headers.get('correlation-id')).toBe('client-id-42');
    expect(reply.body).toEqual({ error: overloadedBody('client-id-42') });
  });

  it('answers a GraphQL request beyond them 503 in GraphQL form, the envelope in its error extensions', async () => {
    const reply = await ingestGraphQL('shed-graphql');
    expectGraphQLErrorEnvelope(reply, OVERLOADED);
    expect(reply.status).toBe(503);
    expect(reply.headers.get('content-type')).toBe('application/graphql-response+json; charset=utf-8');
    expect(reply.headers.get('retry-after')).toBe('1');
    const requestId = reply.headers.get('x-request-id') ?? '';
    expect(reply.body).toEqual({ errors: [{ message: errorCatalog.SERVICE_OVERLOADED.message, extensions: overloadedBody(requestId) }] });
  });

  it('refuses before authenticating: without a token, or with an unknown one, the answer is 503, not 401', async () => {
    expectErrorEnvelope(await rest.as(null).get('/feedback-sources'), OVERLOADED);
    expectErrorEnvelope(await rest.as('fgw_unknown').get('/feedback-sources'), OVERLOADED);
  });

  it('refuses a request whose body arrives once the places are taken, though its headers came before', async () => {
    await trickling.write(tricklingBody);
    const answer = await trickling.response();
    expect(answer.status).toBe(503);
    expect(answer.headers['retry-after']).toBe('1');
    expect(JSON.parse(answer.body)).toEqual({ error: overloadedBody(answer.headers['x-request-id'] ?? '') });
  });

  it('still answers /healthz, /readyz, /metrics, /status, the docs, the OpenAPI document and the Postman collection', async () => {
    for (const path of ['/healthz', '/readyz', '/metrics', '/status', '/docs', '/docs/js/scalar.js', '/docs/errors', '/v3/rest/openapi.json', '/v3/rest/postman.json']) {
      expect((await send(server.url, { path })).status, path).toBe(200);
    }
  });

  it('counts refusals in http_requests_shed_total and the running requests in http_requests_in_flight', async () => {
    const before = await metric('http_requests_shed_total');
    await rest.get('/feedback-sources');
    expect(await metric('http_requests_shed_total')).toBe(before + 1);
    expect(await metric('http_requests_in_flight')).toBe(LIMIT);
  });

  it('logs each refusal as a request with status 503, without an organization', async () => {
    const reply = await rest.get('/feedback-sources');
    const requestId = reply.headers.get('x-request-id');
    await waitUntil(async () => logs.entries().some((entry) => entry.request_id === requestId && entry.msg === 'request'), 'the refusal is logged');
    const line = logs.entries().find((entry) => entry.request_id === requestId && entry.msg === 'request');
    expect(line).toMatchObject({ method: 'GET', route: '/v3/rest/feedback-sources', status: 503 });
    expect(line?.organization_id).toBeUndefined();
  });
});

describe('once the running requests finish', () => {
  beforeAll(async () => {
    await inserts.release();
  });

  it('answers the held requests as if nothing happened', async () => {
    expect((await heldRest).status).toBe(201);
    const held = await heldGraphQL;
    expect(held.status).toBe(200);
    expect(held.body.data?.ingestRecord.__typename).toBe('IngestRecordSuccess');
  });

  it('wrote nothing of the refused requests', async () => {
    await heldRest;
    await heldGraphQL;
    expect(await externalIdsWritten()).toEqual(['held-graphql', 'held-rest']);
  });

  it('admits new requests again, over REST and GraphQL', async () => {
    await heldRest;
    await heldGraphQL;
    await waitUntil(async () => (await metric('http_requests_in_flight')) === 0, 'no request is in flight');
    expect((await ingestREST('after-rest')).status).toBe(201);
    expect((await ingestGraphQL('after-graphql')).body.data?.ingestRecord.__typename).toBe('IngestRecordSuccess');
  });
});

describe('the default limit', () => {
  it(`is ${REQUESTS_PER_CONNECTION} requests per pooled connection, unless MAX_CONCURRENT_REQUESTS sets it (0: none)`, () => {
    expect(admissionLimit(undefined, 10)).toBe(10 * REQUESTS_PER_CONNECTION);
    expect(admissionLimit(undefined, undefined)).toBe(10 * REQUESTS_PER_CONNECTION);
    expect(admissionLimit(5, 10)).toBe(5);
    expect(admissionLimit(0, 10)).toBe(0);
  });
});
