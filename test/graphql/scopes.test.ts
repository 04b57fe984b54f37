import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Scope, scopes as allScopes } from '../../src/organizations/scopes.ts';
import { Person } from '../../src/people/person.entity.ts';
import { FeedbackRecord } from '../../src/records/record.entity.ts';
import { FeedbackSource } from '../../src/sources/source.entity.ts';
import { type GraphQLReply, PUBLIC_URL } from '../helpers/http.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

/**
 * Every field whose resolver checks a scope is nullable: a token without that scope gets null in
 * that field alone, with an INSUFFICIENT_SCOPE error beside it, and everything else it asked for.
 */

type Path = (string | number)[];
type Data = Record<string, unknown>;

let server: TestServer;
let token: string;
const ids = { sourceId: '', personId: '', recordId: '' };
const fields = [{ category: 'content', type: 'string', name: 'subject', value: 'Export to CSV times out' }];

function allScopesExcept(scope: Scope): Scope[] {
  return allScopes.filter((other) => other !== scope);
}

function tokenWithout(scope: Scope): Promise<string> {
  return server.createToken('Acme Corp', { scopes: allScopesExcept(scope) });
}

/** The concrete paths a pattern names in `data`; `*` stands for every index of a list. */
function pathsIn(data: unknown, pattern: readonly string[], prefix: Path = []): Path[] {
  const [head, ...rest] = pattern;
  if (head === undefined) return [prefix];
  if (head === '*') return Array.isArray(data) ? data.flatMap((item, index) => pathsIn(item, rest, [...prefix, index])) : [];
  if (typeof data !== 'object' || data === null || !(head in data)) return [];
  return pathsIn((data as Data)[head], rest, [...prefix, head]);
}

/** `data` with null at each path: what a token refused at exactly those fields must get. */
function nulledAt(data: Data, paths: Path[]): Data {
  const copy = structuredClone(data);
  for (const path of paths) {
    let parent: unknown = copy;
    for (const key of path.slice(0, -1)) parent = (parent as Record<string | number, unknown>)[key];
    (parent as Record<string | number, unknown>)[path.at(-1) as string | number] = null;
  }
  return copy;
}

/** The response has one INSUFFICIENT_SCOPE error per refused path, each naming the scope, and nothing else. */
function expectRefused<T>(response: GraphQLReply<T>, paths: Path[], scope: Scope): void {
  const errors = response.body.errors ?? [];
  const byPath = (a: Path | undefined, b: Path | undefined) => String(JSON.stringify(a)).localeCompare(String(JSON.stringify(b)));
  expect(errors.map((error) => error.path).sort(byPath)).toEqual([...paths].sort(byPath));
  for (const error of errors) {
    expect(error.message).toBe(`This API token lacks the ${scope} scope.`);
    expect(error.extensions).toMatchObject({
      type: 'permission_error',
      code: 'INSUFFICIENT_SCOPE',
      message: `This API token lacks the ${scope} scope.`,
      retryable: false,
      request_id: response.headers.get('x-request-id'),
      doc_url: `${PUBLIC_URL}/docs/errors#INSUFFICIENT_SCOPE`,
    });
  }
}

beforeAll(async () => {
  server = await startTestServer();
  token = await server.createToken('Acme Corp');
  const source = await server.graphql<{ createFeedbackSource: { feedbackSource: { id: string } } }>(
    'mutation { createFeedbackSource(input: { name: "Zendesk Support Tickets", type: "support_tickets" }) { ... on CreateFeedbackSourceSuccess { feedbackSource { id } } } }',
    {},
    token,
  );
  const person = await server.graphql<{ upsertPerson: { person: { id: string } } }>(
    'mutation { upsertPerson(input: { email: "maria.garcia@northwind.example", company: { name: "Northwind Traders", domain: "northwind.example" } }) { ... on UpsertPersonSuccess { person { id } } } }',
    {},
    token,
  );
  ids.sourceId = String(source.body.data?.createFeedbackSource.feedbackSource.id);
  ids.personId = String(person.body.data?.upsertPerson.person.id);
  for (const externalId of ['zendesk-48213', 'zendesk-48214']) {
    const record = await server.graphql<{ ingestRecord: { record: { id: string } } }>(
      'mutation ($sourceId: ID!, $input: IngestRecordInput!) { ingestRecord(sourceId: $sourceId, input: $input) { ... on IngestRecordSuccess { record { id } } } }',
      { sourceId: ids.sourceId, input: { personId: ids.personId, externalId, fields } },
      token,
    );
    ids.recordId = String(record.body.data?.ingestRecord.record.id);
  }
  expect(Object.values(ids)).not.toContain('undefined');
});

afterAll(() => server.close());

interface QueryCase {
  field: string;
  scope: Scope;
  query: string;
  /** Where the refused field sits; `*` for every item of a list. */
  refused: string[];
  /** How many fields the pattern must hit in this organization's data, so the case cannot pass vacuously. */
  count: number;
}

const VIEWER = 'viewer { organization { name } }';

const queryCases: QueryCase[] = [
  { field: 'Query.feedbackSources', scope: 'sources:read', query: `{ ${VIEWER} feedbackSources { edges { node { id name } } } }`, refused: ['feedbackSources'], count: 1 },
  { field: 'Query.feedbackSource', scope: 'sources:read', query: `query ($sourceId: ID!) { ${VIEWER} feedbackSource(id: $sourceId) { id name } }`, refused: ['feedbackSource'], count: 1 },
  { field: 'Query.people', scope: 'people:read', query: `{ ${VIEWER} people { edges { node { id email } } } }`, refused: ['people'], count: 1 },
  { field: 'Query.person', scope: 'people:read', query: `query ($personId: ID!) { ${VIEWER} person(id: $personId) { id email } }`, refused: ['person'], count: 1 },
  { field: 'Query.records', scope: 'records:read', query: `{ ${VIEWER} records { edges { node { id displayTs } } } }`, refused: ['records'], count: 1 },
  { field: 'Query.record', scope: 'records:read', query: `query ($recordId: ID!) { ${VIEWER} record(id: $recordId) { id displayTs } }`, refused: ['record'], count: 1 },
  {
    field: 'FeedbackRecord.source in a list',
    scope: 'sources:read',
    query: '{ records { edges { cursor node { id sourceId fields { name value } source { id name } } } pageInfo { hasNextPage } } }',
    refused: ['records', 'edges', '*', 'node', 'source'],
    count: 2,
  },
  {
    field: 'FeedbackRecord.source',
    scope: 'sources:read',
    query: 'query ($recordId: ID!) { record(id: $recordId) { id externalId source { name } } }',
    refused: ['record', 'source'],
    count: 1,
  },
  {
    field: 'FeedbackRecord.person in a list',
    scope: 'people:read',
    query: '{ records { edges { node { id personId person { email company { name } } } } } }',
    refused: ['records', 'edges', '*', 'node', 'person'],
    count: 2,
  },
  {
    field: 'FeedbackRecord.person',
    scope: 'people:read',
    query: 'query ($recordId: ID!) { record(id: $recordId) { id personId person { email } } }',
    refused: ['record', 'person'],
    count: 1,
  },
  {
    field: 'FeedbackSource.records',
    scope: 'records:read',
    query: 'query ($sourceId: ID!) { feedbackSource(id: $sourceId) { id name recordCount records { edges { node { id } } } } }',
    refused: ['feedbackSource', 'records'],
    count: 1,
  },
  {
    field: 'FeedbackSource.records in a list',
    scope: 'records:read',
    query: '{ feedbackSources { edges { node { id name records { edges { node { id } } } } } } }',
    refused: ['feedbackSources', 'edges', '*', 'node', 'records'],
    count: 1,
  },
  {
    field: 'Person.records',
    scope: 'records:read',
    query: 'query ($personId: ID!) { person(id: $personId) { id email company { name } records { edges { node { id } } } } }',
    refused: ['person', 'records'],
    count: 1,
  },
];

describe('a query field refused for a missing scope', () => {
  it.each(queryCases)('nulls only $field without $scope, with INSUFFICIENT_SCOPE beside it, and answers 200', async ({ scope, query, refused, count }) => {
    const full = await server.graphql<Data>(query, ids, token);
    expect(full.body.errors).toBeUndefined();
    const fullData = full.body.data ?? {};
    const paths = pathsIn(fullData, refused);
    expect(paths).toHaveLength(count);

    const response = await server.graphql<Data>(query, ids, await tokenWithout(scope));
    expect(response.status).toBe(200);
    expect(response.body.data).toEqual(nulledAt(fullData, paths));
    expectRefused(response, paths, scope);
  });

  it.each(queryCases.filter((queryCase) => queryCase.refused.length === 1))(
    'answers 403 with $field null when it is the only field asked for and lacks $scope',
    async ({ scope, query, refused }) => {
      const alone = query.replace(`${VIEWER} `, '');
      const response = await server.graphql<Data>(alone, ids, await tokenWithout(scope));
      expect(response.status).toBe(403);
      expect(response.body.data).toEqual({ [String(refused[0])]: null });
      expectRefused(response, [refused], scope);
    },
  );

  it('answers 403 when every top-level field asked for is refused', async () => {
    const limited = await server.createToken('Acme Corp', { scopes: ['sources:write', 'people:write'] });
    const response = await server.graphql<Data>('{ feedbackSources { edges { node { id } } } people { edges { node { id } } } }', {}, limited);
    expect(response.status).toBe(403);
    expect(response.body.data).toEqual({ feedbackSources: null, people: null });
    expect(response.body.errors?.map((error) => error.extensions?.code)).toEqual(['INSUFFICIENT_SCOPE', 'INSUFFICIENT_SCOPE']);
    expect(response.body.errors?.map((error) => error.path).sort()).toEqual([['feedbackSources'], ['people']]);
  });

  it('lists records with their source null for a token with records:read but not sources:read', async () => {
    const limited = await server.createToken('Acme Corp', { scopes: ['records:read', 'records:write'] });
    const response = await server.graphql<{ records: { edges: { node: { id: string; source: unknown } }[] } }>(
      '{ records { edges { node { id source { name } } } } }',
      {},
      limited,
    );
    expect(response.status).toBe(200);
    const nodes = response.body.data?.records.edges.map((edge) => edge.node) ?? [];
    expect(nodes).toHaveLength(2);
    for (const node of nodes) expect(node).toEqual({ id: expect.any(String), source: null });
    expectRefused(response, [0, 1].map((index) => ['records', 'edges', index, 'node', 'source']), 'sources:read');
  });
});

const INGEST = (selection: string) => `mutation ($sourceId: ID!, $input: IngestRecordInput!) {
  ingestRecord(sourceId: $sourceId, input: $input) { __typename ... on IngestRecordSuccess { record { ${selection} } } ... on Error { code } }
}`;

interface IngestData {
  ingestRecord: { __typename: string; record: { id: string; [field: string]: unknown } };
}

async function storedRecord(id: string): Promise<FeedbackRecord | null> {
  return await server.orm.em.fork().findOne(FeedbackRecord, { id: Number(id) });
}

describe('a mutation payload field refused for a missing scope', () => {
  it('answers ingestRecord 200 with its payload and only source null for a token with records:read and records:write, and commits the record', async () => {
    const limited = await server.createToken('Acme Corp', { scopes: ['records:read', 'records:write'] });
    const response = await server.graphql<IngestData>(
      INGEST('id source { name }'),
      { sourceId: ids.sourceId, input: { externalId: 'issue-case', fields } },
      limited,
    );
    expect(response.status).toBe(200);
    const recordId = String(response.body.data?.ingestRecord.record.id);
    expect(response.body.data).toEqual({ ingestRecord: { __typename: 'IngestRecordSuccess', record: { id: recordId, source: null } } });
    expectRefused(response, [['ingestRecord', 'record', 'source']], 'sources:read');

    const readBack = await server.graphql<{ record: { id: string; externalId: string; sourceId: string } }>(
      'query ($id: ID!) { record(id: $id) { id externalId sourceId } }',
      { id: recordId },
      limited,
    );
    expect(readBack.body).toEqual({ data: { record: { id: recordId, externalId: 'issue-case', sourceId: ids.sourceId } } });
    const stored = await storedRecord(recordId);
    expect(stored?.source.id).toBe(Number(ids.sourceId));
    expect(stored?.fields).toEqual(fields);
  });

  it('answers ingestRecord with only source null for a token with every scope but sources:read', async () => {
    const response = await server.graphql<IngestData>(
      INGEST('id sourceId fields { name value } source { name }'),
      { sourceId: ids.sourceId, input: { externalId: 'no-sources-read', fields } },
      await tokenWithout('sources:read'),
    );
    expect(response.status).toBe(200);
    const recordId = String(response.body.data?.ingestRecord.record.id);
    expect(response.body.data?.ingestRecord.record).toEqual({ id: recordId, sourceId: ids.sourceId, fields: [{ name: 'subject', value: fields[0]?.value }], source: null });
    expectRefused(response, [['ingestRecord', 'record', 'source']], 'sources:read');
    expect(await storedRecord(recordId)).not.toBeNull();
  });

  it('answers ingestRecord with only person null for a token without people:read', async () => {
    const response = await server.graphql<IngestData>(
      INGEST('id personId person { email } source { name }'),
      { sourceId: ids.sourceId, input: { personId: ids.personId, externalId: 'no-people-read', fields } },
      await tokenWithout('people:read'),
    );
    expect(response.status).toBe(200);
    const recordId = String(response.body.data?.ingestRecord.record.id);
    expect(response.body.data?.ingestRecord.record).toEqual({ id: recordId, personId: ids.personId, person: null, source: { name: 'Zendesk Support Tickets' } });
    expectRefused(response, [['ingestRecord', 'record', 'person']], 'people:read');
    expect((await storedRecord(recordId))?.person?.id).toBe(Number(ids.personId));
  });

  it('answers ingestRecords with each record\'s source null for a token without sources:read, and commits every record', async () => {
    const response = await server.graphql<{ ingestRecords: { ingestedCount: number; results: { record: { id: string; source: unknown } }[] } }>(
      `mutation ($sourceId: ID!, $records: [IngestRecordInput!]!) {
        ingestRecords(sourceId: $sourceId, records: $records) {
          ... on IngestRecordsSuccess { ingestedCount results { ... on IngestRecordSuccess { record { id source { name } } } } }
        }
      }`,
      { sourceId: ids.sourceId, records: [{ externalId: 'batch-1', fields }, { externalId: 'batch-2', fields }] },
      await tokenWithout('sources:read'),
    );
    expect(response.status).toBe(200);
    expect(response.body.data?.ingestRecords.ingestedCount).toBe(2);
    const results = response.body.data?.ingestRecords.results ?? [];
    expect(results.map((result) => result.record.source)).toEqual([null, null]);
    expectRefused(response, [0, 1].map((index) => ['ingestRecords', 'results', index, 'record', 'source']), 'sources:read');
    for (const result of results) expect(await storedRecord(result.record.id)).not.toBeNull();
  });

  it('answers createFeedbackSource with only records null for a token without records:read, and commits the source', async () => {
    const response = await server.graphql<{ createFeedbackSource: { feedbackSource: { id: string; name: string; records: unknown } } }>(
      'mutation { createFeedbackSource(input: { name: "NPS survey" }) { ... on CreateFeedbackSourceSuccess { feedbackSource { id name records { edges { node { id } } } } } } }',
      {},
      await tokenWithout('records:read'),
    );
    expect(response.status).toBe(200);
    const source = response.body.data?.createFeedbackSource.feedbackSource;
    expect(source).toEqual({ id: expect.any(String), name: 'NPS survey', records: null });
    expectRefused(response, [['createFeedbackSource', 'feedbackSource', 'records']], 'records:read');
    expect(await server.orm.em.fork().findOne(FeedbackSource, { id: Number(source?.id) })).toMatchObject({ name: 'NPS survey' });
  });

  it('answers updateFeedbackSource with only records null for a token without records:read, and commits the change', async () => {
    const created = await server.graphql<{ createFeedbackSource: { feedbackSource: { id: string } } }>(
      'mutation { createFeedbackSource(input: { name: "Chat" }) { ... on CreateFeedbackSourceSuccess { feedbackSource { id } } } }',
      {},
      token,
    );
    const id = String(created.body.data?.createFeedbackSource.feedbackSource.id);
    const response = await server.graphql<{ updateFeedbackSource: { feedbackSource: unknown } }>(
      'mutation ($id: ID!) { updateFeedbackSource(id: $id, input: { name: "Live chat" }) { ... on UpdateFeedbackSourceSuccess { feedbackSource { id name records { edges { node { id } } } } } } }',
      { id },
      await tokenWithout('records:read'),
    );
    expect(response.status).toBe(200);
    expect(response.body.data?.updateFeedbackSource.feedbackSource).toEqual({ id, name: 'Live chat', records: null });
    expectRefused(response, [['updateFeedbackSource', 'feedbackSource', 'records']], 'records:read');
    expect(await server.orm.em.fork().findOne(FeedbackSource, { id: Number(id) })).toMatchObject({ name: 'Live chat' });
  });

  it('answers upsertPerson with only records null for a token without records:read, and commits the person', async () => {
    const response = await server.graphql<{ upsertPerson: { person: { id: string; email: string; records: unknown } } }>(
      'mutation { upsertPerson(input: { email: "li.wei@contoso.example" }) { ... on UpsertPersonSuccess { person { id email records { edges { node { id } } } } } } }',
      {},
      await tokenWithout('records:read'),
    );
    expect(response.status).toBe(200);
    const person = response.body.data?.upsertPerson.person;
    expect(person).toEqual({ id: expect.any(String), email: 'li.wei@contoso.example', records: null });
    expectRefused(response, [['upsertPerson', 'person', 'records']], 'records:read');
    expect(await server.orm.em.fork().findOne(Person, { id: Number(person?.id) })).toMatchObject({ email: 'li.wei@contoso.example' });
  });
});

describe('relations inside one scope family', () => {
  it('answers upsertPerson { person { company } } for a token with people:write only: the company is part of the person', async () => {
    const writeOnly = await server.createToken('Acme Corp', { scopes: ['people:write'] });
    const response = await server.graphql<{ upsertPerson: { person: unknown } }>(
      'mutation { upsertPerson(input: { email: "jo.kim@fabrikam.example", company: { name: "Fabrikam", domain: "fabrikam.example" } }) { ... on UpsertPersonSuccess { person { email company { name domain } } } } }',
      {},
      writeOnly,
    );
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ data: { upsertPerson: { person: { email: 'jo.kim@fabrikam.example', company: { name: 'Fabrikam', domain: 'fabrikam.example' } } } } });
  });

  it('answers upsertPerson { person { company } } for a token with people:write only when the update leaves the stored company linked', async () => {
    const writeOnly = await server.createToken('Acme Corp', { scopes: ['people:write'] });
    const response = await server.graphql<{ upsertPerson: { person: unknown } }>(
      'mutation { upsertPerson(input: { email: "maria.garcia@northwind.example", firstName: "María" }) { ... on UpsertPersonSuccess { person { id firstName company { name } } } } }',
      {},
      writeOnly,
    );
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ data: { upsertPerson: { person: { id: ids.personId, firstName: 'María', company: { name: 'Northwind Traders' } } } } });
  });

  it('answers person { company } for a token with people:read only', async () => {
    const readOnly = await server.createToken('Acme Corp', { scopes: ['people:read'] });
    const response = await server.graphql('query ($personId: ID!) { person(id: $personId) { company { name } } }', { personId: ids.personId }, readOnly);
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ data: { person: { company: { name: 'Northwind Traders' } } } });
  });
});
