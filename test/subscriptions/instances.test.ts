import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql, RestClient } from '../helpers/http.ts';
import { type ChildService, startServerProcess } from '../helpers/process-server.ts';
import { runRedisSuites, startRedis } from '../helpers/redis-server.ts';
import { createDatabaseWithToken, openTestDatabase } from '../helpers/server.ts';
import { type EventStream, metricValue, openSse, subscribeOverWebSocket, webSocketClient } from '../helpers/subscriptions.ts';
import { waitUntil } from '../helpers/wait.ts';

// SPEC §13: instances sharing one PostgreSQL and one Redis deliver subscriptions as one process
// does. Two gateway processes on one database and a real Redis: a write through one reaches the
// subscribers of the other, once. Without REDIS_URL each process delivers its own writes (every
// other suite of this folder runs that way).

const INGESTED = 'subscription ($sourceId: ID) { recordIngested(sourceId: $sourceId) { id sourceId } }';
const DELETED = 'subscription ($sourceId: ID) { recordDeleted(sourceId: $sourceId) { id sourceId } }';
const subject = (text: string) => [{ category: 'content', type: 'string', name: 'subject', value: text }];

const closers: (() => Promise<unknown> | unknown)[] = [];

afterAll(async () => {
  for (const close of closers.reverse()) await close();
});

async function nextId(stream: EventStream, field: string): Promise<string> {
  const result = await stream.nextResult<Record<string, { id: string } | null>>();
  return result.data?.[field]?.id ?? `no ${field} in ${JSON.stringify(result)}`;
}

describe.runIf(runRedisSuites())('two processes sharing a database and a Redis', () => {
  let one: ChildService;
  let two: ChildService;
  let token: string;
  let otherToken: string;

  beforeAll(async () => {
    const redis = await startRedis();
    closers.push(() => redis.stop());
    const database = await openTestDatabase();
    closers.push(() => database.orm.close());
    // The organizations exist before the processes start, so neither prints a first-start token.
    token = await database.createToken('Acme Corp');
    otherToken = await database.createToken('Globex');
    const env = { DATABASE_URL: database.url, REDIS_URL: redis.url, RATE_LIMIT_PER_MINUTE: '0' };
    const starting = [startServerProcess(env), startServerProcess(env)];
    for (const started of await Promise.allSettled(starting)) if (started.status === 'fulfilled') closers.push(() => started.value.stop());
    [one, two] = await Promise.all(starting) as [ChildService, ChildService];
  });

  it('delivers a record ingested through one process to an SSE subscriber of the other, once', async () => {
    const rest = new RestClient(two.url, token);
    const sourceId = (await rest.createSource({ name: `Source ${randomUUID()}` })).id;
    const stream = await openSse(one.url, { query: INGESTED, variables: { sourceId }, token });
    closers.push(() => stream.close());
    const first = await rest.ingest(sourceId, { fields: subject('through two') });
    const second = await new RestClient(one.url, token).ingest(sourceId, { fields: subject('through one') });
    expect(await nextId(stream, 'recordIngested')).toBe(String(first.id));
    expect(await nextId(stream, 'recordIngested')).toBe(String(second.id));
  });

  it("delivers to a WebSocket subscriber of one process a GraphQL ingest and a delete made through the other, and nothing of another organization's", async () => {
    const rest = new RestClient(one.url, token);
    const sourceId = (await rest.createSource({ name: `Source ${randomUUID()}` })).id;
    const { client } = webSocketClient(two.url, { 'x-api-token': token });
    closers.push(() => client.dispose());
    const ingested = subscribeOverWebSocket(client, INGESTED, { sourceId });
    const deleted = subscribeOverWebSocket(client, DELETED, { sourceId });
    await waitUntil(async () => (await metricValue(two.url, 'graphql_subscriptions_open{transport="websocket"}')) === 2, 'both subscriptions are open');

    const globex = new RestClient(one.url, otherToken);
    await globex.ingest((await globex.createSource({ name: 'Globex source' })).id, { fields: subject('not for Acme') });
    const viaGraphQL = await graphql<{ ingestRecord: { record: { id: string } } }>(
      one.url,
      'mutation ($sourceId: ID!, $input: IngestRecordInput!) { ingestRecord(sourceId: $sourceId, input: $input) { ... on IngestRecordSuccess { record { id } } } }',
      { sourceId, input: { fields: subject('over GraphQL through one') } },
      { token, key: randomUUID() },
    );
    const id = viaGraphQL.body.data?.ingestRecord.record.id;
    expect((await ingested.nextResult()).data).toEqual({ recordIngested: { id, sourceId: String(sourceId) } });
    expect((await rest.delete(`/feedback-sources/${sourceId}/records/${id}`)).status).toBe(200);
    expect((await deleted.nextResult()).data).toEqual({ recordDeleted: { id, sourceId: String(sourceId) } });
  });
});

describe('without REDIS_URL', () => {
  it('delivers within the process, and another process on the same database does not see it', async () => {
    const { databaseUrl, token } = await createDatabaseWithToken('Acme Corp');
    const env = { DATABASE_URL: databaseUrl, RATE_LIMIT_PER_MINUTE: '0' };
    const starting = [startServerProcess(env), startServerProcess(env)];
    for (const started of await Promise.allSettled(starting)) if (started.status === 'fulfilled') closers.push(() => started.value.stop());
    const [one, two] = (await Promise.all(starting)) as [ChildService, ChildService];
    const sourceId = (await new RestClient(one.url, token).createSource({ name: 'In process' })).id;
    const stream = await openSse(one.url, { query: INGESTED, variables: { sourceId }, token });
    closers.push(() => stream.close());
    await new RestClient(two.url, token).ingest(sourceId, { fields: subject('elsewhere') });
    const local = await new RestClient(one.url, token).ingest(sourceId, { fields: subject('here') });
    expect(await nextId(stream, 'recordIngested')).toBe(String(local.id));
  });
});
