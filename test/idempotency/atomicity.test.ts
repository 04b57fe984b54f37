import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { IdempotencyKey } from '../../src/idempotency/idempotency-key.entity.ts';
import { FeedbackRecord } from '../../src/records/record.entity.ts';
import { expectErrorEnvelope, expectGraphQLErrorEnvelope, RestClient } from '../helpers/http.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { runSql } from '../helpers/sql.ts';

let server: TestServer;
let databaseUrl: string;
let token: string;

const FAILURE = 'idempotency store refused by the test trigger';
const ingestMutation = `mutation ($sourceId: ID!, $input: IngestRecordInput!) {
  ingestRecord(sourceId: $sourceId, input: $input) { __typename ... on IngestRecordSuccess { record { id } } }
}`;

function recordInput(text: string) {
  return { fields: [{ category: 'content', type: 'string', name: 'text', value: text }] };
}

/** Makes every attempt to store a response fail, as a crash between the write and its key would. */
async function refuseStoredResponses(): Promise<void> {
  await runSql(
    databaseUrl,
    `create or replace function refuse_idempotency_key() returns trigger language plpgsql as $$ begin raise exception '${FAILURE}'; end $$;
     create trigger refuse_idempotency_key before insert on idempotency_key for each row execute function refuse_idempotency_key();`,
  );
}

async function acceptStoredResponses(): Promise<void> {
  await runSql(databaseUrl, 'drop trigger if exists refuse_idempotency_key on idempotency_key');
}

async function createSource(): Promise<number> {
  const response = await new RestClient(server.url, token).post<{ id: number }>('/feedback-sources', { name: `Source ${randomUUID()}` });
  expect(response.status).toBe(201);
  return response.body.id;
}

function ingestRest(sourceId: number, key: string) {
  return new RestClient(server.url, token).post(`/feedback-sources/${sourceId}/records`, recordInput('Atomic'), { key });
}

function ingestGraphQL(sourceId: number, key: string) {
  return server.graphql<{ ingestRecord: { __typename: string; record?: { id: string } } }>(ingestMutation, { sourceId: String(sourceId), input: recordInput('Atomic') }, token, {
    'idempotency-key': key,
  });
}

function countRecords(sourceId: number): Promise<number> {
  return server.orm.em.fork().count(FeedbackRecord, { source: sourceId });
}

beforeAll(async () => {
  server = await startTestServer();
  databaseUrl = server.orm.config.get('clientUrl') ?? '';
  token = await server.createToken('Acme Corp');
});

afterEach(acceptStoredResponses);

afterAll(() => server.close());

describe('REST: the write and its stored response commit in one transaction', () => {
  it('answers 500 server_error INTERNAL_ERROR, without the database message, when the response cannot be stored', async () => {
    const sourceId = await createSource();
    await refuseStoredResponses();
    const response = await ingestRest(sourceId, randomUUID());
    expectErrorEnvelope(response, { status: 500, type: 'server_error', code: 'INTERNAL_ERROR', param: null });
    expect(response.text).not.toContain(FAILURE);
  });

  it('rolls the record back when the response cannot be stored', async () => {
    const sourceId = await createSource();
    await refuseStoredResponses();
    await ingestRest(sourceId, randomUUID());
    expect(await countRecords(sourceId)).toBe(0);
  });

  it('answers 201 to the retry with the same key once the response can be stored, leaving exactly one record', async () => {
    const sourceId = await createSource();
    const key = randomUUID();
    await refuseStoredResponses();
    const failed = await ingestRest(sourceId, key);
    expect(failed.status).toBe(500);
    await acceptStoredResponses();

    const retry = await ingestRest(sourceId, key);
    expect(retry.status).toBe(201);
    expect(retry.headers.get('idempotency-replayed')).toBeNull();
    expect(await countRecords(sourceId)).toBe(1);
    expect(await server.orm.em.fork().count(IdempotencyKey, { key })).toBe(1);
  });
});

describe('GraphQL: the mutation and its stored response commit in one transaction', () => {
  it('answers 500 with a server_error INTERNAL_ERROR, without the database message, when the response cannot be stored', async () => {
    const sourceId = await createSource();
    await refuseStoredResponses();
    const response = await ingestGraphQL(sourceId, randomUUID());
    expectGraphQLErrorEnvelope(response, { status: 500, type: 'server_error', code: 'INTERNAL_ERROR', param: null });
    expect(JSON.stringify(response.body)).not.toContain(FAILURE);
  });

  it('rolls the ingested record back when the response cannot be stored', async () => {
    const sourceId = await createSource();
    await refuseStoredResponses();
    await ingestGraphQL(sourceId, randomUUID());
    expect(await countRecords(sourceId)).toBe(0);
  });

  it('ingests on the retry with the same key once the response can be stored, leaving exactly one record', async () => {
    const sourceId = await createSource();
    const key = randomUUID();
    await refuseStoredResponses();
    const failed = await ingestGraphQL(sourceId, key);
    expect(failed.status).toBe(500);
    await acceptStoredResponses();

    const retry = await ingestGraphQL(sourceId, key);
    expect(retry.status).toBe(200);
    expect(retry.headers.get('idempotency-replayed')).toBeNull();
    expect(retry.body.data?.ingestRecord.__typename).toBe('IngestRecordSuccess');
    expect(await countRecords(sourceId)).toBe(1);
    expect(await server.orm.em.fork().count(IdempotencyKey, { key })).toBe(1);
  });
});
