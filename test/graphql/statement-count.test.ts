import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { countStatements } from '../helpers/sql-counter.ts';

let server: TestServer;
let token: string;
let sourceId: string;

const ingest = `mutation ($sourceId: ID!, $records: [IngestRecordInput!]!) {
  ingestRecords(sourceId: $sourceId, records: $records) { __typename ... on IngestRecordsSuccess { ingestedCount } }
}`;

const listWithRelations = `query ($sourceId: ID, $first: Int) {
  records(sourceId: $sourceId, first: $first) {
    edges { node { id fields { name value } source { id name } person { id email company { id name } } } }
  }
}`;

beforeAll(async () => {
  server = await startTestServer();
  token = await server.createToken('counting');
  const created = await server.graphql<{ createFeedbackSource: { feedbackSource: { id: string } } }>(
    'mutation { createFeedbackSource(input: { name: "Zendesk Support Tickets", type: "support_tickets" }) { ... on CreateFeedbackSourceSuccess { feedbackSource { id } } } }',
    {},
    token,
  );
  sourceId = created.body.data?.createFeedbackSource.feedbackSource.id as string;
  const people: string[] = [];
  for (let i = 0; i < 20; i++) {
    const upserted = await server.graphql<{ upsertPerson: { person: { id: string } } }>(
      'mutation ($input: UpsertPersonInput!) { upsertPerson(input: $input) { ... on UpsertPersonSuccess { person { id } } } }',
      { input: { email: `person${i}@example.com`, company: { name: `Company ${i % 7}`, domain: `company${i % 7}.example` } } },
      token,
    );
    people.push(upserted.body.data?.upsertPerson.person.id as string);
  }
  const records = Array.from({ length: 100 }, (_, i) => ({
    externalId: `ticket-${i}`,
    personId: people[i % people.length],
    fields: [{ category: 'content', type: 'string', name: 'subject', value: `Ticket ${i}` }],
  }));
  const result = await server.graphql<{ ingestRecords: { ingestedCount: number } }>(ingest, { sourceId, records }, token);
  expect(result.body.data?.ingestRecords.ingestedCount).toBe(100);
});

afterAll(() => server.close());

/** A token never used before, so the request pays for its lookup whatever the server caches. */
const freshToken = () => server.createToken('counting');

describe('listing records with their source, person and company', () => {
  it('costs at most 3 SQL statements for 100 records, the token lookup included', async () => {
    const unused = await freshToken();
    const { result, statements } = await countStatements(() => server.graphql<{ records: { edges: unknown[] } }>(listWithRelations, { sourceId, first: 100 }, unused));
    expect(result.status).toBe(200);
    expect(result.body.errors).toBeUndefined();
    expect(result.body.data?.records.edges).toHaveLength(100);
    expect(statements.length, statements.join('\n')).toBeLessThanOrEqual(3);
  });

  it('costs the same number of statements for 10 records as for 100', async () => {
    const [first, second] = [await freshToken(), await freshToken()];
    const small = await countStatements(() => server.graphql(listWithRelations, { sourceId, first: 10 }, first));
    const large = await countStatements(() => server.graphql(listWithRelations, { sourceId, first: 100 }, second));
    expect(small.statements.length).toBe(large.statements.length);
  });
});
