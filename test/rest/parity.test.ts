import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Person } from '../../src/people/person.entity.ts';
import { FeedbackRecord } from '../../src/records/record.entity.ts';
import { FeedbackSource } from '../../src/sources/source.entity.ts';
import { type ErrorEnvelope, expectErrorEnvelope, type HttpReply, RestClient, type UnionMember } from '../helpers/http.ts';
import { type Example, loadExample, type RestPage, type RestPerson, type RestRecord, type RestSource, textRecord } from '../helpers/resources.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

let server: TestServer;
let token: string;
let api: RestClient;

beforeAll(async () => {
  server = await startTestServer();
  token = await server.createToken('Acme Corp');
  api = new RestClient(server.url, token);
});

afterAll(() => server.close());

const SOURCE = 'id name type description recordCount createdAt updatedAt';
const PERSON = 'id email externalId firstName lastName phone boundary companyId company { id name domain } createdAt updatedAt';
const RECORD = 'id sourceId personId externalId displayTs fields { category type name value } createdAt';
const ERROR = '... on Error { type code message param }';

const RECORD_QUERY = `query ($id: ID!) { record(id: $id) { ${RECORD} source { ${SOURCE} } person { ${PERSON} } } }`;
const RECORDS_QUERY = `query ($sourceId: ID!) { records(sourceId: $sourceId, first: 100) { edges { node { ${RECORD} } } pageInfo { hasNextPage } } }`;
const CREATE_SOURCE = `mutation ($input: FeedbackSourceInput!) {
  createFeedbackSource(input: $input) { __typename ... on CreateFeedbackSourceSuccess { feedbackSource { ${SOURCE} } } ${ERROR} }
}`;
const UPSERT_PERSON = `mutation ($input: UpsertPersonInput!) {
  upsertPerson(input: $input) { __typename ... on UpsertPersonSuccess { person { ${PERSON} } } ${ERROR} }
}`;
const INGEST_RECORD = `mutation ($sourceId: ID!, $input: IngestRecordInput!) {
  ingestRecord(sourceId: $sourceId, input: $input) { __typename ... on IngestRecordSuccess { record { ${RECORD} } } ${ERROR} }
}`;

type GraphQLObject = Record<string, unknown>;

interface GraphQLRecord extends GraphQLObject {
  id: string;
  source: GraphQLObject;
  person: GraphQLObject | null;
}

interface Payload extends UnionMember {
  feedbackSource?: GraphQLObject & { id: string };
  person?: GraphQLObject & { id: string };
  record?: GraphQLObject & { id: string };
}

/** `displayTs` → `display_ts`. */
function snakeCase(key: string): string {
  return key.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);
}

/**
 * A GraphQL object in its REST form: snake_case keys and integer ids (`id`, `*_id` but not
 * `external_id`). Field values are the client's JSON and stay exactly as they are.
 */
function asRest(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(asRest);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, item]) => {
      const name = snakeCase(key);
      if (name === 'fields') return [name, item];
      const isId = name === 'id' || (name.endsWith('_id') && name !== 'external_id');
      return [name, isId && typeof item === 'string' ? Number(item) : asRest(item)];
    }),
  );
}

/** A REST body (snake_case keys) as a GraphQL input (camelCase keys); nested values untouched. */
function camelCaseInput(body: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(body).map(([key, value]) => [key.replace(/_([a-z])/g, (_match, letter: string) => letter.toUpperCase()), value]));
}

async function graphqlRecord(id: number | string): Promise<GraphQLRecord> {
  const response = await server.graphql<{ record: GraphQLRecord | null }>(RECORD_QUERY, { id: String(id) }, token);
  expect(response.body.errors).toBeUndefined();
  const record = response.body.data?.record;
  if (!record) throw new Error(`expected GraphQL record ${id}`);
  return record;
}

async function mutate(query: string, variables: Record<string, unknown>, field: string): Promise<Payload> {
  const response = await server.graphql<Record<string, Payload>>(query, variables, token);
  expect(response.body.errors).toBeUndefined();
  const payload = response.body.data?.[field];
  if (!payload) throw new Error(`expected a ${field} payload`);
  return payload;
}

/** Camel-case JSON keys inside a json field value, which neither API may rewrite. */
const RAW_PAYLOAD_FIELD = { category: 'metadata', type: 'json', name: 'rawPayload', value: { userId: 'U01AB', threadTs: '1710412345.001200', nested: { replyCount: 2, ok: true } } };

describe('a record ingested over REST, read over GraphQL', () => {
  let example: Example;
  let source: RestSource;
  let person: RestPerson;
  let record: RestRecord;
  let node: GraphQLRecord;

  beforeAll(async () => {
    example = await loadExample<Example>('support-tickets.json');
    source = await api.createSource(example.source);
    person = await api.upsertPerson({ ...example.person, external_id: 'crm-parity-1' });
    record = await api.ingest(source.id, { ...example.record, person_id: person.id, fields: [...example.record.fields, RAW_PAYLOAD_FIELD] });
    node = await graphqlRecord(record.id);
  });

  it('has the same record over GraphQL record(id) as over REST', () => {
    const { source: _source, person: _person, ...fields } = node;
    expect(asRest(fields)).toEqual(record);
  });

  it('has the same record fields, value for value, over both APIs', () => {
    expect(node.fields).toEqual(record.fields);
    expect(node.fields).toEqual([...example.record.fields, RAW_PAYLOAD_FIELD]);
  });

  it('has the same source over GraphQL record.source as over GET /feedback-sources/{id}', async () => {
    const response = await api.get<RestSource>(`/feedback-sources/${source.id}`);
    expect(response.status).toBe(200);
    expect(asRest(node.source)).toEqual(response.body);
  });

  it('has the same person and company over GraphQL record.person as over GET /people/{id}', async () => {
    const response = await api.get<RestPerson>(`/people/${person.id}`);
    expect(response.status).toBe(200);
    expect(asRest(node.person)).toEqual(response.body);
    expect(response.body.company).toMatchObject({ name: 'Northwind Traders', domain: 'northwind.example' });
  });

  it("lists the same records over GraphQL records(sourceId) as over GET /feedback-sources/{id}/records", async () => {
    await api.ingest(source.id, textRecord('A second ticket', { display_ts: '2025-03-15T08:00:00Z' }));
    const rest = await api.get<RestPage<RestRecord>>(`/feedback-sources/${source.id}/records`, { query: { limit: 100 } });
    const graphql = await server.graphql<{ records: { edges: { node: GraphQLObject }[] } }>(RECORDS_QUERY, { sourceId: String(source.id) }, token);
    expect(graphql.body.errors).toBeUndefined();
    expect(rest.body.data).toHaveLength(2);
    expect(graphql.body.data?.records.edges.map((edge) => asRest(edge.node))).toEqual(rest.body.data);
  });
});

describe('a record ingested over GraphQL, read over REST', () => {
  let example: Example;
  let source: GraphQLObject & { id: string };
  let person: GraphQLObject & { id: string };
  let record: GraphQLObject & { id: string };

  beforeAll(async () => {
    example = await loadExample<Example>('slack-feedback.json');
    const created = await mutate(CREATE_SOURCE, { input: example.source }, 'createFeedbackSource');
    const upserted = await mutate(UPSERT_PERSON, { input: camelCaseInput({ ...example.person, phone: '+819012345678' }) }, 'upsertPerson');
    if (!created.feedbackSource || !upserted.person) throw new Error(`expected a source and a person, got ${JSON.stringify({ created, upserted })}`);
    source = created.feedbackSource;
    person = upserted.person;
    const input = camelCaseInput({ ...example.record, person_id: person.id, fields: [...example.record.fields, RAW_PAYLOAD_FIELD] });
    const ingested = await mutate(INGEST_RECORD, { sourceId: source.id, input }, 'ingestRecord');
    if (!ingested.record) throw new Error(`expected a record, got ${JSON.stringify(ingested)}`);
    record = ingested.record;
  });

  it('has the same record over GET /feedback-sources/{id}/records/{record_id} as ingestRecord answered', async () => {
    const response = await api.get<RestRecord>(`/feedback-sources/${source.id}/records/${record.id}`);
    expect(response.status).toBe(200);
    expect(response.body).toEqual(asRest(record));
    expect(response.body.fields).toEqual([...example.record.fields, RAW_PAYLOAD_FIELD]);
  });

  it('has the same source over GET /feedback-sources/{id} as GraphQL record.source', async () => {
    const node = await graphqlRecord(record.id);
    const response = await api.get<RestSource>(`/feedback-sources/${source.id}`);
    expect(response.status).toBe(200);
    expect(response.body).toEqual(asRest(node.source));
    expect(response.body).toMatchObject({ ...example.source, record_count: 1 });
  });

  it('has the same person over GET /people/{id} as upsertPerson answered', async () => {
    const response = await api.get<RestPerson>(`/people/${person.id}`);
    expect(response.status).toBe(200);
    expect(response.body).toEqual(asRest(person));
    expect(response.body).toMatchObject({ email: 'ops@globex.example', first_name: 'Kenji', last_name: 'Watanabe', phone: '+819012345678', company: { name: 'Globex', domain: null } });
  });
});

describe("another organization's ids", () => {
  const never = { source: 900000001, record: 900000002, person: 900000003 };
  let theirs: typeof never;
  let their: RestClient;
  let ours: number;
  let theirSourceName: string;
  let theirEmail: string;

  beforeAll(async () => {
    their = api.as(await server.createToken('Globex Corp'));
    theirSourceName = 'Globex private source';
    theirEmail = 'secret@globex.example';
    const source = await their.createSource({ name: theirSourceName });
    const person = await their.upsertPerson({ email: theirEmail, first_name: 'Secret' });
    const record = await their.ingest(source.id, textRecord('Private feedback', { person_id: person.id, external_id: 'globex-1' }));
    theirs = { source: source.id, record: record.id, person: person.id };
    ours = (await api.createSource({ name: 'Our source' })).id;
  });

  interface Case {
    method: string;
    path: string;
    code: string;
    param: string;
    request: (ids: typeof never) => { path: string; body?: unknown; query?: Record<string, string> };
  }

  const cases: Case[] = [
    { method: 'GET', path: '/feedback-sources/{id}', code: 'FEEDBACK_SOURCE_NOT_FOUND', param: 'id', request: (ids) => ({ path: `/feedback-sources/${ids.source}` }) },
    { method: 'PATCH', path: '/feedback-sources/{id}', code: 'FEEDBACK_SOURCE_NOT_FOUND', param: 'id', request: (ids) => ({ path: `/feedback-sources/${ids.source}`, body: { name: 'Hijacked' } }) },
    { method: 'DELETE', path: '/feedback-sources/{id}', code: 'FEEDBACK_SOURCE_NOT_FOUND', param: 'id', request: (ids) => ({ path: `/feedback-sources/${ids.source}` }) },
    {
      method: 'DELETE',
      path: '/feedback-sources/{id}?cascade=true',
      code: 'FEEDBACK_SOURCE_NOT_FOUND',
      param: 'id',
      request: (ids) => ({ path: `/feedback-sources/${ids.source}`, query: { cascade: 'true' } }),
    },
    { method: 'POST', path: '/feedback-sources/{id}/records', code: 'FEEDBACK_SOURCE_NOT_FOUND', param: 'id', request: (ids) => ({ path: `/feedback-sources/${ids.source}/records`, body: textRecord('Injected') }) },
    { method: 'GET', path: '/feedback-sources/{id}/records', code: 'FEEDBACK_SOURCE_NOT_FOUND', param: 'id', request: (ids) => ({ path: `/feedback-sources/${ids.source}/records` }) },
    {
      method: 'GET',
      path: '/feedback-sources/{their id}/records/{record_id}',
      code: 'FEEDBACK_SOURCE_NOT_FOUND',
      param: 'id',
      request: (ids) => ({ path: `/feedback-sources/${ids.source}/records/${ids.record}` }),
    },
    {
      method: 'DELETE',
      path: '/feedback-sources/{their id}/records/{record_id}',
      code: 'FEEDBACK_SOURCE_NOT_FOUND',
      param: 'id',
      request: (ids) => ({ path: `/feedback-sources/${ids.source}/records/${ids.record}` }),
    },
    {
      method: 'GET',
      path: '/feedback-sources/{our id}/records/{record_id}',
      code: 'RECORD_NOT_FOUND',
      param: 'record_id',
      request: (ids) => ({ path: `/feedback-sources/${ours}/records/${ids.record}` }),
    },
    {
      method: 'DELETE',
      path: '/feedback-sources/{our id}/records/{record_id}',
      code: 'RECORD_NOT_FOUND',
      param: 'record_id',
      request: (ids) => ({ path: `/feedback-sources/${ours}/records/${ids.record}` }),
    },
    {
      method: 'POST',
      path: '/feedback-sources/{our id}/records with their person_id',
      code: 'PERSON_NOT_FOUND',
      param: 'person_id',
      request: (ids) => ({ path: `/feedback-sources/${ours}/records`, body: textRecord('Attributed to a stranger', { person_id: ids.person }) }),
    },
    {
      method: 'GET',
      path: '/feedback-sources/{our id}/records?person_id={their person}',
      code: 'PERSON_NOT_FOUND',
      param: 'person_id',
      request: (ids) => ({ path: `/feedback-sources/${ours}/records`, query: { person_id: String(ids.person) } }),
    },
    { method: 'GET', path: '/people/{id}', code: 'PERSON_NOT_FOUND', param: 'id', request: (ids) => ({ path: `/people/${ids.person}` }) },
    { method: 'DELETE', path: '/people/{id}', code: 'PERSON_NOT_FOUND', param: 'id', request: (ids) => ({ path: `/people/${ids.person}` }) },
  ];

  /** The error with its request id and the looked-up ids blanked, to compare two answers. */
  function comparable(response: HttpReply<unknown>, ids: typeof never): { status: number; error: ErrorEnvelope } {
    const error = (response.body as { error: ErrorEnvelope }).error;
    let message = error.message;
    for (const id of Object.values(ids)) message = message.replace(new RegExp(`\\b${id}\\b`, 'g'), '<id>');
    return { status: response.status, error: { ...error, request_id: '<request id>', message } };
  }

  for (const { method, path, code, param, request } of cases) {
    it(`answers 404 ${code} on ${param} to ${method} ${path} exactly as for an id that never existed`, async () => {
      const theirRequest = request(theirs);
      const theirAnswer = await api.send(method, theirRequest.path, { json: theirRequest.body, query: theirRequest.query });
      expectErrorEnvelope(theirAnswer, { status: 404, type: 'not_found_error', code, param });
      const neverRequest = request(never);
      const neverAnswer = await api.send(method, neverRequest.path, { json: neverRequest.body, query: neverRequest.query });
      expectErrorEnvelope(neverAnswer, { status: 404, type: 'not_found_error', code, param });
      expect(comparable(theirAnswer, theirs)).toEqual(comparable(neverAnswer, never));
    });
  }

  it('answers an empty list to GET /feedback-sources?name= with the name of their source', async () => {
    const response = await api.get<RestPage<RestSource>>('/feedback-sources', { query: { name: theirSourceName } });
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ data: [], next_cursor: null });
  });

  it('answers an empty list to GET /people?email= with the email of their person', async () => {
    const response = await api.get<RestPage<RestPerson>>('/people', { query: { email: theirEmail } });
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ data: [], next_cursor: null });
  });

  it('answers 201 to PUT /people with the email of their person, creating a person of our own', async () => {
    const response = await api.put<RestPerson>('/people', { email: theirEmail, first_name: 'Ours' });
    expect(response.status).toBe(201);
    expect(response.body.id).not.toBe(theirs.person);
  });

  it('leaves their source, person and record untouched', async () => {
    const em = server.orm.em.fork();
    expect(await em.findOneOrFail(FeedbackSource, { id: theirs.source })).toMatchObject({ name: theirSourceName });
    expect(await em.findOneOrFail(Person, { id: theirs.person })).toMatchObject({ email: theirEmail, firstName: 'Secret' });
    expect(await em.count(FeedbackRecord, { source: theirs.source })).toBe(1);
    const record = await their.get<RestRecord>(`/feedback-sources/${theirs.source}/records/${theirs.record}`);
    expect(record.body).toMatchObject({ person_id: theirs.person, external_id: 'globex-1' });
  });
});
