import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestHash } from '../../src/idempotency/idempotency.ts';
import { hashToken, revokeApiKey } from '../../src/organizations/tokens.ts';
import { expectGraphQLErrorEnvelope, graphql, RestClient } from '../helpers/http.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { holdRecordInserts, keyOf, runSql } from '../helpers/sql.ts';
import { type EventStream, metricValue, openSse, subscribeOverSse } from '../helpers/subscriptions.ts';
import { waitUntil } from '../helpers/wait.ts';

// SPEC §12: recordIngested and recordDeleted over server-sent events (POST or GET /graphql with
// Accept: text/event-stream), scoped like queries, each event published once its write committed.
// "Nothing arrived" is shown without waiting: a control event published after the write in question
// arrives first, and events reach a subscriber in the order they were published.

let server: TestServer;
let token: string;
let rest: RestClient;
let databaseUrl: string;

const INGESTED = `subscription ($sourceId: ID, $filter: RecordIngestedFilter) {
  recordIngested(sourceId: $sourceId, filter: $filter) { id sourceId personId externalId displayTs fields { category type name value } createdAt }
}`;
const DELETED = 'subscription ($sourceId: ID) { recordDeleted(sourceId: $sourceId) { id sourceId } }';

interface IngestedRecord {
  id: string;
  sourceId: string;
  personId: string | null;
  externalId: string | null;
  displayTs: string;
  fields: { category: string; type: string; name: string; value: unknown }[];
  createdAt: string;
}
type Ingested = { recordIngested: IngestedRecord | null };

const subject = (text: string) => [{ category: 'content', type: 'string', name: 'subject', value: text }];

async function createSource(client = rest): Promise<number> {
  return (await client.createSource({ name: `Source ${randomUUID()}`, type: 'support_tickets' })).id;
}

async function ingest(sourceId: number, externalId: string, client = rest, extra: Record<string, unknown> = {}) {
  return await client.ingest(sourceId, { external_id: externalId, fields: subject(`Subject of ${externalId}`), ...extra });
}

/** The next event's record, failing on anything else. */
async function nextRecord(stream: EventStream): Promise<IngestedRecord> {
  const result = await stream.nextResult<Ingested>();
  expect(result.errors).toBeUndefined();
  const record = result.data?.recordIngested;
  if (!record) throw new Error(`expected a record, got ${JSON.stringify(result)}`);
  return record;
}

/** Ingests a control record: the next event must be it, so nothing was published in between. */
async function expectNothingBefore(stream: EventStream, sourceId: number): Promise<void> {
  const control = await ingest(sourceId, `control-${randomUUID()}`);
  expect((await nextRecord(stream)).id).toBe(String(control.id));
}

const cleanups: (() => unknown)[] = [];

beforeAll(async () => {
  server = await startTestServer();
  databaseUrl = server.orm.config.get('clientUrl') ?? '';
  token = await server.createToken('Acme Corp');
  rest = new RestClient(server.url, token);
});

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  await server.close();
});

async function subscribe(query: string, variables: Record<string, unknown>, as = token, method: 'GET' | 'POST' = 'POST'): Promise<EventStream> {
  const stream = await openSse(server.url, { query, variables, token: as, method });
  cleanups.push(() => stream.close());
  return stream;
}

describe('recordIngested over server-sent events', () => {
  it('answers 200 text/event-stream and delivers a record ingested over REST, once, as its REST resource in GraphQL names', async () => {
    const sourceId = await createSource();
    const stream = await subscribe(INGESTED, { sourceId });
    expect(stream.status).toBe(200);
    expect(stream.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(stream.headers.get('x-request-id')).toMatch(/^req_/);

    const record = await rest.ingest(sourceId, {
      external_id: 'zendesk-48213',
      display_ts: '2025-03-14T09:26:53Z',
      fields: [...subject('Export to CSV times out'), { category: 'metadata', type: 'json', name: 'tags', value: ['export', 'performance'] }],
    });
    expect(await nextRecord(stream)).toEqual({
      id: String(record.id),
      sourceId: String(sourceId),
      personId: null,
      externalId: 'zendesk-48213',
      displayTs: '2025-03-14T09:26:53.000Z',
      fields: [
        { category: 'content', type: 'string', name: 'subject', value: 'Export to CSV times out' },
        { category: 'metadata', type: 'json', name: 'tags', value: ['export', 'performance'] },
      ],
      createdAt: record.created_at,
    });
    await expectNothingBefore(stream, sourceId);
  });

  it('runs a subscription sent with GET and its token header', async () => {
    const sourceId = await createSource();
    const stream = await subscribe(INGESTED, { sourceId }, token, 'GET');
    const record = await ingest(sourceId, 'over-get');
    expect((await nextRecord(stream)).id).toBe(String(record.id));
  });

  it('delivers a REST ingest sent with an Idempotency-Key once, and nothing for its replay', async () => {
    const sourceId = await createSource();
    const stream = await subscribe(INGESTED, { sourceId });
    const key = randomUUID();
    const body = { external_id: 'with-key', fields: subject('Sent with a key') };
    const first = await rest.post<{ id: number }>(`/feedback-sources/${sourceId}/records`, body, { key });
    expect(first.status).toBe(201);
    const replay = await rest.post<{ id: number }>(`/feedback-sources/${sourceId}/records`, body, { key });
    expect(replay.headers.get('idempotency-replayed')).toBe('true');
    expect((await nextRecord(stream)).id).toBe(String(first.body.id));
    await expectNothingBefore(stream, sourceId);
  });

  it('delivers records ingested over GraphQL, one by one and in a batch, with and without an Idempotency-Key, each once', async () => {
    const sourceId = await createSource();
    const stream = await subscribe(INGESTED, { sourceId });
    const one = 'mutation ($sourceId: ID!, $input: IngestRecordInput!) { ingestRecord(sourceId: $sourceId, input: $input) { ... on IngestRecordSuccess { record { id } } } }';
    const batch = `mutation ($sourceId: ID!, $records: [IngestRecordInput!]!) {
      ingestRecords(sourceId: $sourceId, records: $records) { ... on IngestRecordsSuccess { results { ... on IngestRecordSuccess { record { id } } ... on Error { code } } } }
    }`;
    const ids: string[] = [];
    const plain = await graphql<{ ingestRecord: { record: { id: string } } }>(server.url, one, { sourceId, input: { externalId: 'gql-1', fields: subject('one') } }, { token });
    ids.push(plain.body.data?.ingestRecord.record.id ?? 'none');
    const keyed = { sourceId, input: { externalId: 'gql-2', fields: subject('two') } };
    const key = randomUUID();
    const withKey = await graphql<{ ingestRecord: { record: { id: string } } }>(server.url, one, keyed, { token, key });
    ids.push(withKey.body.data?.ingestRecord.record.id ?? 'none');
    const replayed = await graphql(server.url, one, keyed, { token, key });
    expect(replayed.headers.get('idempotency-replayed')).toBe('true');
    // The batch's duplicate fails on its own and publishes nothing.
    const records = [{ externalId: 'gql-3', fields: subject('three') }, { externalId: 'gql-1', fields: subject('again') }, { externalId: 'gql-4', fields: subject('four') }];
    const batched = await graphql<{ ingestRecords: { results: { record?: { id: string }; code?: string }[] } }>(server.url, batch, { sourceId, records }, { token, key: randomUUID() });
    const results = batched.body.data?.ingestRecords.results ?? [];
    expect(results.map((result) => result.code ?? 'ok')).toEqual(['ok', 'DUPLICATE_EXTERNAL_ID', 'ok']);
    ids.push(...results.flatMap((result) => (result.record ? [result.record.id] : [])));

    const delivered: string[] = [];
    for (const _ of ids) delivered.push((await nextRecord(stream)).id);
    expect(delivered).toEqual(ids);
    await expectNothingBefore(stream, sourceId);
  });

  it('publishes nothing for a write that failed: a duplicate external_id, an unknown person', async () => {
    const sourceId = await createSource();
    await ingest(sourceId, 'taken');
    const stream = await subscribe(INGESTED, { sourceId });
    const duplicate = await rest.post(`/feedback-sources/${sourceId}/records`, { external_id: 'taken', fields: subject('again') });
    expect(duplicate.status).toBe(409);
    const unknownPerson = await rest.post(`/feedback-sources/${sourceId}/records`, { person_id: 999_999, fields: subject('nobody') }, { key: randomUUID() });
    expect(unknownPerson.status).toBe(404);
    await expectNothingBefore(stream, sourceId);
  });

  it('publishes nothing for an idempotent write rolled back because a response for its key committed meanwhile', async () => {
    const sourceId = await createSource();
    const stream = await subscribe(INGESTED, { sourceId });
    const organizationId = Number((await keyOf(server.orm, hashToken(token))).organizationId);
    // Every record insert waits inside its transaction until the test lets go.
    const inserts = await holdRecordInserts(databaseUrl, [7, 7]);
    cleanups.push(() => inserts.close());
    await inserts.hold();
    try {
      const key = randomUUID();
      const body = { fields: subject('Raced') };
      const pending = rest.post(`/feedback-sources/${sourceId}/records`, body, { key });
      await waitUntil(async () => (await inserts.waiting()) > 0, 'the ingest waits inside its write');
      await runSql(
        databaseUrl,
        `insert into "idempotency_key" ("organization_id", "key", "method", "path", "request_hash", "status", "content_type", "response_body", "created_at", "expires_at")
         values ($1, $2, 'POST', $3, $4, 201, 'application/json; charset=utf-8', '{"id":424242}', now(), now() + interval '1 hour')`,
        [organizationId, key, `/v3/rest/feedback-sources/${sourceId}/records`, requestHash('', body, JSON.stringify(body))],
      );
      await inserts.release();
      const response = await pending;
      expect(response.headers.get('idempotency-replayed')).toBe('true');
    } finally {
      await inserts.release();
    }
    await expectNothingBefore(stream, sourceId);
  });

  it("never delivers another organization's records", async () => {
    const otherToken = await server.createToken('Globex');
    const other = new RestClient(server.url, otherToken);
    const otherSource = await createSource(other);
    const stream = await subscribe(INGESTED, {}, otherToken);
    await ingest(await createSource(), 'acme-only');
    const control = await ingest(otherSource, 'globex-control', other);
    expect((await nextRecord(stream)).id).toBe(String(control.id));
  });

  it('delivers only the records of its source, its person and its field values', async () => {
    const sourceId = await createSource();
    const otherSource = await createSource();
    const person = await rest.upsertPerson({ email: `${randomUUID()}@example.com` });
    const filtered = await subscribe(INGESTED, { sourceId, filter: { personId: person.id, fields: [{ name: 'escalated', eq: true }] } });
    const escalated = { category: 'metadata', type: 'boolean', name: 'escalated', value: true };
    await rest.ingest(otherSource, { person_id: person.id, fields: [...subject('other source'), escalated] });
    await rest.ingest(sourceId, { fields: [...subject('no person'), escalated] });
    await rest.ingest(sourceId, { person_id: person.id, fields: [...subject('not escalated'), { ...escalated, value: false }] });
    const wanted = await rest.ingest(sourceId, { person_id: person.id, fields: [...subject('wanted'), escalated] });
    const record = await nextRecord(filtered);
    expect(record).toMatchObject({ id: String(wanted.id), personId: String(person.id) });
  });

  it('answers an unknown source with FEEDBACK_SOURCE_NOT_FOUND and ends the stream', async () => {
    const stream = await subscribe(INGESTED, { sourceId: 999_999 });
    const result = await stream.nextResult<Ingested>();
    expect(result.errors?.[0]?.extensions).toMatchObject({ code: 'FEEDBACK_SOURCE_NOT_FOUND', param: 'sourceId' });
    expect((await stream.nextEvent())?.event).toBe('complete');
  });

  it('answers a malformed filter with every failing field, under their paths', async () => {
    const stream = await subscribe(INGESTED, { sourceId: 'x', filter: { personId: '0', fields: [{ name: '', eq: 1 }] } });
    const result = await stream.nextResult<Ingested>();
    expect(result.errors?.[0]?.extensions).toMatchObject({ code: 'VALIDATION_FAILED' });
    const listed = (result.errors?.[0]?.extensions?.errors ?? []) as { param: string; code: string }[];
    const failing = listed.map(({ param, code }) => `${param} ${code}`).sort();
    expect(failing).toEqual(['filter.fields[0].name INVALID_FIELD_VALUE', 'filter.personId INVALID_ID', 'sourceId INVALID_ID']);
  });
});

describe('recordDeleted over server-sent events', () => {
  it('delivers records deleted over REST and GraphQL in its source, once each', async () => {
    const sourceId = await createSource();
    const otherSource = await createSource();
    const first = await ingest(sourceId, 'to-delete-1');
    const second = await ingest(sourceId, 'to-delete-2');
    const elsewhere = await ingest(otherSource, 'elsewhere');
    const stream = await subscribe(DELETED, { sourceId });
    expect((await rest.delete(`/feedback-sources/${otherSource}/records/${elsewhere.id}`)).status).toBe(200);
    expect((await rest.delete(`/feedback-sources/${sourceId}/records/${first.id}`, { key: randomUUID() })).status).toBe(200);
    expect((await rest.delete(`/feedback-sources/${sourceId}/records/${first.id}`)).status).toBe(404);
    const deleted = await graphql(server.url, 'mutation ($id: ID!) { deleteRecord(id: $id) { __typename } }', { id: second.id }, { token });
    expect(deleted.body.data).toEqual({ deleteRecord: { __typename: 'DeleteRecordSuccess' } });
    expect(await stream.nextResult()).toEqual({ data: { recordDeleted: { id: String(first.id), sourceId: String(sourceId) } } });
    expect(await stream.nextResult()).toEqual({ data: { recordDeleted: { id: String(second.id), sourceId: String(sourceId) } } });
  });
});

describe('authentication and scopes', () => {
  it('answers a subscription without a token 401 API_TOKEN_MISSING with the envelope, as JSON', async () => {
    for (const method of ['POST', 'GET'] as const) {
      const answer = await subscribeOverSse(server.url, { query: INGESTED, method, headers: method === 'GET' ? { 'x-graphql-yoga-csrf': '1' } : {} });
      if (!('refused' in answer)) throw new Error('the subscription was not refused');
      expectGraphQLErrorEnvelope(answer.refused, { status: 401, type: 'authentication_error', code: 'API_TOKEN_MISSING', param: null });
    }
  });

  it('answers a token without records:read 403 INSUFFICIENT_SCOPE naming the scope', async () => {
    const limited = await server.createToken('Acme Corp', { scopes: ['sources:read', 'records:write'] });
    const answer = await subscribeOverSse(server.url, { query: INGESTED, token: limited });
    if (!('refused' in answer)) throw new Error('the subscription was not refused');
    expectGraphQLErrorEnvelope(answer.refused, { status: 403, type: 'permission_error', code: 'INSUFFICIENT_SCOPE', param: null, message: 'records:read' });
  });

  it('refuses a GET subscription carrying neither a token header nor x-graphql-yoga-csrf (CSRF prevention)', async () => {
    const answer = await subscribeOverSse(server.url, { query: INGESTED, method: 'GET' });
    if (!('refused' in answer)) throw new Error('the subscription was not refused');
    expect(answer.refused.status).toBe(403);
  });

  it('ends a subscription whose token was revoked: its next event is null with API_TOKEN_REVOKED, then complete', async () => {
    const doomed = await server.createToken('Acme Corp');
    const sourceId = await createSource();
    const stream = await subscribe(INGESTED, { sourceId }, doomed);
    const { apiKeyId } = await keyOf(server.orm, hashToken(doomed));
    await revokeApiKey(server.orm.em.fork(), Number(apiKeyId));
    await waitUntil(async () => (await graphql(server.url, '{ viewer { scopes } }', {}, { token: doomed })).status === 401, 'the revocation is heard');
    await ingest(sourceId, 'after-revocation');
    const result = await stream.nextResult<Ingested>();
    expect(result.data).toEqual({ recordIngested: null });
    expect(result.errors?.[0]?.extensions).toMatchObject({ type: 'authentication_error', code: 'API_TOKEN_REVOKED' });
    expect((await stream.nextEvent())?.event).toBe('complete');
  });
});

describe('operations', () => {
  it('counts open SSE subscriptions and published events in /metrics, and forgets a subscriber that hung up', async () => {
    const sourceId = await createSource();
    const published = await metricValue(server.url, 'domain_events_published_total{type="feedback_record.created"}');
    const before = await metricValue(server.url, 'graphql_subscriptions_open{transport="sse"}');
    const stream = await openSse(server.url, { query: INGESTED, variables: { sourceId }, token });
    expect(await metricValue(server.url, 'graphql_subscriptions_open{transport="sse"}')).toBe(before + 1);
    await ingest(sourceId, 'counted');
    await nextRecord(stream);
    expect(await metricValue(server.url, 'domain_events_published_total{type="feedback_record.created"}')).toBe(published + 1);
    stream.close();
    await waitUntil(async () => (await metricValue(server.url, 'graphql_subscriptions_open{transport="sse"}')) === before, 'the subscription is closed');
  });

  it('gives the load-shedding place of an event stream back once it starts', async () => {
    const limited = await startTestServer({ MAX_CONCURRENT_REQUESTS: '1' });
    cleanups.push(() => limited.close());
    const limitedToken = await limited.createToken('Acme Corp');
    const streams = [];
    for (let i = 0; i < 3; i++) streams.push(await openSse(limited.url, { query: INGESTED, token: limitedToken }));
    for (const stream of streams) cleanups.push(() => stream.close());
    const source = await new RestClient(limited.url, limitedToken).createSource({ name: 'Admitted' });
    expect(source.name).toBe('Admitted');
    expect(await metricValue(limited.url, 'http_requests_in_flight')).toBe(0);
  });
});
