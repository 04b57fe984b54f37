import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IdempotencyKey } from '../../src/idempotency/idempotency-key.entity.ts';
import { purgeExpiredKeys } from '../../src/idempotency/idempotency.ts';
import { FeedbackRecord } from '../../src/records/record.entity.ts';
import { FeedbackSource } from '../../src/sources/source.entity.ts';
import { type ExpectedError, expectErrorEnvelope, expectGraphQLErrorEnvelope, type GraphQLReply, RestClient, type UnionMember } from '../helpers/http.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { sleep } from '../helpers/wait.ts';

let server: TestServer;
let token: string;
let otherOrgToken: string;

interface Payload extends UnionMember {
  record?: { id: string; sourceId: string; fields: { name: string; value: unknown }[] };
  feedbackSource?: { id: string; name: string };
}

type Mutation = Record<string, Payload>;

const ERROR = '... on Error { type code message retryable requestId }';
const ingestMutation = `mutation ($sourceId: ID!, $input: IngestRecordInput!) {
  ingestRecord(sourceId: $sourceId, input: $input) { __typename ... on IngestRecordSuccess { record { id sourceId fields { name value } } } ${ERROR} }
}`;
const createSourceMutation = `mutation ($input: FeedbackSourceInput!) {
  createFeedbackSource(input: $input) { __typename ... on CreateFeedbackSourceSuccess { feedbackSource { id name } } ${ERROR} }
}`;
const viewerQuery = '{ viewer { scopes } }';

function recordInput(text: string) {
  return { fields: [{ category: 'content', type: 'string', name: 'text', value: text }] };
}

function mutate(query: string, variables: Record<string, unknown>, key?: string, as = token, on = server): Promise<GraphQLReply<Mutation>> {
  return on.graphql<Mutation>(query, variables, as, key === undefined ? {} : { 'idempotency-key': key });
}

function ingest(sourceId: string, text: string, key?: string, as = token, on = server): Promise<GraphQLReply<Mutation>> {
  return mutate(ingestMutation, { sourceId, input: recordInput(text) }, key, as, on);
}

async function createSource(as = token, on = server): Promise<string> {
  const response = await mutate(createSourceMutation, { input: { name: `Source ${randomUUID()}` } }, undefined, as, on);
  const id = response.body.data?.createFeedbackSource?.feedbackSource?.id;
  if (id === undefined) throw new Error('expected a created source');
  return id;
}

function countRecords(sourceId: string, on = server): Promise<number> {
  return on.orm.em.fork().count(FeedbackRecord, { source: Number(sourceId) });
}

function countSources(name: string): Promise<number> {
  return server.orm.em.fork().count(FeedbackSource, { name });
}

/** The single GraphQL error of a request-level failure, with the HTTP status of its type. */
function expectRequestError(response: GraphQLReply<unknown>, expected: ExpectedError): void {
  expect(response.body.data ?? null).toBeNull();
  expect(response.body.errors).toHaveLength(1);
  expectGraphQLErrorEnvelope(response, expected);
}

beforeAll(async () => {
  server = await startTestServer();
  token = await server.createToken('Acme Corp');
  otherOrgToken = await server.createToken('Globex');
});

afterAll(() => server.close());

describe('a mutation with an Idempotency-Key', () => {
  it('ingests the record and answers without Idempotency-Replayed the first time', async () => {
    const sourceId = await createSource();
    const response = await ingest(sourceId, 'First time', randomUUID());
    expect(response.status).toBe(200);
    expect(response.headers.get('idempotency-replayed')).toBeNull();
    expect(response.body.data?.ingestRecord).toMatchObject({ __typename: 'IngestRecordSuccess', record: { sourceId, fields: [{ name: 'text', value: 'First time' }] } });
    expect(await countRecords(sourceId)).toBe(1);
  });

  it('replays the stored status, content type and body with Idempotency-Replayed: true, ingesting nothing more', async () => {
    const sourceId = await createSource();
    const key = randomUUID();
    const first = await ingest(sourceId, 'Replayed', key);
    const retry = await ingest(sourceId, 'Replayed', key);
    expect(retry.status).toBe(first.status);
    expect(retry.headers.get('idempotency-replayed')).toBe('true');
    expect(retry.headers.get('content-type')).toBe(first.headers.get('content-type'));
    expect(retry.body).toEqual(first.body);
    expect(await countRecords(sourceId)).toBe(1);
  });

  it('replays createFeedbackSource instead of answering FEEDBACK_SOURCE_NAME_TAKEN', async () => {
    const key = randomUUID();
    const name = `Replayed source ${randomUUID()}`;
    const first = await mutate(createSourceMutation, { input: { name } }, key);
    const retry = await mutate(createSourceMutation, { input: { name } }, key);
    expect(first.body.data?.createFeedbackSource?.__typename).toBe('CreateFeedbackSourceSuccess');
    expect(retry.headers.get('idempotency-replayed')).toBe('true');
    expect(retry.body).toEqual(first.body);
    expect(await countSources(name)).toBe(1);
  });

  it('runs every mutation sent without an Idempotency-Key', async () => {
    const sourceId = await createSource();
    await ingest(sourceId, 'No key');
    const second = await ingest(sourceId, 'No key');
    expect(second.headers.get('idempotency-replayed')).toBeNull();
    expect(await countRecords(sourceId)).toBe(2);
  });

  it('stores nothing for a query sent with a key: the key then serves a mutation', async () => {
    const key = randomUUID();
    const query = await server.graphql(viewerQuery, {}, token, { 'idempotency-key': key });
    expect(query.status).toBe(200);
    const sourceId = await createSource();
    const response = await ingest(sourceId, 'After a query', key);
    expect(response.status).toBe(200);
    expect(response.headers.get('idempotency-replayed')).toBeNull();
    expect(response.body.data?.ingestRecord?.__typename).toBe('IngestRecordSuccess');
    expect(await countRecords(sourceId)).toBe(1);
  });
});

describe('Idempotency-Key echo', () => {
  it('echoes the key on the first response', async () => {
    const key = randomUUID();
    const response = await ingest(await createSource(), 'Echo', key);
    expect(response.headers.get('idempotency-key')).toBe(key);
  });

  it('echoes the key on a replay', async () => {
    const sourceId = await createSource();
    const key = randomUUID();
    await ingest(sourceId, 'Echo replay', key);
    const retry = await ingest(sourceId, 'Echo replay', key);
    expect(retry.headers.get('idempotency-replayed')).toBe('true');
    expect(retry.headers.get('idempotency-key')).toBe(key);
  });

  it('echoes the key on a union error payload', async () => {
    const key = randomUUID();
    const response = await ingest('987654', 'Nowhere', key);
    expect(response.body.data?.ingestRecord).toMatchObject({ __typename: 'NotFoundError', code: 'FEEDBACK_SOURCE_NOT_FOUND' });
    expect(response.headers.get('idempotency-key')).toBe(key);
  });

  it('echoes the key on a 409 IDEMPOTENCY_KEY_MISMATCH', async () => {
    const sourceId = await createSource();
    const key = randomUUID();
    await ingest(sourceId, 'One body', key);
    const response = await ingest(sourceId, 'Another body', key);
    expect(response.status).toBe(409);
    expect(response.headers.get('idempotency-key')).toBe(key);
  });

  it('echoes the key on a 401 API_TOKEN_MISSING', async () => {
    const key = randomUUID();
    const response = await ingest('1', 'No token', key, '');
    expect(response.status).toBe(401);
    expect(response.headers.get('idempotency-key')).toBe(key);
  });

  it('echoes the key on a 400 INVALID_IDEMPOTENCY_KEY for a key of 256 characters', async () => {
    const key = 'k'.repeat(256);
    const response = await ingest(await createSource(), 'Too long key', key);
    expect(response.status).toBe(400);
    expect(response.headers.get('idempotency-key')).toBe(key);
  });
});

describe('IDEMPOTENCY_KEY_REUSE and IDEMPOTENCY_KEY_MISMATCH', () => {
  it('answers 409 IDEMPOTENCY_KEY_REUSE when the key was used on a REST endpoint, ingesting nothing', async () => {
    const key = randomUUID();
    const person = await new RestClient(server.url, token).put('/people', { email: `${randomUUID()}@northwind.example` }, { key });
    expect(person.status).toBe(201);
    const sourceId = await createSource();
    const response = await ingest(sourceId, 'After REST', key);
    expectRequestError(response, { status: 409, type: 'conflict_error', code: 'IDEMPOTENCY_KEY_REUSE', param: 'Idempotency-Key' });
    expect(response.headers.get('idempotency-replayed')).toBeNull();
    expect(await countRecords(sourceId)).toBe(0);
  });

  it('answers 409 IDEMPOTENCY_KEY_REUSE on REST when the key was used by a GraphQL mutation', async () => {
    const key = randomUUID();
    await ingest(await createSource(), 'GraphQL first', key);
    const response = await new RestClient(server.url, token).put('/people', { email: `${randomUUID()}@northwind.example` }, { key });
    expectErrorEnvelope(response, { status: 409, type: 'conflict_error', code: 'IDEMPOTENCY_KEY_REUSE', param: 'Idempotency-Key' });
  });

  it('answers 409 IDEMPOTENCY_KEY_MISMATCH to the same key with other variables, ingesting nothing more', async () => {
    const sourceId = await createSource();
    const key = randomUUID();
    await ingest(sourceId, 'Original', key);
    const response = await ingest(sourceId, 'Changed', key);
    expectRequestError(response, { status: 409, type: 'conflict_error', code: 'IDEMPOTENCY_KEY_MISMATCH', param: 'Idempotency-Key' });
    expect(response.headers.get('idempotency-replayed')).toBeNull();
    expect(await countRecords(sourceId)).toBe(1);
  });

  it('answers 409 IDEMPOTENCY_KEY_MISMATCH to the same key with another mutation, creating nothing', async () => {
    const key = randomUUID();
    await ingest(await createSource(), 'Ingested', key);
    const name = `Never created ${randomUUID()}`;
    const response = await mutate(createSourceMutation, { input: { name } }, key);
    expectRequestError(response, { status: 409, type: 'conflict_error', code: 'IDEMPOTENCY_KEY_MISMATCH', param: 'Idempotency-Key' });
    expect(await countSources(name)).toBe(0);
  });
});

describe('an error payload does not consume the key', () => {
  it('runs a mutation that answered ConflictError again, not marked replayed', async () => {
    const name = `Taken ${randomUUID()}`;
    await mutate(createSourceMutation, { input: { name } });
    const key = randomUUID();
    const first = await mutate(createSourceMutation, { input: { name } }, key);
    const retry = await mutate(createSourceMutation, { input: { name } }, key);
    expect(first.body.data?.createFeedbackSource).toMatchObject({ __typename: 'ConflictError', type: 'conflict_error', code: 'FEEDBACK_SOURCE_NAME_TAKEN' });
    expect(retry.headers.get('idempotency-replayed')).toBeNull();
    expect(retry.body.data?.createFeedbackSource).toMatchObject({ __typename: 'ConflictError', code: 'FEEDBACK_SOURCE_NAME_TAKEN', requestId: retry.headers.get('x-request-id') });
  });

  it('succeeds on the retry of a mutation that answered ConflictError once the conflict is gone', async () => {
    const name = `Freed ${randomUUID()}`;
    const taken = await mutate(createSourceMutation, { input: { name } });
    const takenId = taken.body.data?.createFeedbackSource?.feedbackSource?.id;
    const key = randomUUID();
    const first = await mutate(createSourceMutation, { input: { name } }, key);
    expect(first.body.data?.createFeedbackSource?.__typename).toBe('ConflictError');
    await mutate('mutation ($id: ID!) { deleteFeedbackSource(id: $id) { __typename } }', { id: takenId });
    const retry = await mutate(createSourceMutation, { input: { name } }, key);
    expect(retry.headers.get('idempotency-replayed')).toBeNull();
    expect(retry.body.data?.createFeedbackSource).toMatchObject({ __typename: 'CreateFeedbackSourceSuccess', feedbackSource: { name } });
    expect(await countSources(name)).toBe(1);
  });

  it('accepts other variables with the same key after a ValidationError payload', async () => {
    const key = randomUUID();
    const failed = await mutate(createSourceMutation, { input: { name: '' } }, key);
    expect(failed.body.data?.createFeedbackSource).toMatchObject({ __typename: 'ValidationError', code: 'INVALID_FIELD_VALUE' });
    const name = `Corrected ${randomUUID()}`;
    const corrected = await mutate(createSourceMutation, { input: { name } }, key);
    expect(corrected.body.data?.createFeedbackSource?.__typename).toBe('CreateFeedbackSourceSuccess');
    expect(corrected.headers.get('idempotency-replayed')).toBeNull();
  });

  it('accepts other variables with the same key after a NotFoundError payload, and ingests them', async () => {
    const key = randomUUID();
    const failed = await ingest('987654', 'Lost', key);
    expect(failed.body.data?.ingestRecord).toMatchObject({ __typename: 'NotFoundError', code: 'FEEDBACK_SOURCE_NOT_FOUND' });
    const sourceId = await createSource();
    const corrected = await ingest(sourceId, 'Found', key);
    expect(corrected.body.data?.ingestRecord?.__typename).toBe('IngestRecordSuccess');
    expect(await countRecords(sourceId)).toBe(1);
  });

  it('does not ingest twice when an operation whose first mutation succeeded and second answered an error type is retried', async () => {
    const sourceId = await createSource();
    const taken = `Taken twice ${randomUUID()}`;
    await mutate(createSourceMutation, { input: { name: taken } });
    const operation = `mutation ($sourceId: ID!, $input: IngestRecordInput!, $source: FeedbackSourceInput!) {
      ingestRecord(sourceId: $sourceId, input: $input) { __typename }
      createFeedbackSource(input: $source) { __typename ... on Error { code } }
    }`;
    const variables = { sourceId, input: recordInput('Half of an operation'), source: { name: taken } };
    const key = randomUUID();
    const first = await mutate(operation, variables, key);
    expect(first.body.data).toMatchObject({ ingestRecord: { __typename: 'IngestRecordSuccess' }, createFeedbackSource: { __typename: 'ConflictError' } });
    const afterFirst = await countRecords(sourceId);
    await mutate(operation, variables, key);
    expect(await countRecords(sourceId)).toBe(afterFirst);
  });
});

describe('keys belong to the organization', () => {
  it('lets another organization use the same key with another mutation', async () => {
    const key = randomUUID();
    await ingest(await createSource(), 'Ours', key);
    const name = `Theirs ${randomUUID()}`;
    const response = await mutate(createSourceMutation, { input: { name } }, key, otherOrgToken);
    expect(response.status).toBe(200);
    expect(response.headers.get('idempotency-replayed')).toBeNull();
    expect(response.body.data?.createFeedbackSource?.__typename).toBe('CreateFeedbackSourceSuccess');
  });

  it("runs another organization's identical mutation instead of replaying the first one's response", async () => {
    const key = randomUUID();
    const name = `Same name ${randomUUID()}`;
    const ours = await mutate(createSourceMutation, { input: { name } }, key);
    const theirs = await mutate(createSourceMutation, { input: { name } }, key, otherOrgToken);
    expect(theirs.headers.get('idempotency-replayed')).toBeNull();
    expect(theirs.body.data?.createFeedbackSource?.__typename).toBe('CreateFeedbackSourceSuccess');
    expect(theirs.body.data?.createFeedbackSource?.feedbackSource?.id).not.toBe(ours.body.data?.createFeedbackSource?.feedbackSource?.id);
    expect(await countSources(name)).toBe(2);
  });
});

describe('INVALID_IDEMPOTENCY_KEY', () => {
  it('answers 400 INVALID_IDEMPOTENCY_KEY for a key of 256 characters and ingests nothing', async () => {
    const sourceId = await createSource();
    const response = await ingest(sourceId, 'Long key', 'k'.repeat(256));
    expectRequestError(response, { status: 400, type: 'validation_error', code: 'INVALID_IDEMPOTENCY_KEY', param: 'Idempotency-Key' });
    expect(await countRecords(sourceId)).toBe(0);
  });

  it('answers 400 INVALID_IDEMPOTENCY_KEY for a key with a non-ASCII character and ingests nothing', async () => {
    const sourceId = await createSource();
    const response = await ingest(sourceId, 'Accent', 'clé-1');
    expectRequestError(response, { status: 400, type: 'validation_error', code: 'INVALID_IDEMPOTENCY_KEY', param: 'Idempotency-Key' });
    expect(await countRecords(sourceId)).toBe(0);
  });
});

describe('expiry after IDEMPOTENCY_TTL_SECONDS', () => {
  let shortLived: TestServer;
  let shortToken: string;
  // Keys used before the one wait of this block; they have expired when the tests run.
  let expiring: { sourceId: string; key: string; response: GraphQLReply<Mutation> };
  const purgedKey = randomUUID();

  beforeAll(async () => {
    shortLived = await startTestServer({ IDEMPOTENCY_TTL_SECONDS: '1' });
    shortToken = await shortLived.createToken('Short Memory Corp');
    const sourceId = await createSource(shortToken, shortLived);
    const key = randomUUID();
    expiring = { sourceId, key, response: await ingest(sourceId, 'Expiring', key, shortToken, shortLived) };
    await ingest(await createSource(shortToken, shortLived), 'Purged', purgedKey, shortToken, shortLived);
    await sleep(1500);
  });

  afterAll(() => shortLived.close());

  it('runs the mutation again when the same key and body come after the key expired', async () => {
    const later = await ingest(expiring.sourceId, 'Expiring', expiring.key, shortToken, shortLived);
    expect(later.headers.get('idempotency-replayed')).toBeNull();
    expect(later.body.data?.ingestRecord?.__typename).toBe('IngestRecordSuccess');
    expect(later.body.data?.ingestRecord?.record?.id).not.toBe(expiring.response.body.data?.ingestRecord?.record?.id);
    expect(await countRecords(expiring.sourceId, shortLived)).toBe(2);
  });

  it('purgeExpiredKeys deletes the expired mutation keys', async () => {
    await purgeExpiredKeys(shortLived.orm.em.fork());
    const em = shortLived.orm.em.fork();
    expect(await em.count(IdempotencyKey, { key: purgedKey })).toBe(0);
    expect(await em.count(IdempotencyKey, { expiresAt: { $lte: new Date() } })).toBe(0);
  });
});
