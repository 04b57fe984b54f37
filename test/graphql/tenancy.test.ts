import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Person } from '../../src/people/person.entity.ts';
import { FeedbackRecord } from '../../src/records/record.entity.ts';
import { FeedbackSource } from '../../src/sources/source.entity.ts';
import { encodeNodeId } from '../../src/graphql/node-ids.ts';
import type { GraphQLReply } from '../helpers/http.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

// SPEC §1 and §10: another organization's data behaves exactly as if it did not exist.

let server: TestServer;
let tokenA: string;
let tokenB: string;

/** What organization A owns. */
const a = { sourceId: '', personId: '', companyId: '', recordId: '' };
/** What organization B owns before the tests start. */
const b = { sourceId: '', personId: '', recordId: '' };

/** An id no row of any table has. */
const NEVER = '987654321';

/** The nodeIds of what organization A owns, by type. */
const aNodes: Record<string, string> = {};

const A_SOURCE_NAME = 'Zendesk Support Tickets';
const A_EMAIL = 'ada@acme.example';
const A_EXTERNAL_ID = 'crm-0001';
const A_RECORD_EXTERNAL_ID = 'ticket-4711';

const onError = '... on Error { type code message retryable requestId docUrl param suggestion }';
const errorFields = `__typename ${onError}`;

const createSource = `mutation ($input: FeedbackSourceInput!) {
  createFeedbackSource(input: $input) { __typename ... on CreateFeedbackSourceSuccess { feedbackSource { id name } } ${onError} }
}`;
const upsertPerson = `mutation ($input: UpsertPersonInput!) {
  upsertPerson(input: $input) { __typename ... on UpsertPersonSuccess { created person { id email externalId company { id } } } ${onError} }
}`;
const ingestRecord = `mutation ($sourceId: ID!, $input: IngestRecordInput!) {
  ingestRecord(sourceId: $sourceId, input: $input) { __typename ... on IngestRecordSuccess { record { id externalId sourceId } } ${onError} }
}`;

const subject = (text: string) => [{ category: 'content', type: 'string', name: 'subject', value: text }];

interface Payload {
  __typename: string;
  type?: string;
  code?: string;
  param?: string | null;
  [field: string]: unknown;
}

async function mutate(query: string, variables: Record<string, unknown>, token: string): Promise<Payload> {
  const response = await server.graphql<Record<string, Payload>>(query, variables, token);
  expect(response.body.errors).toBeUndefined();
  const [payload] = Object.values(response.body.data ?? {});
  if (!payload) throw new Error(`No payload in ${JSON.stringify(response.body)}`);
  return payload;
}

/**
 * An answer with what must differ between two requests taken out: the request id, and the requested id
 * where a message quotes it. What is left must be identical for "another organization's" and "never existed".
 */
function comparable(value: unknown, id: string): unknown {
  if (Array.isArray(value)) return value.map((item) => comparable(item, id));
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, item]) => {
      if (key === 'requestId' || key === 'request_id') return [key, '<request id>'];
      // Ids and nodeIds are letters, digits, _ and -: what a message quotes of them is the whole word.
      if (key === 'message' && typeof item === 'string') return [key, item.replace(new RegExp(`(?<![\\w-])${id}(?![\\w-])`, 'g'), '<id>')];
      return [key, comparable(item, id)];
    }),
  );
}

function answer(response: GraphQLReply, id: string): unknown {
  return comparable({ status: response.status, body: response.body }, id);
}

function firstError(response: GraphQLReply): Record<string, unknown> | undefined {
  return response.body.errors?.[0]?.extensions;
}

const ids = (connection: { edges: { node: { id: string } }[] } | undefined) => connection?.edges.map((edge) => edge.node.id);

beforeAll(async () => {
  server = await startTestServer();
  tokenA = await server.createToken('Acme');
  tokenB = await server.createToken('Globex');

  const source = await mutate(createSource, { input: { name: A_SOURCE_NAME, type: 'support_tickets' } }, tokenA);
  a.sourceId = (source.feedbackSource as { id: string }).id;
  const upserted = await mutate(upsertPerson, { input: { email: A_EMAIL, externalId: A_EXTERNAL_ID, firstName: 'Ada', company: { name: 'Acme Corp', domain: 'acme.example' } } }, tokenA);
  const person = upserted.person as { id: string; company: { id: string } };
  a.personId = person.id;
  a.companyId = person.company.id;
  const ingested = await mutate(ingestRecord, { sourceId: a.sourceId, input: { externalId: A_RECORD_EXTERNAL_ID, personId: a.personId, fields: subject('Cannot log in') } }, tokenA);
  a.recordId = (ingested.record as { id: string }).id;

  const sourceB = await mutate(createSource, { input: { name: 'Intercom Chats', type: 'chat' } }, tokenB);
  b.sourceId = (sourceB.feedbackSource as { id: string }).id;
  const personB = await mutate(upsertPerson, { input: { email: 'grace@globex.example' } }, tokenB);
  b.personId = (personB.person as { id: string }).id;
  const recordB = await mutate(ingestRecord, { sourceId: b.sourceId, input: { externalId: 'chat-1', personId: b.personId, fields: subject('Love it') } }, tokenB);
  b.recordId = (recordB.record as { id: string }).id;

  const owned = await server.graphql<{
    viewer: { organization: { nodeId: string } };
    record: { nodeId: string; source: { nodeId: string }; person: { nodeId: string; company: { nodeId: string } } };
  }>('query ($id: ID!) { viewer { organization { nodeId } } record(id: $id) { nodeId source { nodeId } person { nodeId company { nodeId } } } }', { id: a.recordId }, tokenA);
  const { viewer, record } = owned.body.data ?? {};
  if (!viewer || !record) throw new Error(owned.text);
  Object.assign(aNodes, {
    Organization: viewer.organization.nodeId,
    FeedbackSource: record.source.nodeId,
    Person: record.person.nodeId,
    Company: record.person.company.nodeId,
    FeedbackRecord: record.nodeId,
  });
});

afterAll(() => server.close());

describe("reading another organization's data by id", () => {
  const sourceQuery = 'query ($id: ID!) { feedbackSource(id: $id) { id name } }';
  const personQuery = 'query ($id: ID!) { person(id: $id) { id email company { id name } } }';
  const recordQuery = 'query ($id: ID!) { record(id: $id) { id externalId fields { name value } } }';

  it("answers feedbackSource(id) of another organization's source with FEEDBACK_SOURCE_NOT_FOUND", async () => {
    const response = await server.graphql(sourceQuery, { id: a.sourceId }, tokenB);
    expect(response.status).toBe(200);
    expect(response.body.data).toEqual({ feedbackSource: null });
    expect(firstError(response)).toMatchObject({ type: 'not_found_error', code: 'FEEDBACK_SOURCE_NOT_FOUND', param: 'id' });
  });

  it("answers feedbackSource(id) of another organization's source exactly as for an id that never existed", async () => {
    const theirs = await server.graphql(sourceQuery, { id: a.sourceId }, tokenB);
    const missing = await server.graphql(sourceQuery, { id: NEVER }, tokenB);
    expect(answer(theirs, a.sourceId)).toEqual(answer(missing, NEVER));
  });

  it("answers person(id) of another organization's person with PERSON_NOT_FOUND", async () => {
    const response = await server.graphql(personQuery, { id: a.personId }, tokenB);
    expect(response.status).toBe(200);
    expect(response.body.data).toEqual({ person: null });
    expect(firstError(response)).toMatchObject({ type: 'not_found_error', code: 'PERSON_NOT_FOUND', param: 'id' });
  });

  it("answers person(id) of another organization's person exactly as for an id that never existed", async () => {
    const theirs = await server.graphql(personQuery, { id: a.personId }, tokenB);
    const missing = await server.graphql(personQuery, { id: NEVER }, tokenB);
    expect(answer(theirs, a.personId)).toEqual(answer(missing, NEVER));
  });

  it("answers record(id) of another organization's record with RECORD_NOT_FOUND", async () => {
    const response = await server.graphql(recordQuery, { id: a.recordId }, tokenB);
    expect(response.status).toBe(200);
    expect(response.body.data).toEqual({ record: null });
    expect(firstError(response)).toMatchObject({ type: 'not_found_error', code: 'RECORD_NOT_FOUND', param: 'id' });
  });

  it("answers record(id) of another organization's record exactly as for an id that never existed", async () => {
    const theirs = await server.graphql(recordQuery, { id: a.recordId }, tokenB);
    const missing = await server.graphql(recordQuery, { id: NEVER }, tokenB);
    expect(answer(theirs, a.recordId)).toEqual(answer(missing, NEVER));
  });
});

describe("reading another organization's data by nodeId", () => {
  const nodeQuery = 'query ($nodeId: ID!) { node(nodeId: $nodeId) { __typename nodeId ... on FeedbackRecord { fields { name value } } } }';
  const nodesQuery = 'query ($nodeIds: [ID!]!) { nodes(nodeIds: $nodeIds) { __typename nodeId } }';
  const types = ['Organization', 'FeedbackSource', 'Person', 'Company', 'FeedbackRecord'];

  it.each(types)("answers node(nodeId) of another organization's %s with null and NODE_NOT_FOUND", async (type) => {
    const response = await server.graphql(nodeQuery, { nodeId: aNodes[type] }, tokenB);
    expect(response.status).toBe(200);
    expect(response.body.data).toEqual({ node: null });
    expect(firstError(response)).toMatchObject({ type: 'not_found_error', code: 'NODE_NOT_FOUND', param: 'nodeId' });
  });

  it.each(types)("answers node(nodeId) of another organization's %s exactly as a nodeId that never existed, and as a malformed one", async (type) => {
    const nodeId = aNodes[type] ?? '';
    const never = encodeNodeId(type, NEVER);
    const theirs = answer(await server.graphql(nodeQuery, { nodeId }, tokenB), nodeId);
    expect(theirs).toEqual(answer(await server.graphql(nodeQuery, { nodeId: never }, tokenB), never));
    expect(theirs).toEqual(answer(await server.graphql(nodeQuery, { nodeId: 'garbage' }, tokenB), 'garbage'));
  });

  it("answers nodes(nodeIds) of another organization's objects exactly as nodeIds that never existed, beside the organization's own", async () => {
    const mine = await server.graphql<{ viewer: { organization: { nodeId: string } } }>('{ viewer { organization { nodeId } } }', {}, tokenB);
    const own = mine.body.data?.viewer.organization.nodeId ?? '';
    /** The answer to nodes(own, ...nodeIds), each nodeId taken out of the messages; nodes settle in any order. */
    const nodesAnswer = async (nodeIds: string[]) => {
      const reply = await server.graphql<{ nodes: unknown[] }>(nodesQuery, { nodeIds: [own, ...nodeIds] }, tokenB);
      const errors = [...(reply.body.errors ?? [])].sort((x, y) => JSON.stringify(x.path).localeCompare(JSON.stringify(y.path)));
      return { data: reply.body.data, answer: nodeIds.reduce<unknown>((value, nodeId) => comparable(value, nodeId), { status: reply.status, body: { ...reply.body, errors } }) };
    };
    const theirs = await nodesAnswer(types.map((type) => aNodes[type] ?? ''));
    expect(theirs.data?.nodes).toEqual([{ __typename: 'Organization', nodeId: own }, null, null, null, null, null]);
    expect(theirs.answer).toEqual((await nodesAnswer(types.map((type) => encodeNodeId(type, NEVER)))).answer);
  });
});

describe("listing does not show another organization's data", () => {
  it("lists only the organization's own feedback sources", async () => {
    const response = await server.graphql<{ feedbackSources: { edges: { node: { id: string } }[] } }>('{ feedbackSources(first: 100) { edges { node { id } } } }', {}, tokenB);
    expect(response.body.errors).toBeUndefined();
    expect(ids(response.body.data?.feedbackSources)).toEqual([b.sourceId]);
  });

  it("finds no feedback source by another organization's source name", async () => {
    const response = await server.graphql<{ feedbackSources: { edges: unknown[] } }>('query ($name: String) { feedbackSources(name: $name) { edges { node { id } } } }', { name: A_SOURCE_NAME }, tokenB);
    expect(response.body.errors).toBeUndefined();
    expect(response.body.data?.feedbackSources.edges).toEqual([]);
  });

  it("lists only the organization's own people", async () => {
    const response = await server.graphql<{ people: { edges: { node: { id: string } }[] } }>('{ people(first: 100) { edges { node { id } } } }', {}, tokenB);
    expect(response.body.errors).toBeUndefined();
    expect(ids(response.body.data?.people)).toEqual([b.personId]);
  });

  it("finds no person by another organization's person's email", async () => {
    const response = await server.graphql<{ people: { edges: unknown[] } }>('query ($email: String) { people(email: $email) { edges { node { id } } } }', { email: A_EMAIL }, tokenB);
    expect(response.body.errors).toBeUndefined();
    expect(response.body.data?.people.edges).toEqual([]);
  });

  it("lists only the organization's own records", async () => {
    const response = await server.graphql<{ records: { edges: { node: { id: string } }[] } }>('{ records(first: 100) { edges { node { id } } } }', {}, tokenB);
    expect(response.body.errors).toBeUndefined();
    expect(ids(response.body.data?.records)).toEqual([b.recordId]);
  });

  it("answers records(sourceId) of another organization's source with FEEDBACK_SOURCE_NOT_FOUND", async () => {
    const response = await server.graphql('query ($sourceId: ID) { records(sourceId: $sourceId) { edges { node { id } } } }', { sourceId: a.sourceId }, tokenB);
    expect(response.status).toBe(200);
    expect(response.body.data).toEqual({ records: null });
    expect(firstError(response)).toMatchObject({ type: 'not_found_error', code: 'FEEDBACK_SOURCE_NOT_FOUND', param: 'sourceId' });
  });

  it("answers records(sourceId) of another organization's source exactly as for a source that never existed", async () => {
    const query = 'query ($sourceId: ID) { records(sourceId: $sourceId) { edges { node { id } } } }';
    const theirs = await server.graphql(query, { sourceId: a.sourceId }, tokenB);
    const missing = await server.graphql(query, { sourceId: NEVER }, tokenB);
    expect(answer(theirs, a.sourceId)).toEqual(answer(missing, NEVER));
  });

  it("answers records(personId) of another organization's person with PERSON_NOT_FOUND", async () => {
    const response = await server.graphql('query ($personId: ID) { records(personId: $personId) { edges { node { id } } } }', { personId: a.personId }, tokenB);
    expect(response.status).toBe(200);
    expect(firstError(response)).toMatchObject({ type: 'not_found_error', code: 'PERSON_NOT_FOUND', param: 'personId' });
  });
});

describe("writing to another organization's data", () => {
  const updateSource = `mutation ($id: ID!) { updateFeedbackSource(id: $id, input: { name: "Renamed by Globex", description: "hijacked" }) { ${errorFields} } }`;
  const deleteSource = `mutation ($id: ID!) { deleteFeedbackSource(id: $id, cascade: true) { ${errorFields} } }`;
  const deletePerson = `mutation ($id: ID!) { deletePerson(id: $id) { ${errorFields} } }`;
  const deleteRecord = `mutation ($id: ID!) { deleteRecord(id: $id) { ${errorFields} } }`;

  it("answers updateFeedbackSource on another organization's source with NotFoundError FEEDBACK_SOURCE_NOT_FOUND and leaves it unchanged", async () => {
    const payload = await mutate(updateSource, { id: a.sourceId }, tokenB);
    expect(payload).toMatchObject({ __typename: 'NotFoundError', type: 'not_found_error', code: 'FEEDBACK_SOURCE_NOT_FOUND', param: 'id' });
    const stored = await server.orm.em.fork().findOneOrFail(FeedbackSource, { id: Number(a.sourceId) });
    expect({ name: stored.name, description: stored.description }).toEqual({ name: A_SOURCE_NAME, description: null });
  });

  it("answers updateFeedbackSource on another organization's source exactly as for an id that never existed", async () => {
    const theirs = await server.graphql(updateSource, { id: a.sourceId }, tokenB);
    const missing = await server.graphql(updateSource, { id: NEVER }, tokenB);
    expect(answer(theirs, a.sourceId)).toEqual(answer(missing, NEVER));
  });

  it("answers deleteFeedbackSource on another organization's source with NotFoundError FEEDBACK_SOURCE_NOT_FOUND and keeps it and its records", async () => {
    const payload = await mutate(deleteSource, { id: a.sourceId }, tokenB);
    expect(payload).toMatchObject({ __typename: 'NotFoundError', type: 'not_found_error', code: 'FEEDBACK_SOURCE_NOT_FOUND', param: 'id' });
    const em = server.orm.em.fork();
    expect(await em.count(FeedbackSource, { id: Number(a.sourceId) })).toBe(1);
    expect(await em.count(FeedbackRecord, { source: Number(a.sourceId) })).toBe(1);
  });

  it("answers deleteFeedbackSource on another organization's source exactly as for an id that never existed", async () => {
    const theirs = await server.graphql(deleteSource, { id: a.sourceId }, tokenB);
    const missing = await server.graphql(deleteSource, { id: NEVER }, tokenB);
    expect(answer(theirs, a.sourceId)).toEqual(answer(missing, NEVER));
  });

  it("answers deletePerson on another organization's person with NotFoundError PERSON_NOT_FOUND and keeps the person", async () => {
    const payload = await mutate(deletePerson, { id: a.personId }, tokenB);
    expect(payload).toMatchObject({ __typename: 'NotFoundError', type: 'not_found_error', code: 'PERSON_NOT_FOUND', param: 'id' });
    const stored = await server.orm.em.fork().findOneOrFail(Person, { id: Number(a.personId) });
    expect({ email: stored.email, externalId: stored.externalId, company: stored.company?.id }).toEqual({ email: A_EMAIL, externalId: A_EXTERNAL_ID, company: Number(a.companyId) });
  });

  it("answers deletePerson on another organization's person exactly as for an id that never existed", async () => {
    const theirs = await server.graphql(deletePerson, { id: a.personId }, tokenB);
    const missing = await server.graphql(deletePerson, { id: NEVER }, tokenB);
    expect(answer(theirs, a.personId)).toEqual(answer(missing, NEVER));
  });

  it("answers deleteRecord on another organization's record with NotFoundError RECORD_NOT_FOUND and keeps the record", async () => {
    const payload = await mutate(deleteRecord, { id: a.recordId }, tokenB);
    expect(payload).toMatchObject({ __typename: 'NotFoundError', type: 'not_found_error', code: 'RECORD_NOT_FOUND', param: 'id' });
    const stored = await server.orm.em.fork().findOneOrFail(FeedbackRecord, { id: Number(a.recordId) });
    expect({ externalId: stored.externalId, person: stored.person?.id }).toEqual({ externalId: A_RECORD_EXTERNAL_ID, person: Number(a.personId) });
  });

  it("answers deleteRecord on another organization's record exactly as for an id that never existed", async () => {
    const theirs = await server.graphql(deleteRecord, { id: a.recordId }, tokenB);
    const missing = await server.graphql(deleteRecord, { id: NEVER }, tokenB);
    expect(answer(theirs, a.recordId)).toEqual(answer(missing, NEVER));
  });

  it("answers ingestRecord into another organization's source with NotFoundError FEEDBACK_SOURCE_NOT_FOUND and ingests nothing", async () => {
    const payload = await mutate(ingestRecord, { sourceId: a.sourceId, input: { externalId: 'planted', fields: subject('Planted by Globex') } }, tokenB);
    expect(payload).toMatchObject({ __typename: 'NotFoundError', type: 'not_found_error', code: 'FEEDBACK_SOURCE_NOT_FOUND', param: 'sourceId' });
    expect(await server.orm.em.fork().count(FeedbackRecord, { source: Number(a.sourceId) })).toBe(1);
  });

  it("answers ingestRecord into another organization's source exactly as for a source that never existed", async () => {
    const variables = (sourceId: string) => ({ sourceId, input: { fields: subject('Planted by Globex') } });
    const theirs = await server.graphql(ingestRecord, variables(a.sourceId), tokenB);
    const missing = await server.graphql(ingestRecord, variables(NEVER), tokenB);
    expect(answer(theirs, a.sourceId)).toEqual(answer(missing, NEVER));
  });

  it("answers ingestRecord with another organization's personId with NotFoundError PERSON_NOT_FOUND and ingests nothing", async () => {
    const payload = await mutate(ingestRecord, { sourceId: b.sourceId, input: { personId: a.personId, fields: subject('Linked to Acme') } }, tokenB);
    expect(payload).toMatchObject({ __typename: 'NotFoundError', type: 'not_found_error', code: 'PERSON_NOT_FOUND', param: 'personId' });
    expect(await server.orm.em.fork().count(FeedbackRecord, { person: Number(a.personId) })).toBe(1);
  });

  it("answers ingestRecord with another organization's personId exactly as for a person that never existed", async () => {
    const variables = (personId: string) => ({ sourceId: b.sourceId, input: { personId, fields: subject('Linked to Acme') } });
    const theirs = await server.graphql(ingestRecord, variables(a.personId), tokenB);
    const missing = await server.graphql(ingestRecord, variables(NEVER), tokenB);
    expect(answer(theirs, a.personId)).toEqual(answer(missing, NEVER));
  });
});

describe("batch ingestion into another organization's data", () => {
  const ingestRecords = `mutation ($sourceId: ID!, $records: [IngestRecordInput!]!) {
    ingestRecords(sourceId: $sourceId, records: $records) {
      __typename ... on IngestRecordsSuccess { ingestedCount failedCount results { ${errorFields} } } ${onError}
    }
  }`;

  it("answers ingestRecords into another organization's source with NotFoundError FEEDBACK_SOURCE_NOT_FOUND and ingests nothing", async () => {
    const payload = await mutate(ingestRecords, { sourceId: a.sourceId, records: [{ fields: subject('Planted by Globex') }] }, tokenB);
    expect(payload).toMatchObject({ __typename: 'NotFoundError', type: 'not_found_error', code: 'FEEDBACK_SOURCE_NOT_FOUND', param: 'sourceId' });
    expect(await server.orm.em.fork().count(FeedbackRecord, { source: Number(a.sourceId) })).toBe(1);
  });

  it("fails the item of ingestRecords whose personId is another organization's person with PERSON_NOT_FOUND", async () => {
    const payload = await mutate(ingestRecords, { sourceId: b.sourceId, records: [{ personId: a.personId, fields: subject('Linked to Acme') }] }, tokenB);
    expect(payload).toMatchObject({ __typename: 'IngestRecordsSuccess', ingestedCount: 0, failedCount: 1 });
    expect((payload.results as Payload[])[0]).toMatchObject({ __typename: 'NotFoundError', type: 'not_found_error', code: 'PERSON_NOT_FOUND', param: 'personId' });
    expect(await server.orm.em.fork().count(FeedbackRecord, { person: Number(a.personId) })).toBe(1);
  });
});

describe('uniqueness is scoped to the organization', () => {
  it("creates a feedback source with the same name as another organization's source", async () => {
    const payload = await mutate(createSource, { input: { name: A_SOURCE_NAME, type: 'support_tickets' } }, tokenB);
    expect(payload.__typename).toBe('CreateFeedbackSourceSuccess');
    const created = payload.feedbackSource as { id: string; name: string };
    expect(created.name).toBe(A_SOURCE_NAME);
    expect(created.id).not.toBe(a.sourceId);
  });

  it("creates a new person, not an update of another organization's, when the email and externalId are the same", async () => {
    const payload = await mutate(upsertPerson, { input: { email: A_EMAIL, externalId: A_EXTERNAL_ID, firstName: 'Mallory' } }, tokenB);
    expect(payload).toMatchObject({ __typename: 'UpsertPersonSuccess', created: true, person: { email: A_EMAIL, externalId: A_EXTERNAL_ID } });
    expect((payload.person as { id: string }).id).not.toBe(a.personId);
    const theirs = await server.orm.em.fork().findOneOrFail(Person, { id: Number(a.personId) });
    expect({ firstName: theirs.firstName, company: theirs.company?.id }).toEqual({ firstName: 'Ada', company: Number(a.companyId) });
  });

  it("creates its own company with the same domain as another organization's company", async () => {
    const payload = await mutate(upsertPerson, { input: { email: 'linus@globex.example', company: { name: 'Acme Corp', domain: 'acme.example' } } }, tokenB);
    expect(payload).toMatchObject({ __typename: 'UpsertPersonSuccess', created: true });
    const company = (payload.person as { company: { id: string } | null }).company;
    expect(company?.id).toEqual(expect.any(String));
    expect(company?.id).not.toBe(a.companyId);
  });

  it("creates its own company with the same name as another organization's company without a domain", async () => {
    const seeded = await mutate(upsertPerson, { input: { email: 'bob@acme.example', company: { name: 'Initech' } } }, tokenA);
    const theirs = (seeded.person as { company: { id: string } }).company.id;
    const payload = await mutate(upsertPerson, { input: { email: 'peter@globex.example', company: { name: 'Initech' } } }, tokenB);
    expect(payload).toMatchObject({ __typename: 'UpsertPersonSuccess', created: true, person: { company: { id: expect.any(String) } } });
    expect((payload.person as { company: { id: string } }).company.id).not.toBe(theirs);
  });

  it("ingests a record with the same externalId as another organization's record into its own source", async () => {
    const payload = await mutate(ingestRecord, { sourceId: b.sourceId, input: { externalId: A_RECORD_EXTERNAL_ID, fields: subject('Same ticket number') } }, tokenB);
    expect(payload).toMatchObject({ __typename: 'IngestRecordSuccess', record: { externalId: A_RECORD_EXTERNAL_ID, sourceId: b.sourceId } });
    expect((payload.record as { id: string }).id).not.toBe(a.recordId);
  });
});
