import { randomUUID } from 'node:crypto';
import type { Client } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { graphql, RestClient } from '../helpers/http.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { metricValue, subscribeOverWebSocket, type WebSocketSubscription, webSocketClient } from '../helpers/subscriptions.ts';
import { waitUntil } from '../helpers/wait.ts';

// SPEC §12 over WebSocket: the graphql-transport-ws protocol at /graphql (graphql-ws's own client
// here), the token in connectionParams, checked at connection_init.

let server: TestServer;
let token: string;
let rest: RestClient;
const clients: Client[] = [];

const INGESTED = 'subscription ($sourceId: ID) { recordIngested(sourceId: $sourceId) { id sourceId externalId } }';
const DELETED = 'subscription ($sourceId: ID) { recordDeleted(sourceId: $sourceId) { id sourceId } }';
const subject = (text: string) => [{ category: 'content', type: 'string', name: 'subject', value: text }];
const OPEN = 'graphql_subscriptions_open{transport="websocket"}';

beforeAll(async () => {
  server = await startTestServer();
  token = await server.createToken('Acme Corp');
  rest = new RestClient(server.url, token);
});

afterAll(async () => {
  for (const client of clients) await client.dispose();
  await server.close();
});

function connect(connectionParams: Record<string, unknown>) {
  const connection = webSocketClient(server.url, connectionParams);
  clients.push(connection.client);
  return connection;
}

async function createSource(client = rest): Promise<number> {
  return (await client.createSource({ name: `Source ${randomUUID()}` })).id;
}

/**
 * Subscribes and waits until the server counts the subscription open: graphql-ws acknowledges no
 * subscription, and events are only delivered from then on.
 */
async function subscribed(client: Client, query: string, variables: Record<string, unknown>): Promise<WebSocketSubscription> {
  const before = await metricValue(server.url, OPEN);
  const subscription = subscribeOverWebSocket(client, query, variables);
  await waitUntil(async () => (await metricValue(server.url, OPEN)) > before, 'the subscription is open');
  return subscription;
}

async function nextId(subscription: WebSocketSubscription, field: string): Promise<string> {
  const result = await subscription.nextResult<Record<string, { id: string } | null>>();
  expect(result.errors).toBeUndefined();
  return result.data?.[field]?.id ?? `no ${field} in ${JSON.stringify(result)}`;
}

describe('recordIngested over graphql-ws', () => {
  it('delivers records ingested over REST (with and without Idempotency-Key) and GraphQL, each once', async () => {
    const sourceId = await createSource();
    const { client } = connect({ 'x-api-token': token });
    const subscription = await subscribed(client, INGESTED, { sourceId });
    const plain = await rest.ingest(sourceId, { fields: subject('plain') });
    const key = randomUUID();
    const keyed = await rest.post<{ id: number }>(`/feedback-sources/${sourceId}/records`, { fields: subject('keyed') }, { key });
    expect((await rest.post(`/feedback-sources/${sourceId}/records`, { fields: subject('keyed') }, { key })).headers.get('idempotency-replayed')).toBe('true');
    const viaGraphQL = await graphql<{ ingestRecord: { record: { id: string } } }>(
      server.url,
      'mutation ($sourceId: ID!, $input: IngestRecordInput!) { ingestRecord(sourceId: $sourceId, input: $input) { ... on IngestRecordSuccess { record { id } } } }',
      { sourceId, input: { fields: subject('graphql') } },
      { token },
    );
    const control = await rest.ingest(sourceId, { fields: subject('control') });
    const expected = [String(plain.id), String(keyed.body.id), viaGraphQL.body.data?.ingestRecord.record.id, String(control.id)];
    const delivered = [];
    for (const _ of expected) delivered.push(await nextId(subscription, 'recordIngested'));
    expect(delivered).toEqual(expected);
  });

  it('accepts the token as authorization: Bearer in connectionParams, and delivers only its source and organization', async () => {
    const sourceId = await createSource();
    const { client } = connect({ authorization: `Bearer ${token}` });
    const subscription = await subscribed(client, INGESTED, { sourceId });
    const other = new RestClient(server.url, await server.createToken('Globex'));
    await other.ingest(await createSource(other), { fields: subject('globex') });
    await rest.ingest(await createSource(), { fields: subject('another source') });
    const wanted = await rest.ingest(sourceId, { fields: subject('wanted') });
    expect(await nextId(subscription, 'recordIngested')).toBe(String(wanted.id));
  });

  it('publishes nothing for a failed write', async () => {
    const sourceId = await createSource();
    await rest.ingest(sourceId, { external_id: 'taken', fields: subject('first') });
    const { client } = connect({ 'x-api-token': token });
    const subscription = await subscribed(client, INGESTED, { sourceId });
    expect((await rest.post(`/feedback-sources/${sourceId}/records`, { external_id: 'taken', fields: subject('again') })).status).toBe(409);
    const control = await rest.ingest(sourceId, { fields: subject('control') });
    expect(await nextId(subscription, 'recordIngested')).toBe(String(control.id));
  });

  it('delivers recordDeleted for its source', async () => {
    const sourceId = await createSource();
    const record = await rest.ingest(sourceId, { fields: subject('doomed') });
    const { client } = connect({ 'x-api-token': token });
    const subscription = await subscribed(client, DELETED, { sourceId });
    expect((await rest.delete(`/feedback-sources/${sourceId}/records/${record.id}`)).status).toBe(200);
    expect(await subscription.nextResult()).toEqual({ data: { recordDeleted: { id: String(record.id), sourceId: String(sourceId) } } });
  });

  it('answers a token without records:read with INSUFFICIENT_SCOPE and completes the subscription', async () => {
    const limited = await server.createToken('Acme Corp', { scopes: ['records:write'] });
    const { client } = connect({ 'x-api-token': limited });
    const subscription = subscribeOverWebSocket(client, INGESTED);
    const result = await subscription.nextResult();
    expect(result.errors?.[0]?.extensions).toMatchObject({ type: 'permission_error', code: 'INSUFFICIENT_SCOPE', request_id: expect.stringMatching(/^req_/) });
    await subscription.completed;
  });

  it('refuses queries and mutations: they go over HTTP, where rate limits and idempotency apply', async () => {
    const { client } = connect({ 'x-api-token': token });
    const subscription = subscribeOverWebSocket(client, '{ viewer { scopes } }');
    await expect(subscription.completed).rejects.toEqual([expect.objectContaining({ extensions: expect.objectContaining({ code: 'INVALID_GRAPHQL_REQUEST' }) })]);
  });

  it('answers an invalid document with INVALID_GRAPHQL_REQUEST', async () => {
    const { client } = connect({ 'x-api-token': token });
    const subscription = subscribeOverWebSocket(client, 'subscription { recordIngested { nope } }');
    await expect(subscription.completed).rejects.toEqual([expect.objectContaining({ extensions: expect.objectContaining({ code: 'INVALID_GRAPHQL_REQUEST', type: 'validation_error' }) })]);
  });
});

describe('connection_init', () => {
  it('closes a connection without a token with 4401 and API_TOKEN_MISSING as the reason', async () => {
    const { closed } = connect({});
    expect(await closed).toEqual({ code: 4401, reason: expect.stringMatching(/^API_TOKEN_MISSING: /) });
  });

  it('closes a connection with an unknown token with 4401 and API_TOKEN_INVALID', async () => {
    const { closed } = connect({ 'x-api-token': 'fgw_not-a-token' });
    expect(await closed).toEqual({ code: 4401, reason: expect.stringMatching(/^API_TOKEN_INVALID: /) });
  });

  it('closes a connection that sent x-api-key with WRONG_AUTH_HEADER', async () => {
    const { closed } = connect({ 'x-api-key': token });
    expect(await closed).toEqual({ code: 4401, reason: expect.stringMatching(/^WRONG_AUTH_HEADER: /) });
  });

  it('answers an upgrade to any other path 404', async () => {
    const socket = new WebSocket(`${server.url.replace('http', 'ws')}/v3/rest/feedback-sources`, 'graphql-transport-ws');
    const status = await new Promise<number>((resolve) => {
      socket.on('unexpected-response', (_request, response) => resolve(response.statusCode ?? 0));
      socket.on('error', () => resolve(0));
    });
    expect(status).toBe(404);
  });
});

describe('operations', () => {
  it('counts open WebSocket subscriptions and forgets those whose client went away', async () => {
    const before = await metricValue(server.url, OPEN);
    const { client } = connect({ 'x-api-token': token });
    const subscription = await subscribed(client, INGESTED, {});
    expect(await metricValue(server.url, OPEN)).toBe(before + 1);
    subscription.unsubscribe();
    await waitUntil(async () => (await metricValue(server.url, OPEN)) === before, 'the subscription is closed');
  });
});
