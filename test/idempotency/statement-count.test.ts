import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RestClient } from '../helpers/http.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { countStatements } from '../helpers/sql-counter.ts';

// Issue #10, item 6: an ingest with an Idempotency-Key costs five statements or fewer in all (BEGIN,
// the key's lock and stored-response lookup, the write, the stored response, COMMIT) and its replay
// three (BEGIN, lock and lookup, COMMIT), with a token the server already verified.

let server: TestServer;
let token: string;
let sourceId: number;

const ingestMutation = `mutation ($sourceId: ID!, $input: IngestRecordInput!) {
  ingestRecord(sourceId: $sourceId, input: $input) { __typename ... on IngestRecordSuccess { record { id sourceId fields { name value } } } }
}`;

function recordInput(text: string) {
  return { fields: [{ category: 'content', type: 'string', name: 'text', value: text }] };
}

const ingestRest = (key: string, text: string) => new RestClient(server.url, token).post<{ id: number }>(`/feedback-sources/${sourceId}/records`, recordInput(text), { key });
const ingestGraphQL = (key: string, text: string) =>
  server.graphql<{ ingestRecord: { __typename: string } }>(ingestMutation, { sourceId: String(sourceId), input: recordInput(text) }, token, { 'idempotency-key': key });

beforeAll(async () => {
  server = await startTestServer();
  token = await server.createToken('Counting Corp');
  // Also warms the token: what is counted below is each request's own statements.
  const created = await new RestClient(server.url, token).post<{ id: number }>('/feedback-sources', { name: 'Zendesk Support Tickets' });
  expect(created.status).toBe(201);
  sourceId = created.body.id;
});

afterAll(() => server.close());

describe('REST POST /feedback-sources/{id}/records with an Idempotency-Key', () => {
  it('costs at most 5 statements the first time', async () => {
    const { result, statements } = await countStatements(() => ingestRest(randomUUID(), 'Counted'));
    expect(result.status).toBe(201);
    expect(result.headers.get('idempotency-replayed')).toBeNull();
    expect(statements.length, statements.join('\n')).toBeLessThanOrEqual(5);
  });

  it('costs at most 3 statements to replay', async () => {
    const key = randomUUID();
    expect((await ingestRest(key, 'Replayed')).status).toBe(201);
    const { result, statements } = await countStatements(() => ingestRest(key, 'Replayed'));
    expect(result.status).toBe(201);
    expect(result.headers.get('idempotency-replayed')).toBe('true');
    expect(statements.length, statements.join('\n')).toBeLessThanOrEqual(3);
  });
});

describe('GraphQL ingestRecord with an Idempotency-Key', () => {
  it('costs at most 5 statements the first time', async () => {
    const { result, statements } = await countStatements(() => ingestGraphQL(randomUUID(), 'Counted'));
    expect(result.body.data?.ingestRecord.__typename).toBe('IngestRecordSuccess');
    expect(result.headers.get('idempotency-replayed')).toBeNull();
    expect(statements.length, statements.join('\n')).toBeLessThanOrEqual(5);
  });

  it('costs at most 3 statements to replay', async () => {
    const key = randomUUID();
    expect((await ingestGraphQL(key, 'Replayed')).body.data?.ingestRecord.__typename).toBe('IngestRecordSuccess');
    const { result, statements } = await countStatements(() => ingestGraphQL(key, 'Replayed'));
    expect(result.body.data?.ingestRecord.__typename).toBe('IngestRecordSuccess');
    expect(result.headers.get('idempotency-replayed')).toBe('true');
    expect(statements.length, statements.join('\n')).toBeLessThanOrEqual(3);
  });
});
