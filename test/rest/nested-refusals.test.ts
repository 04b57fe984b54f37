import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError } from '../../src/errors/api-error.ts';
import { createEventBus, type EventBus } from '../../src/events/event-bus.ts';
import { createContext } from '../../src/graphql/context.ts';
import { graphql } from '../../src/graphql/typed-document.ts';
import { errorBody, statusOf } from '../../src/http/error-envelope.ts';
import { createMetrics } from '../../src/http/metrics.ts';
import { findKeyByTokenHash, hashToken, viewerOfKey } from '../../src/organizations/tokens.ts';
import { readRoute, restPath } from '../../src/rest/route.ts';
import { RestClient } from '../helpers/http.ts';
import { textRecord } from '../helpers/resources.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

// A scope refusal inside a non-null list of a route's GraphQL result (each record of `nodes:
// [FeedbackRecord!]!` selecting its `source`, which needs sources:read) is answered by the REST bridge
// as the error it is: 403 INSUFFICIENT_SCOPE naming the scope, never 500 INTERNAL_ERROR. The field that
// refuses (`source`) is nullable, as every field that can refuse is, so the list around it stands.
// Routes of the table select no such field today; these are small routes of the same factory, run as
// the server runs a route, through both executors (compiled, and interpreted for a document with a
// variable of a recursive input type).

const SOURCES_OF_RECORDS = graphql(`query listRecordSources($first: Int) { records(first: $first) { nodes { id source { id name } } } }`);
const SOURCES_OF_FILTERED_RECORDS = graphql(`query listFilteredRecordSources($first: Int, $filter: FeedbackRecordFilter) {
  records(first: $first, filter: $filter) { edges { node { id source { id name } person { id } } } }
}`);

const doc = { summary: 'Records with their sources', description: 'A route of this test only.', tag: 'Records', scope: 'records:read', errors: [] } as const;

const compiledRoute = readRoute({
  ...doc,
  path: restPath('/record-sources', {}),
  query: {},
  document: SOURCES_OF_RECORDS,
  variables: () => ({ first: 10 }),
  respond: (records) => ({ status: 200, body: records.nodes }),
  responses: {},
});
const interpretedRoute = readRoute({
  ...doc,
  path: restPath('/filtered-record-sources', {}),
  query: {},
  document: SOURCES_OF_FILTERED_RECORDS,
  variables: () => ({ first: 10, filter: { and: [{ displayTs: { gte: '2000-01-01T00:00:00Z' } }] } }),
  respond: (records) => ({ status: 200, body: records.edges.map((edge) => edge.node) }),
  responses: {},
});

let server: TestServer;
let events: EventBus;
const log = pino({ level: 'silent' });
const ORGANIZATION = 'Nested Refusals Corp';

beforeAll(async () => {
  server = await startTestServer();
  events = await createEventBus(undefined, log);
  const admin = new RestClient(server.url, await server.createToken(ORGANIZATION));
  const source = await admin.createSource({ name: 'Zendesk' });
  const person = await admin.upsertPerson({ email: 'nested@example.com' });
  for (const text of ['one', 'two', 'three']) await admin.ingest(source.id, textRecord(text, { person_id: person.id }));
});

afterAll(async () => {
  await events?.close();
  await server?.close();
});

/** Runs a route as the REST handler does, for a real token of the organization with these scopes. */
async function runRoute(route: typeof compiledRoute, scopes: Parameters<TestServer['createToken']>[1]) {
  const token = await server.createToken(ORGANIZATION, scopes);
  const em = server.orm.em.fork();
  const viewer = viewerOfKey(await findKeyByTokenHash(em, hashToken(token)), new Date());
  const checked = route.check({ params: {}, query: {}, body: undefined });
  const context = createContext({ em: server.orm.em, viewer, requestId: 'req_nested', publicUrl: 'http://gateway.test', allowPrivateWebhookUrls: false, log, metrics: createMetrics(server.orm), events, operationTransaction: false });
  return await checked.run(context);
}

describe.each([
  ['compiled', compiledRoute],
  ['interpreted', interpretedRoute],
])('a %s route whose records select their source', (_name, route) => {
  it('answers the records with their sources when the token may read both', async () => {
    const response = await runRoute(route, { scopes: ['records:read', 'sources:read', 'people:read'] });
    expect(response.status).toBe(200);
    expect(response.body).toEqual([0, 1, 2].map(() => expect.objectContaining({ source: { id: expect.any(String), name: 'Zendesk' } })));
  });

  it('answers 403 INSUFFICIENT_SCOPE naming sources:read, not 500, when a record\'s source is refused', async () => {
    const failure = await runRoute(route, { scopes: ['records:read', 'people:read'] }).then(
      () => null,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(ApiError);
    if (!(failure instanceof ApiError)) return;
    expect(statusOf(failure)).toBe(403);
    expect(errorBody(failure, 'req_nested', 'http://gateway.test')).toMatchObject({
      type: 'permission_error',
      code: 'INSUFFICIENT_SCOPE',
      param: null,
      message: expect.stringContaining('sources:read'),
    });
  });
});
