import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FeedbackRecord } from '../../src/records/record.entity.ts';
import { FeedbackSource } from '../../src/sources/source.entity.ts';
import { PUBLIC_URL, type UnionMember } from '../helpers/http.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { RFC3339_UTC } from '../helpers/spec.ts';

let server: TestServer;
let token: string;

interface Source {
  id: string;
  name: string;
  type: string;
  description: string | null;
  recordCount: number;
  createdAt: string;
  updatedAt: string;
}

/** A union member: the success type's fields or those of an Error type. */
interface Payload extends UnionMember {
  feedbackSource?: Source;
}

interface Connection {
  edges: { cursor: string; node: Source }[];
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
}

const SOURCE = 'id name type description recordCount createdAt updatedAt';
const ERROR = '... on Error { type code message param requestId docUrl retryable } ... on ValidationError { errors { param code message } }';

const createMutation = `mutation ($input: FeedbackSourceInput!) {
  createFeedbackSource(input: $input) { __typename ... on CreateFeedbackSourceSuccess { feedbackSource { ${SOURCE} } } ${ERROR} }
}`;
const updateMutation = `mutation ($id: ID!, $input: FeedbackSourceInput!) {
  updateFeedbackSource(id: $id, input: $input) { __typename ... on UpdateFeedbackSourceSuccess { feedbackSource { ${SOURCE} } } ${ERROR} }
}`;
const deleteMutation = `mutation ($id: ID!, $cascade: Boolean) {
  deleteFeedbackSource(id: $id, cascade: $cascade) { __typename ... on DeleteFeedbackSourceSuccess { id deleted } ${ERROR} }
}`;
const ingestMutation = `mutation ($sourceId: ID!, $records: [IngestRecordInput!]!) {
  ingestRecords(sourceId: $sourceId, records: $records) { __typename ... on IngestRecordsSuccess { ingestedCount failedCount } }
}`;
const sourceQuery = `query ($id: ID!) { feedbackSource(id: $id) { ${SOURCE} } }`;
const listQuery = `query ($first: Int, $after: String, $name: String) {
  feedbackSources(first: $first, after: $after, name: $name) { edges { cursor node { ${SOURCE} } } pageInfo { hasNextPage endCursor } }
}`;

function present<T>(value: T | null | undefined, what: string): T {
  if (value === null || value === undefined) throw new Error(`expected ${what}`);
  return value;
}

async function create(input: Record<string, unknown>, as = token): Promise<{ payload: Payload; requestId: string | null }> {
  const response = await server.graphql<{ createFeedbackSource: Payload }>(createMutation, { input }, as);
  expect(response.status).toBe(200);
  expect(response.body.errors).toBeUndefined();
  return { payload: present(response.body.data?.createFeedbackSource, 'a createFeedbackSource payload'), requestId: response.headers.get('x-request-id') };
}

async function createSource(input: Record<string, unknown>, as = token): Promise<Source> {
  const { payload } = await create(input, as);
  expect(payload).toMatchObject({ __typename: 'CreateFeedbackSourceSuccess' });
  return present(payload.feedbackSource, 'the created source');
}

async function update(id: string, input: Record<string, unknown>): Promise<Payload> {
  const response = await server.graphql<{ updateFeedbackSource: Payload }>(updateMutation, { id, input }, token);
  expect(response.status).toBe(200);
  expect(response.body.errors).toBeUndefined();
  return present(response.body.data?.updateFeedbackSource, 'an updateFeedbackSource payload');
}

async function remove(id: string, cascade?: boolean): Promise<Payload> {
  const response = await server.graphql<{ deleteFeedbackSource: Payload }>(deleteMutation, { id, ...(cascade === undefined ? {} : { cascade }) }, token);
  expect(response.status).toBe(200);
  expect(response.body.errors).toBeUndefined();
  return present(response.body.data?.deleteFeedbackSource, 'a deleteFeedbackSource payload');
}

async function ingest(sourceId: string, count: number): Promise<void> {
  const records = Array.from({ length: count }, (_, i) => ({ fields: [{ category: 'content', type: 'string', name: 'text', value: `Feedback ${i}` }] }));
  const response = await server.graphql<{ ingestRecords: { __typename: string; ingestedCount: number } }>(ingestMutation, { sourceId, records }, token);
  expect(response.body.data?.ingestRecords).toEqual({ __typename: 'IngestRecordsSuccess', ingestedCount: count, failedCount: 0 });
}

async function list(variables: Record<string, unknown>, as = token) {
  return await server.graphql<{ feedbackSources: Connection }>(listQuery, variables, as);
}

function countSources(name: string): Promise<number> {
  return server.orm.em.fork().count(FeedbackSource, { name });
}

function countRecords(sourceId: string): Promise<number> {
  return server.orm.em.fork().count(FeedbackRecord, { source: Number(sourceId) });
}

beforeAll(async () => {
  server = await startTestServer();
  token = await server.createToken('Acme Corp');
});

afterAll(() => server.close());

describe('createFeedbackSource', () => {
  it('creates a source with its name, type and description, no records and UTC timestamps', async () => {
    const source = await createSource({ name: 'Zendesk Support Tickets', type: 'support_tickets', description: 'Tickets from Zendesk' });
    expect(source).toMatchObject({ name: 'Zendesk Support Tickets', type: 'support_tickets', description: 'Tickets from Zendesk', recordCount: 0 });
    expect(source.id).toMatch(/^[1-9]\d*$/);
    expect(source.createdAt).toMatch(RFC3339_UTC);
    expect(source.updatedAt).toMatch(RFC3339_UTC);
    expect(Math.abs(Date.parse(source.createdAt) - Date.now())).toBeLessThan(60_000);
  });

  it('stores the created source', async () => {
    const source = await createSource({ name: 'Stored source' });
    const stored = await server.orm.em.fork().findOneOrFail(FeedbackSource, { id: Number(source.id) });
    expect(stored).toMatchObject({ name: 'Stored source', type: 'api', description: null });
  });

  it('defaults the type to "api"', async () => {
    const source = await createSource({ name: 'Default type' });
    expect(source.type).toBe('api');
    expect(source.description).toBeNull();
  });

  it('accepts a name of 255 characters and a description of 2,000', async () => {
    const name = 'n'.repeat(255);
    const source = await createSource({ name, description: 'd'.repeat(2000) });
    expect(source.name).toBe(name);
    expect(source.description).toHaveLength(2000);
  });

  it('counts characters, not UTF-16 code units: accepts a name of 255 emoji', async () => {
    const name = '\u{1F600}'.repeat(255);
    const source = await createSource({ name });
    expect(source.name).toBe(name);
  });

  it.each([
    { field: 'an empty name', input: { name: '' }, param: 'name' },
    { field: 'a name of 256 characters', input: { name: 'n'.repeat(256) }, param: 'name' },
    { field: 'a name containing U+0000', input: { name: 'Nul\u0000name' }, param: 'name' },
    { field: 'no name', input: { type: 'survey' }, param: 'name' },
    { field: 'the type "Bad Type"', input: { name: 'Bad type source', type: 'Bad Type' }, param: 'type' },
    { field: 'a type of 65 characters', input: { name: 'Long type source', type: 't'.repeat(65) }, param: 'type' },
    { field: 'a description of 2,001 characters', input: { name: 'Long description source', description: 'd'.repeat(2001) }, param: 'description' },
  ])('answers ValidationError INVALID_FIELD_VALUE on $param for $field', async ({ input, param }) => {
    const { payload, requestId } = await create(input);
    expect(payload).toMatchObject({
      __typename: 'ValidationError',
      type: 'validation_error',
      code: 'INVALID_FIELD_VALUE',
      param,
      retryable: false,
      requestId,
      docUrl: `${PUBLIC_URL}/docs/errors#INVALID_FIELD_VALUE`,
    });
    expect(payload.errors).toEqual([{ param, code: 'INVALID_FIELD_VALUE', message: expect.any(String) }]);
  });

  it('creates nothing when the input is invalid', async () => {
    await create({ name: 'Invalid and absent', type: 'Bad Type' });
    expect(await countSources('Invalid and absent')).toBe(0);
  });

  it('answers ValidationError VALIDATION_FAILED listing every failing field when several fail', async () => {
    const { payload } = await create({ name: '', type: 'Bad Type', description: 'd'.repeat(2001) });
    expect(payload).toMatchObject({ __typename: 'ValidationError', type: 'validation_error', code: 'VALIDATION_FAILED' });
    expect(payload.errors).toHaveLength(3);
    expect(payload.errors).toEqual(
      expect.arrayContaining([
        { param: 'name', code: 'INVALID_FIELD_VALUE', message: expect.any(String) },
        { param: 'type', code: 'INVALID_FIELD_VALUE', message: expect.any(String) },
        { param: 'description', code: 'INVALID_FIELD_VALUE', message: expect.any(String) },
      ]),
    );
  });

  it('answers ConflictError FEEDBACK_SOURCE_NAME_TAKEN, naming the name, when the name is already used in the organization', async () => {
    await createSource({ name: 'Intercom Chats' });
    const { payload } = await create({ name: 'Intercom Chats', type: 'chat' });
    expect(payload).toMatchObject({
      __typename: 'ConflictError',
      type: 'conflict_error',
      code: 'FEEDBACK_SOURCE_NAME_TAKEN',
      param: 'name',
      retryable: false,
      docUrl: `${PUBLIC_URL}/docs/errors#FEEDBACK_SOURCE_NAME_TAKEN`,
    });
    expect(payload.message).toEqual(expect.stringContaining('Intercom Chats'));
    expect(await countSources('Intercom Chats')).toBe(1);
  });

  it('accepts a name that another organization already uses', async () => {
    await createSource({ name: 'Shared name' });
    const other = await server.createToken('Other Corp');
    const source = await createSource({ name: 'Shared name' }, other);
    expect(source.name).toBe('Shared name');
    expect(await countSources('Shared name')).toBe(2);
  });

  it('creates exactly one source when 10 requests create the same name at once; the nine others get FEEDBACK_SOURCE_NAME_TAKEN', async () => {
    const name = 'Concurrent creation';
    const results = await Promise.all(Array.from({ length: 10 }, () => create({ name })));
    const typenames = results.map(({ payload }) => payload.__typename);
    expect(typenames.filter((typename) => typename === 'CreateFeedbackSourceSuccess')).toHaveLength(1);
    const conflicts = results.map(({ payload }) => payload).filter((payload) => payload.__typename === 'ConflictError');
    expect(conflicts).toHaveLength(9);
    for (const conflict of conflicts) expect(conflict).toMatchObject({ type: 'conflict_error', code: 'FEEDBACK_SOURCE_NAME_TAKEN' });
    expect(await countSources(name)).toBe(1);
  });
});

describe('feedbackSource(id)', () => {
  it('returns the source', async () => {
    const created = await createSource({ name: 'Typeform NPS', type: 'survey', description: 'Quarterly NPS' });
    const response = await server.graphql<{ feedbackSource: Source }>(sourceQuery, { id: created.id }, token);
    expect(response.status).toBe(200);
    expect(response.body.errors).toBeUndefined();
    expect(response.body.data?.feedbackSource).toEqual(created);
  });

  it('answers null with FEEDBACK_SOURCE_NOT_FOUND, naming the id, for an unknown id', async () => {
    const response = await server.graphql<{ feedbackSource: Source | null }>(sourceQuery, { id: '987654' }, token);
    expect(response.status).toBe(200);
    expect(response.body.data?.feedbackSource).toBeNull();
    const error = response.body.errors?.[0];
    expect(error?.extensions).toMatchObject({
      type: 'not_found_error',
      code: 'FEEDBACK_SOURCE_NOT_FOUND',
      param: 'id',
      request_id: response.headers.get('x-request-id'),
      doc_url: `${PUBLIC_URL}/docs/errors#FEEDBACK_SOURCE_NOT_FOUND`,
    });
    expect(error?.message).toEqual(expect.stringContaining('987654'));
  });

  it("answers FEEDBACK_SOURCE_NOT_FOUND for another organization's source", async () => {
    const other = await server.createToken('Other Corp');
    const theirs = await createSource({ name: 'Their source' }, other);
    const response = await server.graphql<{ feedbackSource: Source | null }>(sourceQuery, { id: theirs.id }, token);
    expect(response.body.data?.feedbackSource).toBeNull();
    expect(response.body.errors?.[0]?.extensions).toMatchObject({ type: 'not_found_error', code: 'FEEDBACK_SOURCE_NOT_FOUND' });
  });

  it('answers INVALID_ID for the id "abc"', async () => {
    const response = await server.graphql<{ feedbackSource: Source | null }>(sourceQuery, { id: 'abc' }, token);
    expect(response.status).toBe(200);
    expect(response.body.data?.feedbackSource).toBeNull();
    const error = response.body.errors?.[0];
    expect(error?.extensions).toMatchObject({ type: 'validation_error', code: 'INVALID_ID', param: 'id' });
    expect(error?.message).toEqual(expect.stringContaining('abc'));
  });

  it('counts the records ingested into the source', async () => {
    const source = await createSource({ name: 'Counted source' });
    await ingest(source.id, 3);
    const response = await server.graphql<{ feedbackSource: Source }>(sourceQuery, { id: source.id }, token);
    expect(response.body.data?.feedbackSource.recordCount).toBe(3);
  });
});

describe('feedbackSources', () => {
  let listing: string;
  const names = ['Alpha', 'Bravo', 'Charlie'];

  beforeAll(async () => {
    listing = await server.createToken('Listing Corp');
    for (const name of names) await createSource({ name }, listing);
  });

  it('lists the sources newest first', async () => {
    const response = await list({}, listing);
    expect(response.status).toBe(200);
    expect(response.body.errors).toBeUndefined();
    expect(response.body.data?.feedbackSources.edges.map((edge) => edge.node.name)).toEqual(['Charlie', 'Bravo', 'Alpha']);
    expect(response.body.data?.feedbackSources.pageInfo.hasNextPage).toBe(false);
  });

  it('pages with first and after', async () => {
    const first = await list({ first: 2 }, listing);
    const page = present(first.body.data?.feedbackSources, 'a first page');
    expect(page.edges.map((edge) => edge.node.name)).toEqual(['Charlie', 'Bravo']);
    expect(page.pageInfo.hasNextPage).toBe(true);
    expect(page.pageInfo.endCursor).toBe(page.edges[1]?.cursor);

    const second = await list({ first: 2, after: page.pageInfo.endCursor }, listing);
    expect(second.body.errors).toBeUndefined();
    expect(second.body.data?.feedbackSources.edges.map((edge) => edge.node.name)).toEqual(['Alpha']);
    expect(second.body.data?.feedbackSources.pageInfo.hasNextPage).toBe(false);
  });

  it('filters by exact name', async () => {
    const response = await list({ name: 'Bravo' }, listing);
    expect(response.body.errors).toBeUndefined();
    expect(response.body.data?.feedbackSources.edges.map((edge) => edge.node.name)).toEqual(['Bravo']);
  });

  it('answers an empty list when no source has the name', async () => {
    const response = await list({ name: 'Nobody' }, listing);
    expect(response.body.errors).toBeUndefined();
    expect(response.body.data?.feedbackSources.edges).toEqual([]);
    expect(response.body.data?.feedbackSources.pageInfo).toEqual({ hasNextPage: false, endCursor: null });
  });

  it("leaves out other organizations' sources", async () => {
    const response = await list({ first: 100 }, token);
    const listed = response.body.data?.feedbackSources.edges.map((edge) => edge.node.name) ?? [];
    expect(listed.length).toBeGreaterThan(0);
    expect(listed).not.toContain('Alpha');
  });

  it('accepts first: 100', async () => {
    const response = await list({ first: 100 }, listing);
    expect(response.body.errors).toBeUndefined();
    expect(response.body.data?.feedbackSources.edges).toHaveLength(3);
  });

  it.each([0, 101])('answers INVALID_FIELD_VALUE on first for first: %i', async (first) => {
    const response = await list({ first }, listing);
    expect(response.status).toBe(200);
    expect(response.body.data).toEqual({ feedbackSources: null });
    const error = response.body.errors?.[0];
    expect(error?.extensions).toMatchObject({ type: 'validation_error', code: 'INVALID_FIELD_VALUE', param: 'first' });
    expect(error?.message).toEqual(expect.stringContaining(String(first)));
  });

  it('answers INVALID_CURSOR on after for a cursor this API never returned', async () => {
    const response = await list({ after: 'garbage-cursor' }, listing);
    expect(response.status).toBe(200);
    expect(response.body.data).toEqual({ feedbackSources: null });
    expect(response.body.errors?.[0]?.extensions).toMatchObject({ type: 'validation_error', code: 'INVALID_CURSOR', param: 'after' });
  });
});

describe('updateFeedbackSource', () => {
  it('renames the source', async () => {
    const source = await createSource({ name: 'Before rename', type: 'chat' });
    const payload = await update(source.id, { name: 'After rename' });
    expect(payload.__typename).toBe('UpdateFeedbackSourceSuccess');
    expect(payload.feedbackSource).toMatchObject({ id: source.id, name: 'After rename', type: 'chat' });
    expect(payload.feedbackSource?.updatedAt).toMatch(RFC3339_UTC);
    const stored = await server.orm.em.fork().findOneOrFail(FeedbackSource, { id: Number(source.id) });
    expect(stored.name).toBe('After rename');
  });

  it('keeps the fields the input leaves out', async () => {
    const source = await createSource({ name: 'Partly updated', type: 'survey', description: 'Kept' });
    const payload = await update(source.id, { type: 'chat' });
    expect(payload.feedbackSource).toMatchObject({ name: 'Partly updated', type: 'chat', description: 'Kept' });
  });

  it('answers ConflictError FEEDBACK_SOURCE_NAME_TAKEN when renaming to a name already used', async () => {
    await createSource({ name: 'Taken name' });
    const source = await createSource({ name: 'Wants taken name' });
    const payload = await update(source.id, { name: 'Taken name' });
    expect(payload).toMatchObject({ __typename: 'ConflictError', type: 'conflict_error', code: 'FEEDBACK_SOURCE_NAME_TAKEN', param: 'name' });
    expect(await countSources('Wants taken name')).toBe(1);
  });

  it('answers ValidationError INVALID_FIELD_VALUE on name for an empty name', async () => {
    const source = await createSource({ name: 'Keeps its name' });
    const payload = await update(source.id, { name: '' });
    expect(payload).toMatchObject({ __typename: 'ValidationError', type: 'validation_error', code: 'INVALID_FIELD_VALUE', param: 'name' });
  });

  it('answers NotFoundError FEEDBACK_SOURCE_NOT_FOUND for an unknown id', async () => {
    const payload = await update('987654', { name: 'Nowhere' });
    expect(payload).toMatchObject({ __typename: 'NotFoundError', type: 'not_found_error', code: 'FEEDBACK_SOURCE_NOT_FOUND', param: 'id' });
    expect(payload.message).toEqual(expect.stringContaining('987654'));
  });

  it("answers NotFoundError FEEDBACK_SOURCE_NOT_FOUND for another organization's source", async () => {
    const other = await server.createToken('Other Corp');
    const theirs = await createSource({ name: 'Not yours to rename' }, other);
    const payload = await update(theirs.id, { name: 'Hijacked' });
    expect(payload).toMatchObject({ __typename: 'NotFoundError', code: 'FEEDBACK_SOURCE_NOT_FOUND' });
    expect(await countSources('Not yours to rename')).toBe(1);
  });
});

describe('deleteFeedbackSource', () => {
  it('deletes an empty source and answers DeleteFeedbackSourceSuccess { id, deleted: true }', async () => {
    const source = await createSource({ name: 'Empty and deleted' });
    const payload = await remove(source.id);
    expect(payload).toEqual({ __typename: 'DeleteFeedbackSourceSuccess', id: source.id, deleted: true });
    expect(await countSources('Empty and deleted')).toBe(0);
  });

  it('answers FEEDBACK_SOURCE_NOT_FOUND for a source once it is deleted', async () => {
    const source = await createSource({ name: 'Gone source' });
    await remove(source.id);
    const response = await server.graphql<{ feedbackSource: Source | null }>(sourceQuery, { id: source.id }, token);
    expect(response.body.data?.feedbackSource).toBeNull();
    expect(response.body.errors?.[0]?.extensions).toMatchObject({ code: 'FEEDBACK_SOURCE_NOT_FOUND' });
  });

  it('answers ConflictError FEEDBACK_SOURCE_NOT_EMPTY and deletes nothing when the source has records', async () => {
    const source = await createSource({ name: 'Not empty' });
    await ingest(source.id, 1);
    const payload = await remove(source.id);
    expect(payload).toMatchObject({ __typename: 'ConflictError', type: 'conflict_error', code: 'FEEDBACK_SOURCE_NOT_EMPTY', param: 'id' });
    expect(await countSources('Not empty')).toBe(1);
    expect(await countRecords(source.id)).toBe(1);
  });

  it('deletes the source and its records with cascade: true', async () => {
    const source = await createSource({ name: 'Cascaded' });
    await ingest(source.id, 2);
    const payload = await remove(source.id, true);
    expect(payload).toEqual({ __typename: 'DeleteFeedbackSourceSuccess', id: source.id, deleted: true });
    expect(await countSources('Cascaded')).toBe(0);
    expect(await countRecords(source.id)).toBe(0);
  });

  it('answers NotFoundError FEEDBACK_SOURCE_NOT_FOUND for an unknown id', async () => {
    const payload = await remove('987654');
    expect(payload).toMatchObject({ __typename: 'NotFoundError', type: 'not_found_error', code: 'FEEDBACK_SOURCE_NOT_FOUND', param: 'id' });
  });

  it('answers ValidationError INVALID_ID for the id "abc"', async () => {
    const payload = await remove('abc');
    expect(payload).toMatchObject({ __typename: 'ValidationError', type: 'validation_error', code: 'INVALID_ID', param: 'id' });
  });
});
