import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FeedbackRecord } from '../../src/records/record.entity.ts';
import type { UnionMember } from '../helpers/http.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

interface FieldData {
  category: string;
  type: string;
  name: string;
  value: unknown;
}

interface RecordData {
  id: string;
  sourceId: string;
  personId: string | null;
  externalId: string | null;
  displayTs: string;
  createdAt: string;
  fields: FieldData[];
  source: { id: string; name: string; type: string };
  person: { id: string; email: string | null; company: { id: string; name: string } | null } | null;
}

/** A union member: the success type's fields or those of an Error type. */
interface Payload extends UnionMember {
  record?: RecordData;
}

interface BatchPayload extends Payload {
  ingestedCount?: number;
  failedCount?: number;
  results?: Payload[];
}

interface Connection {
  edges: { cursor: string; node: RecordData }[];
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
}

const RECORD = 'id sourceId personId externalId displayTs createdAt fields { category type name value } source { id name type } person { id email company { id name } }';
const ERROR = '... on Error { type code message param retryable } ... on ValidationError { errors { param code message } }';

const INGEST = `mutation ($sourceId: ID!, $input: IngestRecordInput!) {
  ingestRecord(sourceId: $sourceId, input: $input) { __typename ... on IngestRecordSuccess { record { ${RECORD} } } ${ERROR} }
}`;
const INGEST_BATCH = `mutation ($sourceId: ID!, $records: [IngestRecordInput!]!) {
  ingestRecords(sourceId: $sourceId, records: $records) {
    __typename
    ... on IngestRecordsSuccess { ingestedCount failedCount results { __typename ... on IngestRecordSuccess { record { id externalId personId } } ${ERROR} } }
    ${ERROR}
  }
}`;
const GET = `query ($id: ID!, $sourceId: ID) { record(id: $id, sourceId: $sourceId) { ${RECORD} } }`;
const LIST = `query ($sourceId: ID, $personId: ID, $since: DateTime, $until: DateTime, $first: Int, $after: String) {
  records(sourceId: $sourceId, personId: $personId, since: $since, until: $until, first: $first, after: $after) {
    edges { cursor node { id sourceId personId displayTs } } pageInfo { hasNextPage endCursor }
  }
}`;
const DELETE = `mutation ($id: ID!, $sourceId: ID) { deleteRecord(id: $id, sourceId: $sourceId) { __typename ... on DeleteRecordSuccess { id deleted } ${ERROR} } }`;

let server: TestServer;
let token: string;
let sourceCounter = 0;

beforeAll(async () => {
  server = await startTestServer();
  token = await server.createToken('records');
});

afterAll(() => server.close());

/** A REST example body (snake_case keys) as the GraphQL input (camelCase); field values are left alone. */
function camelCase(body: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(body)
      .filter(([key]) => key !== '_expect')
      .map(([key, value]) => [key.replace(/_([a-z])/g, (_match, letter: string) => letter.toUpperCase()), value]),
  );
}

/** One of the realistic request bodies in test/fixtures/examples. */
interface Example {
  source: Record<string, unknown> & { name: string; type: string };
  person: Record<string, unknown> & { email: string; company: { name: string } };
  record: Record<string, unknown>;
}

async function example(name: string): Promise<Example> {
  return JSON.parse(await readFile(new URL(`../fixtures/examples/${name}.json`, import.meta.url), 'utf8'));
}

/** An invalid-*.json example: the request body itself, with `_expect` saying what it must produce. */
async function invalidExample(name: string): Promise<Record<string, unknown>> {
  return JSON.parse(await readFile(new URL(`../fixtures/examples/${name}.json`, import.meta.url), 'utf8'));
}

async function createSource(input: Record<string, unknown> = {}, as = token): Promise<string> {
  const response = await server.graphql<{ createFeedbackSource: { __typename: string; feedbackSource?: { id: string } } }>(
    'mutation ($input: FeedbackSourceInput!) { createFeedbackSource(input: $input) { __typename ... on CreateFeedbackSourceSuccess { feedbackSource { id } } } }',
    { input: { name: `Source ${++sourceCounter}`, ...input } },
    as,
  );
  expect(response.body.data?.createFeedbackSource.__typename).toBe('CreateFeedbackSourceSuccess');
  return response.body.data?.createFeedbackSource.feedbackSource?.id as string;
}

async function upsertPerson(input: Record<string, unknown>, as = token): Promise<string> {
  const response = await server.graphql<{ upsertPerson: { __typename: string; person?: { id: string } } }>(
    'mutation ($input: UpsertPersonInput!) { upsertPerson(input: $input) { __typename ... on UpsertPersonSuccess { person { id } } } }',
    { input },
    as,
  );
  expect(response.body.data?.upsertPerson.__typename).toBe('UpsertPersonSuccess');
  return response.body.data?.upsertPerson.person?.id as string;
}

async function ingest(sourceId: string, input: Record<string, unknown>, as = token): Promise<Payload> {
  const response = await server.graphql<{ ingestRecord: Payload }>(INGEST, { sourceId, input }, as);
  expect(response.status).toBe(200);
  expect(response.body.errors).toBeUndefined();
  return response.body.data?.ingestRecord as Payload;
}

async function ingestRecord(sourceId: string, input: Record<string, unknown>, as = token): Promise<RecordData> {
  const payload = await ingest(sourceId, input, as);
  expect(payload.__typename).toBe('IngestRecordSuccess');
  return payload.record as RecordData;
}

async function ingestBatch(sourceId: string, records: Record<string, unknown>[], as = token): Promise<BatchPayload> {
  const response = await server.graphql<{ ingestRecords: BatchPayload }>(INGEST_BATCH, { sourceId, records }, as);
  expect(response.status).toBe(200);
  expect(response.body.errors).toBeUndefined();
  return response.body.data?.ingestRecords as BatchPayload;
}

async function getRecord(id: string, sourceId?: string, as = token) {
  return await server.graphql<{ record: RecordData | null }>(GET, { id, sourceId }, as);
}

async function countRecords(sourceId: string): Promise<number> {
  return await server.orm.em.fork().count(FeedbackRecord, { source: Number(sourceId) });
}

function message(value: string, name = 'message'): FieldData {
  return { category: 'content', type: 'string', name, value };
}

describe('ingestRecord: the examples', () => {
  it.each(['support-tickets', 'nps-survey', 'slack-feedback'])('ingests the %s example and answers the record with the same fields', async (name) => {
    const body = await example(name);
    const sourceId = await createSource(camelCase(body.source));
    const personId = await upsertPerson(camelCase(body.person));
    const input = camelCase(body.record);
    const record = await ingestRecord(sourceId, { ...input, personId });

    expect(record.id).toMatch(/^[1-9]\d*$/);
    expect(record.sourceId).toBe(sourceId);
    expect(record.personId).toBe(personId);
    expect(record.externalId).toBe(input.externalId);
    expect(record.fields).toEqual(input.fields);
    expect(record.displayTs).toBe(new Date(String(input.displayTs)).toISOString());
    expect(record.source).toEqual({ id: sourceId, name: body.source.name, type: body.source.type });
    expect(record.person).toMatchObject({ id: personId, email: body.person.email, company: { name: body.person.company.name } });
  });

  it.each(['support-tickets', 'nps-survey', 'slack-feedback'])('reads the %s example back through record(id) as it was ingested', async (name) => {
    const body = await example(name);
    const sourceId = await createSource({ ...camelCase(body.source), name: `${body.source.name} (read back)` });
    const personId = await upsertPerson(camelCase(body.person));
    const input = camelCase(body.record);
    const ingested = await ingestRecord(sourceId, { ...input, personId });

    const response = await getRecord(ingested.id);
    expect(response.status).toBe(200);
    expect(response.body.errors).toBeUndefined();
    expect(response.body.data?.record).toEqual(ingested);
    expect(response.body.data?.record?.fields).toEqual(input.fields);
  });

  it('stores the fields in the database as sent', async () => {
    const body = await example('slack-feedback');
    const sourceId = await createSource({ name: 'Slack stored' });
    const input = camelCase(body.record);
    const record = await ingestRecord(sourceId, input);
    const stored = await server.orm.em.fork().findOneOrFail(FeedbackRecord, { id: Number(record.id) });
    expect(stored.fields).toEqual(input.fields);
    expect(stored.externalId).toBe('slack-C04TQ9-1710412345.001200');
    expect(stored.displayTs.toISOString()).toBe('2025-03-14T10:32:25.000Z');
  });

  it('answers displayTs in UTC when it was sent with another offset', async () => {
    const sourceId = await createSource();
    const record = await ingestRecord(sourceId, { displayTs: '2025-03-14T10:26:53+01:00', fields: [message('hi')] });
    expect(record.displayTs).toBe('2025-03-14T09:26:53.000Z');
  });

  it('defaults displayTs to now', async () => {
    const sourceId = await createSource();
    const before = Date.now();
    const record = await ingestRecord(sourceId, { fields: [message('now')] });
    const after = Date.now();
    const displayTs = new Date(record.displayTs).getTime();
    expect(record.displayTs).toMatch(/Z$/);
    expect(displayTs).toBeGreaterThanOrEqual(before - 1_000);
    expect(displayTs).toBeLessThanOrEqual(after + 1_000);
  });

  it('ingests a record without person or externalId', async () => {
    const sourceId = await createSource();
    const record = await ingestRecord(sourceId, { fields: [message('anonymous')] });
    expect(record).toMatchObject({ personId: null, person: null, externalId: null, sourceId });
  });

  it('stores a json field whose value is null', async () => {
    const sourceId = await createSource();
    const record = await ingestRecord(sourceId, { fields: [{ category: 'metadata', type: 'json', name: 'extra', value: null }] });
    expect(record.fields).toEqual([{ category: 'metadata', type: 'json', name: 'extra', value: null }]);
  });

  it('keeps the order of the fields', async () => {
    const sourceId = await createSource();
    const fields = Array.from({ length: 100 }, (_, i) => ({ category: 'metadata', type: 'integer', name: `z${100 - i}`, value: i }));
    const record = await ingestRecord(sourceId, { fields });
    expect(record.fields).toEqual(fields);
  });
});

describe('ingestRecord: validation', () => {
  it('answers VALIDATION_FAILED with exactly the five errors of the invalid-record example, and writes nothing', async () => {
    const sourceId = await createSource();
    const payload = await ingest(sourceId, camelCase(await invalidExample('invalid-record')));
    expect(payload).toMatchObject({ __typename: 'ValidationError', type: 'validation_error', code: 'VALIDATION_FAILED', param: null, retryable: false });
    expect(payload.errors?.map((error) => error.param)).toEqual(['fields[0].category', 'fields[1].value', 'fields[2].value', 'fields[3].value', 'fields[4].name']);
    expect(payload.errors?.every((error) => error.code === 'INVALID_FIELD_VALUE')).toBe(true);
    expect(await countRecords(sourceId)).toBe(0);
  });

  it('names each failing value in its error message', async () => {
    const sourceId = await createSource();
    const payload = await ingest(sourceId, camelCase(await invalidExample('invalid-record')));
    const messages = payload.errors?.map((error) => error.message) ?? [];
    expect(messages[0]).toContain('opinion');
    expect(messages[1]).toContain('7.5');
    expect(messages[2]).toContain('2025-02-30');
    expect(messages[3]).toContain('2025-01-01 10:00');
    expect(messages[4]).toContain('comment');
  });

  it('answers the failing field\'s own code and param when only one field failed', async () => {
    const sourceId = await createSource();
    const payload = await ingest(sourceId, {
      fields: [message('fine'), { category: 'metadata', type: 'integer', name: 'score', value: 7.5 }],
    });
    expect(payload).toMatchObject({ __typename: 'ValidationError', type: 'validation_error', code: 'INVALID_FIELD_VALUE', param: 'fields[1].value' });
    expect(payload.errors).toEqual([{ param: 'fields[1].value', code: 'INVALID_FIELD_VALUE', message: expect.stringContaining('7.5') }]);
    expect(await countRecords(sourceId)).toBe(0);
  });

  it('answers FIELD_VALUE_TOO_LARGE at fields[0].value for a value of 10,241 bytes of JSON text', async () => {
    const sourceId = await createSource();
    const payload = await ingest(sourceId, { fields: [message(`${'é'.repeat(5_119)}a`)] });
    expect(payload).toMatchObject({ __typename: 'ValidationError', type: 'validation_error', code: 'FIELD_VALUE_TOO_LARGE', param: 'fields[0].value' });
    expect(payload.errors).toEqual([{ param: 'fields[0].value', code: 'FIELD_VALUE_TOO_LARGE', message: expect.any(String) }]);
    expect(await countRecords(sourceId)).toBe(0);
  });

  it('accepts a value of exactly 10,240 bytes of JSON text', async () => {
    const sourceId = await createSource();
    const value = 'é'.repeat(5_119);
    const record = await ingestRecord(sourceId, { fields: [message(value)] });
    expect(record.fields[0]?.value).toBe(value);
  });

  it('answers INVALID_FIELD_VALUE at fields[0].value for U+0000 in a string value, and writes nothing', async () => {
    const sourceId = await createSource();
    const payload = await ingest(sourceId, { fields: [message('nul\u0000byte')] });
    expect(payload).toMatchObject({ __typename: 'ValidationError', code: 'INVALID_FIELD_VALUE', param: 'fields[0].value' });
    expect(await countRecords(sourceId)).toBe(0);
  });

  it('answers INVALID_FIELD_VALUE at fields[0].value for U+0000 nested in a json value', async () => {
    const sourceId = await createSource();
    const payload = await ingest(sourceId, { fields: [{ category: 'metadata', type: 'json', name: 'thread', value: { replies: ['a\u0000'] } }] });
    expect(payload).toMatchObject({ __typename: 'ValidationError', code: 'INVALID_FIELD_VALUE', param: 'fields[0].value' });
  });

  it('answers INVALID_FIELD_VALUE at fields for a record without fields', async () => {
    const sourceId = await createSource();
    const payload = await ingest(sourceId, { fields: [] });
    expect(payload).toMatchObject({ __typename: 'ValidationError', type: 'validation_error', code: 'INVALID_FIELD_VALUE', param: 'fields' });
  });

  it('answers INVALID_FIELD_VALUE at fields for 101 fields', async () => {
    const sourceId = await createSource();
    const fields = Array.from({ length: 101 }, (_, i) => message('x', `f${i}`));
    const payload = await ingest(sourceId, { fields });
    expect(payload).toMatchObject({ __typename: 'ValidationError', type: 'validation_error', code: 'INVALID_FIELD_VALUE', param: 'fields' });
    expect(await countRecords(sourceId)).toBe(0);
  });

  it('answers INVALID_FIELD_VALUE at displayTs for a date-time without offset', async () => {
    const sourceId = await createSource();
    const payload = await ingest(sourceId, { displayTs: '2025-03-14T09:26:53', fields: [message('x')] });
    expect(payload).toMatchObject({ __typename: 'ValidationError', type: 'validation_error', code: 'INVALID_FIELD_VALUE', param: 'displayTs' });
    expect(payload.message).toContain('2025-03-14T09:26:53');
  });

  it('answers INVALID_FIELD_VALUE at externalId for an empty externalId', async () => {
    const sourceId = await createSource();
    const payload = await ingest(sourceId, { externalId: '', fields: [message('x')] });
    expect(payload).toMatchObject({ __typename: 'ValidationError', code: 'INVALID_FIELD_VALUE', param: 'externalId' });
  });

  it('answers INVALID_FIELD_VALUE at externalId for 256 characters, and accepts 255', async () => {
    const sourceId = await createSource();
    const tooLong = await ingest(sourceId, { externalId: 'x'.repeat(256), fields: [message('x')] });
    expect(tooLong).toMatchObject({ __typename: 'ValidationError', code: 'INVALID_FIELD_VALUE', param: 'externalId' });
    const record = await ingestRecord(sourceId, { externalId: 'x'.repeat(255), fields: [message('x')] });
    expect(record.externalId).toBe('x'.repeat(255));
  });

  it('accepts an externalId of 255 characters outside the Basic Multilingual Plane', async () => {
    const sourceId = await createSource();
    const payload = await ingest(sourceId, { externalId: '😕'.repeat(255), fields: [message('x')] });
    expect(payload.__typename).toBe('IngestRecordSuccess');
    expect(payload.record?.externalId).toBe('😕'.repeat(255));
  });

  it('answers INVALID_ID at personId for a personId that is not a positive integer', async () => {
    const sourceId = await createSource();
    const payload = await ingest(sourceId, { personId: 'abc', fields: [message('x')] });
    expect(payload).toMatchObject({ __typename: 'ValidationError', type: 'validation_error', code: 'INVALID_ID', param: 'personId' });
  });

  it('answers well-formed text in the message when it shortens a long failing value', async () => {
    const sourceId = await createSource();
    const payload = await ingest(sourceId, { fields: [{ category: `a${'😕'.repeat(100)}`, type: 'string', name: 'comment', value: 'x' }] });
    expect(payload).toMatchObject({ __typename: 'ValidationError', code: 'INVALID_FIELD_VALUE', param: 'fields[0].category' });
    expect(payload.message?.isWellFormed()).toBe(true);
  });

  it('reports failures of the fields and of the record together', async () => {
    const sourceId = await createSource();
    const payload = await ingest(sourceId, { displayTs: 'yesterday', fields: [{ category: 'metadata', type: 'boolean', name: 'escalated', value: 'yes' }] });
    expect(payload).toMatchObject({ __typename: 'ValidationError', code: 'VALIDATION_FAILED', param: null });
    expect(payload.errors?.map((error) => error.param).sort()).toEqual(['displayTs', 'fields[0].value']);
  });
});

describe('ingestRecord: conflicts and missing resources', () => {
  it('answers ConflictError DUPLICATE_EXTERNAL_ID naming the existing record id, and writes nothing', async () => {
    const sourceId = await createSource();
    const first = await ingestRecord(sourceId, { externalId: 'zendesk-48213', fields: [message('first')] });
    const payload = await ingest(sourceId, { externalId: 'zendesk-48213', fields: [message('second')] });
    expect(payload).toMatchObject({ __typename: 'ConflictError', type: 'conflict_error', code: 'DUPLICATE_EXTERNAL_ID', param: 'externalId', retryable: false });
    expect(payload.message).toMatch(new RegExp(`\\b${first.id}\\b`));
    expect(await countRecords(sourceId)).toBe(1);
    const stored = await getRecord(first.id);
    expect(stored.body.data?.record?.fields).toEqual([message('first')]);
  });

  it('accepts the same externalId in another source', async () => {
    const sourceA = await createSource();
    const sourceB = await createSource();
    await ingestRecord(sourceA, { externalId: 'shared-1', fields: [message('a')] });
    const record = await ingestRecord(sourceB, { externalId: 'shared-1', fields: [message('b')] });
    expect(record.sourceId).toBe(sourceB);
  });

  it('accepts the same externalId in another organization\'s source', async () => {
    const sourceId = await createSource();
    await ingestRecord(sourceId, { externalId: 'tenant-1', fields: [message('mine')] });
    const other = await server.createToken('records-other-tenant');
    const otherSource = await createSource({}, other);
    const record = await ingestRecord(otherSource, { externalId: 'tenant-1', fields: [message('theirs')] }, other);
    expect(record.externalId).toBe('tenant-1');
  });

  it('answers NotFoundError FEEDBACK_SOURCE_NOT_FOUND for an unknown source, and writes nothing', async () => {
    const before = await server.orm.em.fork().count(FeedbackRecord, {});
    const payload = await ingest('999999', { fields: [message('x')] });
    expect(payload).toMatchObject({ __typename: 'NotFoundError', type: 'not_found_error', code: 'FEEDBACK_SOURCE_NOT_FOUND', param: 'sourceId', retryable: false });
    expect(payload.message).toContain('999999');
    expect(await server.orm.em.fork().count(FeedbackRecord, {})).toBe(before);
  });

  it('answers NotFoundError FEEDBACK_SOURCE_NOT_FOUND for another organization\'s source', async () => {
    const other = await server.createToken('records-foreign-source');
    const foreignSource = await createSource({}, other);
    const payload = await ingest(foreignSource, { fields: [message('x')] });
    expect(payload).toMatchObject({ __typename: 'NotFoundError', code: 'FEEDBACK_SOURCE_NOT_FOUND' });
    expect(await countRecords(foreignSource)).toBe(0);
  });

  it('answers NotFoundError PERSON_NOT_FOUND for an unknown personId, and writes nothing', async () => {
    const sourceId = await createSource();
    const payload = await ingest(sourceId, { personId: '999999', fields: [message('x')] });
    expect(payload).toMatchObject({ __typename: 'NotFoundError', type: 'not_found_error', code: 'PERSON_NOT_FOUND', param: 'personId', retryable: false });
    expect(payload.message).toContain('999999');
    expect(await countRecords(sourceId)).toBe(0);
  });

  it('answers NotFoundError PERSON_NOT_FOUND for a person of another organization', async () => {
    const other = await server.createToken('records-foreign-person');
    const foreignPerson = await upsertPerson({ email: 'foreign@other.example' }, other);
    const sourceId = await createSource();
    const payload = await ingest(sourceId, { personId: foreignPerson, fields: [message('x')] });
    expect(payload).toMatchObject({ __typename: 'NotFoundError', code: 'PERSON_NOT_FOUND', param: 'personId' });
    expect(await countRecords(sourceId)).toBe(0);
  });
});

describe('ingestRecords: a mixed batch', () => {
  let sourceId: string;
  let personId: string;
  let existingId: string;
  let batch: BatchPayload;

  beforeAll(async () => {
    sourceId = await createSource({ name: 'Mixed batch' });
    personId = await upsertPerson({ email: 'batch@acme.example' });
    existingId = (await ingestRecord(sourceId, { externalId: 'pre-1', fields: [message('already here')] })).id;
    batch = await ingestBatch(sourceId, [
      { externalId: 'b-1', personId, fields: [message('valid A')] },
      { externalId: 'b-2', fields: [{ category: 'metadata', type: 'integer', name: 'score', value: 7.5 }] },
      { externalId: 'b-1', fields: [message('duplicate of A')] },
      { externalId: 'pre-1', fields: [message('duplicate of an existing record')] },
      { externalId: 'b-3', personId: '999999', fields: [message('unknown person')] },
      { fields: [message('valid B')] },
    ]);
  });

  it('answers IngestRecordsSuccess with one result per item, in input order', () => {
    expect(batch.__typename).toBe('IngestRecordsSuccess');
    expect(batch.results?.map((result) => result.__typename)).toEqual([
      'IngestRecordSuccess',
      'ValidationError',
      'ConflictError',
      'ConflictError',
      'NotFoundError',
      'IngestRecordSuccess',
    ]);
  });

  it('counts 2 ingested and 4 failed', () => {
    expect(batch.ingestedCount).toBe(2);
    expect(batch.failedCount).toBe(4);
  });

  it('answers the ingested records at their positions', () => {
    expect(batch.results?.[0]?.record).toMatchObject({ externalId: 'b-1', personId });
    expect(batch.results?.[5]?.record).toMatchObject({ externalId: null, personId: null });
  });

  it('answers the invalid item\'s own code and param', () => {
    expect(batch.results?.[1]).toMatchObject({ type: 'validation_error', code: 'INVALID_FIELD_VALUE', param: 'fields[0].value' });
    expect(batch.results?.[1]?.errors).toEqual([{ param: 'fields[0].value', code: 'INVALID_FIELD_VALUE', message: expect.stringContaining('7.5') }]);
  });

  it('answers DUPLICATE_EXTERNAL_ID naming the record ingested earlier in the same batch', () => {
    expect(batch.results?.[2]).toMatchObject({ type: 'conflict_error', code: 'DUPLICATE_EXTERNAL_ID', param: 'externalId' });
    expect(batch.results?.[2]?.message).toMatch(new RegExp(`\\b${batch.results?.[0]?.record?.id}\\b`));
  });

  it('answers DUPLICATE_EXTERNAL_ID naming the existing record', () => {
    expect(batch.results?.[3]).toMatchObject({ type: 'conflict_error', code: 'DUPLICATE_EXTERNAL_ID', param: 'externalId' });
    expect(batch.results?.[3]?.message).toMatch(new RegExp(`\\b${existingId}\\b`));
  });

  it('answers PERSON_NOT_FOUND for the item with an unknown person', () => {
    expect(batch.results?.[4]).toMatchObject({ type: 'not_found_error', code: 'PERSON_NOT_FOUND', param: 'personId' });
  });

  it('writes exactly the ingested records', async () => {
    const rows = await server.orm.em.fork().find(FeedbackRecord, { source: Number(sourceId) }, { orderBy: { id: 'asc' } });
    expect(rows.map((row) => String(row.id)).sort()).toEqual([existingId, batch.results?.[0]?.record?.id, batch.results?.[5]?.record?.id].sort());
    expect(rows.find((row) => row.externalId === 'b-1')?.fields).toEqual([message('valid A')]);
  });
});

describe('ingestRecords: batch size', () => {
  it('accepts 500 records', async () => {
    const sourceId = await createSource();
    const records = Array.from({ length: 500 }, (_, i) => ({ externalId: `bulk-${i}`, fields: [message(`record ${i}`)] }));
    const batch = await ingestBatch(sourceId, records);
    expect(batch.__typename).toBe('IngestRecordsSuccess');
    expect(batch.ingestedCount).toBe(500);
    expect(batch.failedCount).toBe(0);
    expect(batch.results?.map((result) => result.record?.externalId)).toEqual(records.map((record) => record.externalId));
    expect(await countRecords(sourceId)).toBe(500);
  });

  it('rejects 501 records as a whole with ValidationError, and writes nothing', async () => {
    const sourceId = await createSource();
    const records = Array.from({ length: 501 }, (_, i) => ({ externalId: `bulk-${i}`, fields: [message(`record ${i}`)] }));
    const batch = await ingestBatch(sourceId, records);
    expect(batch).toMatchObject({ __typename: 'ValidationError', type: 'validation_error', code: 'INVALID_FIELD_VALUE', param: 'records', retryable: false });
    expect(batch.message).toContain('501');
    expect(await countRecords(sourceId)).toBe(0);
  });

  it('answers NotFoundError FEEDBACK_SOURCE_NOT_FOUND for a batch into an unknown source', async () => {
    const batch = await ingestBatch('999999', [{ fields: [message('x')] }]);
    expect(batch).toMatchObject({ __typename: 'NotFoundError', type: 'not_found_error', code: 'FEEDBACK_SOURCE_NOT_FOUND', param: 'sourceId' });
  });
});

describe('records query', () => {
  let listToken: string;
  let sourceA: string;
  let sourceB: string;
  let alice: string;
  let bob: string;
  /** Every record of the organization, newest displayTs first (ties: any order, but stable). */
  const all: { id: string; sourceId: string; personId: string | null; displayTs: string }[] = [];

  beforeAll(async () => {
    listToken = await server.createToken('records-listing');
    sourceA = await createSource({ name: 'Listing A' }, listToken);
    sourceB = await createSource({ name: 'Listing B' }, listToken);
    alice = await upsertPerson({ email: 'alice@list.example' }, listToken);
    bob = await upsertPerson({ email: 'bob@list.example' }, listToken);
    // Ingested out of displayTs order, with ties, so that the order can only come from sorting.
    const plan: [string, string | null, string][] = [
      [sourceA, alice, '2025-03-01T12:00:00Z'],
      [sourceA, bob, '2025-01-15T08:30:00Z'],
      [sourceB, alice, '2025-02-10T00:00:00Z'],
      [sourceA, null, '2025-02-10T00:00:00Z'],
      [sourceB, bob, '2025-04-20T23:59:59Z'],
      [sourceA, alice, '2025-02-10T00:00:00Z'],
      [sourceB, null, '2024-12-31T23:00:00-02:00'],
      [sourceA, bob, '2025-03-01T11:59:59.999Z'],
      [sourceB, alice, '2025-01-01T00:00:00Z'],
    ];
    for (const [sourceId, personId, displayTs] of plan) {
      const record = await ingestRecord(sourceId, { displayTs, personId, fields: [message(displayTs)] }, listToken);
      all.push({ id: record.id, sourceId, personId, displayTs: record.displayTs });
    }
  });

  async function list(variables: Record<string, unknown>): Promise<Connection> {
    const response = await server.graphql<{ records: Connection }>(LIST, variables, listToken);
    expect(response.status).toBe(200);
    expect(response.body.errors).toBeUndefined();
    return response.body.data?.records as Connection;
  }

  function ids(connection: Connection): string[] {
    return connection.edges.map((edge) => edge.node.id);
  }

  function timestamps(connection: Connection): number[] {
    return connection.edges.map((edge) => new Date(edge.node.displayTs).getTime());
  }

  it('lists every record of the organization, newest displayTs first', async () => {
    const page = await list({ first: 100 });
    expect(ids(page).sort()).toEqual(all.map((record) => record.id).sort());
    const times = timestamps(page);
    expect(times).toEqual([...times].sort((a, b) => b - a));
    expect(page.edges[0]?.node.displayTs).toBe('2025-04-20T23:59:59.000Z');
    expect(page.edges.at(-1)?.node.displayTs).toBe('2025-01-01T00:00:00.000Z');
  });

  it('answers displayTs in UTC', async () => {
    const page = await list({ first: 100 });
    expect(page.edges.every((edge) => edge.node.displayTs.endsWith('Z'))).toBe(true);
    expect(page.edges.map((edge) => edge.node.displayTs)).toContain('2025-01-01T01:00:00.000Z');
  });

  it('filters by sourceId', async () => {
    const page = await list({ sourceId: sourceA, first: 100 });
    expect(ids(page).sort()).toEqual(all.filter((record) => record.sourceId === sourceA).map((record) => record.id).sort());
    expect(page.edges.every((edge) => edge.node.sourceId === sourceA)).toBe(true);
  });

  it('filters by personId', async () => {
    const page = await list({ personId: alice, first: 100 });
    expect(ids(page).sort()).toEqual(all.filter((record) => record.personId === alice).map((record) => record.id).sort());
  });

  it('filters by sourceId and personId together', async () => {
    const page = await list({ sourceId: sourceA, personId: bob });
    expect(ids(page).sort()).toEqual(all.filter((record) => record.sourceId === sourceA && record.personId === bob).map((record) => record.id).sort());
    expect(page.edges).toHaveLength(2);
  });

  it('includes records at exactly since', async () => {
    const page = await list({ since: '2025-03-01T12:00:00Z' });
    expect(page.edges.map((edge) => edge.node.displayTs)).toEqual(['2025-04-20T23:59:59.000Z', '2025-03-01T12:00:00.000Z']);
  });

  it('excludes records at exactly until', async () => {
    const page = await list({ until: '2025-01-15T08:30:00Z' });
    expect(page.edges.map((edge) => edge.node.displayTs)).toEqual(['2025-01-01T01:00:00.000Z', '2025-01-01T00:00:00.000Z']);
  });

  it('combines since and until: [2025-02-10, 2025-03-01T12:00) holds the three ties and the record just before noon', async () => {
    const page = await list({ since: '2025-02-10T00:00:00Z', until: '2025-03-01T12:00:00Z' });
    expect(page.edges.map((edge) => edge.node.displayTs)).toEqual([
      '2025-03-01T11:59:59.999Z',
      '2025-02-10T00:00:00.000Z',
      '2025-02-10T00:00:00.000Z',
      '2025-02-10T00:00:00.000Z',
    ]);
  });

  it('reads since with an offset as the same instant', async () => {
    const page = await list({ since: '2025-03-01T13:00:00+01:00' });
    expect(page.edges).toHaveLength(2);
  });

  it('pages with first and after, covering every record exactly once in the same order', async () => {
    const full = ids(await list({ first: 100 }));
    const seen: string[] = [];
    let after: string | null = null;
    let pages = 0;
    do {
      const page = await list({ first: 2, after });
      expect(page.edges.length).toBeLessThanOrEqual(2);
      seen.push(...ids(page));
      after = page.pageInfo.hasNextPage ? page.pageInfo.endCursor : null;
      pages++;
    } while (after && pages < 20);
    expect(pages).toBe(5);
    expect(seen).toEqual(full);
    expect(new Set(seen).size).toBe(all.length);
  });

  it('pages through a filtered list exactly once', async () => {
    const full = ids(await list({ sourceId: sourceA, first: 100 }));
    const seen: string[] = [];
    let after: string | null = null;
    do {
      const page = await list({ sourceId: sourceA, first: 1, after });
      seen.push(...ids(page));
      after = page.pageInfo.hasNextPage ? page.pageInfo.endCursor : null;
    } while (after && seen.length < 20);
    expect(seen).toEqual(full);
  });

  it('answers an empty list for a source without records', async () => {
    const empty = await createSource({ name: 'Listing empty' }, listToken);
    const page = await list({ sourceId: empty });
    expect(page).toEqual({ edges: [], pageInfo: { hasNextPage: false, endCursor: null } });
  });

  it('answers INVALID_CURSOR for a cursor the API did not return', async () => {
    const response = await server.graphql(LIST, { after: 'bogus' }, listToken);
    expect(response.status).toBe(200);
    expect(response.body.errors?.[0]?.extensions).toMatchObject({ type: 'validation_error', code: 'INVALID_CURSOR', param: 'after' });
  });

  it('never shows another organization\'s records', async () => {
    const page = await server.graphql<{ records: Connection }>(LIST, { first: 100 }, token);
    const mine = new Set(all.map((record) => record.id));
    expect(page.body.data?.records.edges.some((edge) => mine.has(edge.node.id))).toBe(false);
  });

  it('lists a source\'s records through FeedbackSource.records, newest displayTs first', async () => {
    const response = await server.graphql<{ feedbackSource: { records: Connection } }>(
      'query ($id: ID!) { feedbackSource(id: $id) { records(first: 100) { edges { cursor node { id sourceId personId displayTs } } pageInfo { hasNextPage endCursor } } } }',
      { id: sourceB },
      listToken,
    );
    expect(response.body.errors).toBeUndefined();
    const connection = response.body.data?.feedbackSource.records as Connection;
    expect(ids(connection)).toEqual(ids(await list({ sourceId: sourceB, first: 100 })));
    expect(connection.edges.map((edge) => edge.node.displayTs)).toEqual([
      '2025-04-20T23:59:59.000Z',
      '2025-02-10T00:00:00.000Z',
      '2025-01-01T01:00:00.000Z',
      '2025-01-01T00:00:00.000Z',
    ]);
  });

  it('filters FeedbackSource.records by since and until', async () => {
    const response = await server.graphql<{ feedbackSource: { records: Connection } }>(
      'query ($id: ID!) { feedbackSource(id: $id) { records(since: "2025-01-01T01:00:00Z", until: "2025-04-20T23:59:59Z") { edges { node { displayTs } } } } }',
      { id: sourceB },
      listToken,
    );
    expect(response.body.data?.feedbackSource.records.edges.map((edge) => edge.node.displayTs)).toEqual(['2025-02-10T00:00:00.000Z', '2025-01-01T01:00:00.000Z']);
  });

  it('lists a person\'s records through Person.records, newest displayTs first', async () => {
    const response = await server.graphql<{ person: { records: Connection } }>(
      'query ($id: ID!) { person(id: $id) { records(first: 100) { edges { cursor node { id sourceId personId displayTs } } pageInfo { hasNextPage endCursor } } } }',
      { id: bob },
      listToken,
    );
    expect(response.body.errors).toBeUndefined();
    const connection = response.body.data?.person.records as Connection;
    expect(connection.edges.map((edge) => edge.node.displayTs)).toEqual(['2025-04-20T23:59:59.000Z', '2025-03-01T11:59:59.999Z', '2025-01-15T08:30:00.000Z']);
    expect(connection.edges.every((edge) => edge.node.personId === bob)).toBe(true);
  });

  it('pages Person.records with first and after', async () => {
    const query = 'query ($id: ID!, $after: String) { person(id: $id) { records(first: 2, after: $after) { edges { node { id } } pageInfo { hasNextPage endCursor } } } }';
    const first = await server.graphql<{ person: { records: Connection } }>(query, { id: alice }, listToken);
    const firstPage = first.body.data?.person.records as Connection;
    const second = await server.graphql<{ person: { records: Connection } }>(query, { id: alice, after: firstPage.pageInfo.endCursor }, listToken);
    const secondPage = second.body.data?.person.records as Connection;
    expect(firstPage.pageInfo.hasNextPage).toBe(true);
    expect(secondPage.pageInfo.hasNextPage).toBe(false);
    expect([...ids(firstPage), ...ids(secondPage)]).toEqual(ids(await list({ personId: alice, first: 100 })));
  });
});

describe('record(id)', () => {
  it('answers RECORD_NOT_FOUND for an unknown id', async () => {
    const response = await getRecord('999999');
    expect(response.status).toBe(200);
    expect(response.body.data?.record).toBeNull();
    expect(response.body.errors).toHaveLength(1);
    expect(response.body.errors?.[0]?.path).toEqual(['record']);
    expect(response.body.errors?.[0]?.extensions).toMatchObject({ type: 'not_found_error', code: 'RECORD_NOT_FOUND', param: 'id', retryable: false });
    expect(response.body.errors?.[0]?.message).toContain('999999');
  });

  it('answers the record when sourceId is its own source', async () => {
    const sourceId = await createSource();
    const record = await ingestRecord(sourceId, { fields: [message('mine')] });
    const response = await getRecord(record.id, sourceId);
    expect(response.body.errors).toBeUndefined();
    expect(response.body.data?.record?.id).toBe(record.id);
  });

  it('answers RECORD_NOT_FOUND when sourceId is another source', async () => {
    const sourceId = await createSource();
    const otherSource = await createSource();
    const record = await ingestRecord(sourceId, { fields: [message('elsewhere')] });
    const response = await getRecord(record.id, otherSource);
    expect(response.body.data?.record).toBeNull();
    expect(response.body.errors?.[0]?.extensions).toMatchObject({ type: 'not_found_error', code: 'RECORD_NOT_FOUND' });
  });

  it('answers RECORD_NOT_FOUND for another organization\'s record', async () => {
    const sourceId = await createSource();
    const record = await ingestRecord(sourceId, { fields: [message('private')] });
    const other = await server.createToken('records-snoop');
    const response = await getRecord(record.id, undefined, other);
    expect(response.body.data?.record).toBeNull();
    expect(response.body.errors?.[0]?.extensions).toMatchObject({ type: 'not_found_error', code: 'RECORD_NOT_FOUND' });
  });
});

describe('deleteRecord', () => {
  it('answers DeleteRecordSuccess with the id and deleted: true, and the record is gone', async () => {
    const sourceId = await createSource();
    const record = await ingestRecord(sourceId, { externalId: 'to-delete', fields: [message('bye')] });
    const response = await server.graphql<{ deleteRecord: Payload }>(DELETE, { id: record.id }, token);
    expect(response.status).toBe(200);
    expect(response.body.data?.deleteRecord).toEqual({ __typename: 'DeleteRecordSuccess', id: record.id, deleted: true });
    expect(await countRecords(sourceId)).toBe(0);
    const reread = await getRecord(record.id);
    expect(reread.body.errors?.[0]?.extensions).toMatchObject({ code: 'RECORD_NOT_FOUND' });
  });

  it('frees the externalId of the deleted record', async () => {
    const sourceId = await createSource();
    const record = await ingestRecord(sourceId, { externalId: 'reuse-me', fields: [message('first')] });
    await server.graphql(DELETE, { id: record.id }, token);
    const again = await ingest(sourceId, { externalId: 'reuse-me', fields: [message('second')] });
    expect(again.__typename).toBe('IngestRecordSuccess');
  });

  it('answers NotFoundError RECORD_NOT_FOUND for an unknown id', async () => {
    const response = await server.graphql<{ deleteRecord: Payload }>(DELETE, { id: '999999' }, token);
    expect(response.body.data?.deleteRecord).toMatchObject({ __typename: 'NotFoundError', type: 'not_found_error', code: 'RECORD_NOT_FOUND', param: 'id', retryable: false });
  });

  it('answers NotFoundError RECORD_NOT_FOUND when sourceId is another source, and keeps the record', async () => {
    const sourceId = await createSource();
    const otherSource = await createSource();
    const record = await ingestRecord(sourceId, { fields: [message('stays')] });
    const response = await server.graphql<{ deleteRecord: Payload }>(DELETE, { id: record.id, sourceId: otherSource }, token);
    expect(response.body.data?.deleteRecord).toMatchObject({ __typename: 'NotFoundError', code: 'RECORD_NOT_FOUND' });
    expect(await countRecords(sourceId)).toBe(1);
  });

  it('answers NotFoundError RECORD_NOT_FOUND for another organization\'s record, and keeps it', async () => {
    const sourceId = await createSource();
    const record = await ingestRecord(sourceId, { fields: [message('stays')] });
    const other = await server.createToken('records-deleter');
    const response = await server.graphql<{ deleteRecord: Payload }>(DELETE, { id: record.id }, other);
    expect(response.body.data?.deleteRecord).toMatchObject({ __typename: 'NotFoundError', code: 'RECORD_NOT_FOUND' });
    expect(await countRecords(sourceId)).toBe(1);
  });
});

describe('concurrent ingestion', () => {
  it('20 concurrent ingestRecord with one externalId: exactly one succeeds, the others answer DUPLICATE_EXTERNAL_ID, one row', async () => {
    const sourceId = await createSource({ name: 'Race' });
    const payloads = await Promise.all(Array.from({ length: 20 }, (_, i) => ingest(sourceId, { externalId: 'race-1', fields: [message(`attempt ${i}`)] })));
    const winners = payloads.filter((payload) => payload.__typename === 'IngestRecordSuccess');
    const losers = payloads.filter((payload) => payload.__typename !== 'IngestRecordSuccess');
    expect(winners).toHaveLength(1);
    expect(losers).toHaveLength(19);
    for (const loser of losers) {
      expect(loser).toMatchObject({ __typename: 'ConflictError', type: 'conflict_error', code: 'DUPLICATE_EXTERNAL_ID', param: 'externalId' });
      expect(loser.message).toMatch(new RegExp(`\\b${winners[0]?.record?.id}\\b`));
    }
    expect(await countRecords(sourceId)).toBe(1);
  });

  it('concurrent batches sharing externalIds write each externalId once', async () => {
    const sourceId = await createSource({ name: 'Batch race' });
    const records = Array.from({ length: 50 }, (_, i) => ({ externalId: `shared-${i}`, fields: [message(`record ${i}`)] }));
    const batches = await Promise.all(Array.from({ length: 5 }, () => ingestBatch(sourceId, records)));
    expect(batches.reduce((sum, batch) => sum + (batch.ingestedCount ?? 0), 0)).toBe(50);
    expect(batches.reduce((sum, batch) => sum + (batch.failedCount ?? 0), 0)).toBe(200);
    expect(await countRecords(sourceId)).toBe(50);
  });
});
