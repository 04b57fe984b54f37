import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FeedbackRecord } from '../../src/records/record.entity.ts';
import { type ErrorEnvelope, expectErrorEnvelope, graphqlNamesIn, type HttpReply, LEAKS, PUBLIC_URL, RestClient, send } from '../helpers/http.ts';
import { type Example, loadExample, type RestPage, type RestRecord, type RestSource, textRecord } from '../helpers/resources.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { RFC3339_UTC } from '../helpers/spec.ts';

// SPEC §12: POST /v3/rest/feedback-sources/{id}/records/batch runs ingestRecords: 200 with one result
// per record in input order, each the record or the error envelope it would have had alone.

interface BatchItem {
  index: number;
  status: number;
  record?: RestRecord;
  error?: ErrorEnvelope;
}

interface BatchReply {
  results: BatchItem[];
  ingested_count: number;
  failed_count: number;
}

let server: TestServer;
let api: RestClient;
let sourceCounter = 0;

beforeAll(async () => {
  server = await startTestServer();
  api = new RestClient(server.url, await server.createToken('Batch Corp'));
});

afterAll(() => server.close());

function newSource(client = api): Promise<RestSource> {
  sourceCounter += 1;
  return client.createSource({ name: `Batch source ${sourceCounter}` });
}

const batchPath = (sourceId: number | string) => `/feedback-sources/${sourceId}/records/batch`;

function countRecords(sourceId: number): Promise<number> {
  return server.orm.em.fork().count(FeedbackRecord, { source: sourceId });
}

/** Asserts one failed item: the status and the envelope of the error alone, in REST's names. */
function expectFailedItem(reply: HttpReply<BatchReply>, index: number, expected: { status: number; type: string; code: string; param: string | null; errors?: { param: string; code: string }[] }) {
  const item = reply.body.results[index];
  expect(item, `result ${index}`).toBeDefined();
  expect(Object.keys(item ?? {}).sort()).toEqual(['error', 'index', 'status']);
  expect(item?.index).toBe(index);
  expect(item?.status).toBe(expected.status);
  const error = item?.error as ErrorEnvelope;
  expect(error).toMatchObject({
    type: expected.type,
    code: expected.code,
    param: expected.param,
    retryable: false,
    request_id: reply.headers.get('x-request-id'),
    doc_url: `${PUBLIC_URL}/docs/errors#${expected.code}`,
  });
  expect(error.message.length).toBeGreaterThan(0);
  expect(error.suggestion.length).toBeGreaterThan(0);
  if (expected.type === 'validation_error') {
    const listed = (error.errors ?? []).map(({ param, code }) => ({ param, code }));
    expect(listed.sort((a, b) => a.param.localeCompare(b.param))).toEqual(expected.errors ?? [{ param: expected.param, code: expected.code }]);
  } else {
    expect(error).not.toHaveProperty('errors');
  }
  expect(graphqlNamesIn(error), error.message).toEqual([]);
}

describe('a batch of good and bad records', () => {
  let source: RestSource;
  let examples: Example[];
  let personId: number;
  let reply: HttpReply<BatchReply>;

  beforeAll(async () => {
    source = await newSource();
    examples = await Promise.all(['support-tickets.json', 'nps-survey.json', 'slack-feedback.json'].map((file) => loadExample<Example>(file)));
    personId = (await api.upsertPerson({ email: 'batch.person@example.com' })).id;
    const invalid = await loadExample<Record<string, unknown>>('invalid-record.json');
    const [tickets, survey, slack] = examples;
    reply = await api.post<BatchReply>(batchPath(source.id), {
      records: [
        { ...tickets?.record, person_id: personId },
        invalid,
        survey?.record,
        { ...textRecord('unknown person'), person_id: 987654 },
        { ...textRecord('same external id again'), external_id: tickets?.record.external_id },
        { ...textRecord('bad instant'), display_ts: 'yesterday' },
        slack?.record,
      ],
    });
  });

  it('answers 200 with one result per record, in input order, and the counts', () => {
    expect(reply.status, reply.text).toBe(200);
    expect(reply.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(Object.keys(reply.body).sort()).toEqual(['failed_count', 'ingested_count', 'results']);
    expect(reply.body.results.map((item) => [item.index, item.status])).toEqual([
      [0, 201],
      [1, 400],
      [2, 201],
      [3, 404],
      [4, 409],
      [5, 400],
      [6, 201],
    ]);
    expect(reply.body.ingested_count).toBe(3);
    expect(reply.body.failed_count).toBe(4);
    expect(reply.text).not.toMatch(LEAKS);
  });

  it('answers each ingested record as the single-record route does', () => {
    const ingested = [0, 2, 6].map((index) => reply.body.results[index]);
    const sent = examples.map((example) => example.record);
    ingested.forEach((item, i) => {
      expect(Object.keys(item ?? {}).sort()).toEqual(['index', 'record', 'status']);
      const record = item?.record as RestRecord;
      expect(Object.keys(record).sort()).toEqual(['created_at', 'display_ts', 'external_id', 'fields', 'id', 'person_id', 'source_id']);
      expect(record).toMatchObject({ source_id: source.id, external_id: sent[i]?.external_id, fields: sent[i]?.fields });
      expect(record.display_ts).toMatch(RFC3339_UTC);
      expect(Date.parse(record.display_ts)).toBe(Date.parse(String(sent[i]?.display_ts)));
      expect(record.created_at).toMatch(RFC3339_UTC);
    });
    expect(ingested[0]?.record?.person_id).toBe(personId);
    expect(ingested[1]?.record?.person_id).toBeNull();
  });

  it('stores exactly the ingested records, readable through the records list', async () => {
    expect(await countRecords(source.id)).toBe(3);
    const page = await api.get<RestPage<RestRecord>>(`/feedback-sources/${source.id}/records`);
    const ids = [0, 2, 6].map((index) => reply.body.results[index]?.record?.id);
    expect(page.body.data.map((record) => record.id).sort()).toEqual([...ids].sort());
    const single = await api.get<RestRecord>(`/feedback-sources/${source.id}/records/${ids[0]}`);
    expect(single.body).toEqual(reply.body.results[0]?.record);
  });

  it('answers an invalid record with 400 VALIDATION_FAILED listing every failing field, paths relative to the record', () => {
    expectFailedItem(reply, 1, {
      status: 400,
      type: 'validation_error',
      code: 'VALIDATION_FAILED',
      param: null,
      errors: [
        { param: 'fields[0].category', code: 'INVALID_FIELD_VALUE' },
        { param: 'fields[1].value', code: 'INVALID_FIELD_VALUE' },
        { param: 'fields[2].value', code: 'INVALID_FIELD_VALUE' },
        { param: 'fields[3].value', code: 'INVALID_FIELD_VALUE' },
        { param: 'fields[4].name', code: 'INVALID_FIELD_VALUE' },
      ],
    });
  });

  it('answers an unknown person_id with 404 PERSON_NOT_FOUND naming person_id', () => {
    expectFailedItem(reply, 3, { status: 404, type: 'not_found_error', code: 'PERSON_NOT_FOUND', param: 'person_id' });
    expect(reply.body.results[3]?.error?.message).toContain('987654');
  });

  it('answers an external_id repeated within the batch with 409 DUPLICATE_EXTERNAL_ID naming the record that holds it', () => {
    expectFailedItem(reply, 4, { status: 409, type: 'conflict_error', code: 'DUPLICATE_EXTERNAL_ID', param: 'external_id' });
    expect(reply.body.results[4]?.error?.message).toContain(`record ${reply.body.results[0]?.record?.id}`);
  });

  it('answers a bad display_ts with 400 INVALID_FIELD_VALUE in REST names', () => {
    expectFailedItem(reply, 5, { status: 400, type: 'validation_error', code: 'INVALID_FIELD_VALUE', param: 'display_ts' });
    expect(reply.body.results[5]?.error?.message).toMatch(/^display_ts must be/);
  });
});

describe('the batch as a whole', () => {
  it('ingests 500 records in one request', async () => {
    const source = await newSource();
    const records = Array.from({ length: 500 }, (_, i) => textRecord(`record ${i}`, { external_id: `bulk-${i}` }));
    const reply = await api.post<BatchReply>(batchPath(source.id), { records });
    expect(reply.status, reply.text.slice(0, 500)).toBe(200);
    expect(reply.body.ingested_count).toBe(500);
    expect(reply.body.failed_count).toBe(0);
    expect(reply.body.results.map((item) => item.record?.external_id)).toEqual(records.map((record) => record.external_id));
    expect(await countRecords(source.id)).toBe(500);
  });

  it('answers 400 INVALID_FIELD_VALUE naming records for an empty batch', async () => {
    const source = await newSource();
    const reply = await api.post(batchPath(source.id), { records: [] });
    expectErrorEnvelope(reply, { type: 'validation_error', code: 'INVALID_FIELD_VALUE', param: 'records', message: 'got 0' });
  });

  it('answers 400 INVALID_FIELD_VALUE naming records for 501 records, and stores none', async () => {
    const source = await newSource();
    const reply = await api.post(batchPath(source.id), { records: Array.from({ length: 501 }, (_, i) => textRecord(`record ${i}`)) });
    expectErrorEnvelope(reply, { type: 'validation_error', code: 'INVALID_FIELD_VALUE', param: 'records', message: 'got 501' });
    expect(await countRecords(source.id)).toBe(0);
  });

  it('answers 400 for a body without records', async () => {
    const source = await newSource();
    const reply = await api.post(batchPath(source.id), {});
    expectErrorEnvelope(reply, { type: 'validation_error', code: 'INVALID_FIELD_VALUE', param: 'records', message: 'records is required' });
  });

  it('answers 400 naming the unknown key of a record, and stores none of the batch', async () => {
    const source = await newSource();
    const reply = await api.post(batchPath(source.id), { records: [textRecord('fine'), { ...textRecord('odd'), sentiment: 'angry' }] });
    expectErrorEnvelope(reply, { type: 'validation_error', code: 'INVALID_FIELD_VALUE', param: 'records[1].sentiment' });
    expect(await countRecords(source.id)).toBe(0);
  });

  it('answers 404 FEEDBACK_SOURCE_NOT_FOUND naming id for an unknown source', async () => {
    const reply = await api.post(batchPath(999999), { records: [textRecord('nowhere')] });
    expectErrorEnvelope(reply, { type: 'not_found_error', code: 'FEEDBACK_SOURCE_NOT_FOUND', param: 'id', message: '999999' });
  });

  it('answers 404 FEEDBACK_SOURCE_NOT_FOUND for another organization\'s source, and stores nothing there', async () => {
    const other = api.as(await server.createToken('Other Batch Corp'));
    const theirs = await newSource(other);
    const reply = await api.post(batchPath(theirs.id), { records: [textRecord('not mine')] });
    expectErrorEnvelope(reply, { type: 'not_found_error', code: 'FEEDBACK_SOURCE_NOT_FOUND', param: 'id' });
    expect(await countRecords(theirs.id)).toBe(0);
  });

  it('answers another organization\'s person_id as 404 PERSON_NOT_FOUND for that record alone', async () => {
    const other = api.as(await server.createToken('Person Batch Corp'));
    const theirPerson = await other.upsertPerson({ email: 'their.person@example.com' });
    const source = await newSource();
    const reply = await api.post<BatchReply>(batchPath(source.id), { records: [textRecord('mine'), textRecord('theirs', { person_id: theirPerson.id })] });
    expect(reply.status, reply.text).toBe(200);
    expect(reply.body.results.map((item) => item.status)).toEqual([201, 404]);
    expectFailedItem(reply, 1, { status: 404, type: 'not_found_error', code: 'PERSON_NOT_FOUND', param: 'person_id' });
    expect(await countRecords(source.id)).toBe(1);
  });

  it('answers 400 INVALID_ID for a path id that is not a positive integer', async () => {
    const reply = await api.post(batchPath('abc'), { records: [textRecord('x')] });
    expectErrorEnvelope(reply, { type: 'validation_error', code: 'INVALID_ID', param: 'id' });
  });

  it('answers 403 INSUFFICIENT_SCOPE naming records:write to a token without it', async () => {
    const source = await newSource();
    const reader = api.as(await server.createToken('Batch Corp', { scopes: ['records:read', 'sources:read'] }));
    const reply = await reader.post(batchPath(source.id), { records: [textRecord('x')] });
    expectErrorEnvelope(reply, { type: 'permission_error', code: 'INSUFFICIENT_SCOPE', param: null, message: 'records:write' });
  });

  it('answers 401 API_TOKEN_MISSING without a token', async () => {
    const reply = await api.as(null).post(batchPath(1), { records: [] });
    expectErrorEnvelope(reply, { type: 'authentication_error', code: 'API_TOKEN_MISSING', param: null });
  });
});

describe('an Idempotency-Key on a batch', () => {
  it('covers the whole batch: a retry replays the stored answer and ingests nothing again', async () => {
    const source = await newSource();
    const body = { records: [textRecord('one', { external_id: 'k-1' }), textRecord('two', { external_id: 'k-2' }), textRecord('one again', { external_id: 'k-1' })] };
    const first = await api.post<BatchReply>(batchPath(source.id), body, { key: 'batch-key-1' });
    expect(first.status, first.text).toBe(200);
    expect(first.headers.get('idempotency-replayed')).toBeNull();
    expect([first.body.ingested_count, first.body.failed_count]).toEqual([2, 1]);
    const retry = await api.post<BatchReply>(batchPath(source.id), body, { key: 'batch-key-1' });
    expect(retry.status).toBe(200);
    expect(retry.headers.get('idempotency-replayed')).toBe('true');
    expect(retry.headers.get('idempotency-key')).toBe('batch-key-1');
    expect(retry.text).toBe(first.text);
    expect(await countRecords(source.id)).toBe(2);
  });

  it('answers 409 IDEMPOTENCY_KEY_MISMATCH to the same key with another batch', async () => {
    const source = await newSource();
    const first = await api.post(batchPath(source.id), { records: [textRecord('a')] }, { key: 'batch-key-2' });
    expect(first.status).toBe(200);
    const other = await api.post(batchPath(source.id), { records: [textRecord('a'), textRecord('b')] }, { key: 'batch-key-2' });
    expectErrorEnvelope(other, { type: 'conflict_error', code: 'IDEMPOTENCY_KEY_MISMATCH', param: 'Idempotency-Key' });
    expect(await countRecords(source.id)).toBe(1);
  });

  it('is not consumed by a batch refused as a whole', async () => {
    const refused = await api.post(batchPath(999999), { records: [textRecord('a')] }, { key: 'batch-key-3' });
    expect(refused.status).toBe(404);
    const source = await newSource();
    const accepted = await api.post<BatchReply>(batchPath(source.id), { records: [textRecord('a')] }, { key: 'batch-key-3' });
    expect(accepted.status, accepted.text).toBe(200);
    expect(accepted.headers.get('idempotency-replayed')).toBeNull();
    expect(accepted.body.ingested_count).toBe(1);
  });
});

describe('the rate limit', () => {
  let limited: TestServer;

  beforeAll(async () => {
    limited = await startTestServer({ RATE_LIMIT_PER_MINUTE: '3' });
  });

  afterAll(() => limited.close());

  it('counts a batch of 500 records as one request', async () => {
    const client = new RestClient(limited.url, await limited.createToken('Limited Corp'));
    const source = await client.createSource({ name: 'Limited source' });
    const reply = await client.post<BatchReply>(batchPath(source.id), { records: Array.from({ length: 500 }, (_, i) => textRecord(`record ${i}`)) });
    expect(reply.status).toBe(200);
    expect(reply.body.ingested_count).toBe(500);
    expect(reply.headers.get('ratelimit-limit')).toBe('3');
    expect(reply.headers.get('ratelimit-remaining')).toBe('1');
  });
});

describe('the OpenAPI document', () => {
  interface Operation {
    operationId: string;
    security: Record<string, string[]>[];
    requestBody: { content: { 'application/json': { schema: { $ref: string } } } };
    responses: Record<string, { content?: { 'application/json': { schema: { $ref?: string } } } }>;
  }
  interface Document {
    paths: Record<string, Record<string, Operation>>;
    components: { schemas: Record<string, { example?: { records: unknown[] }; properties?: Record<string, unknown> }> };
  }

  it('describes the batch route with its scope, body example, 200 schema and error codes', async () => {
    const reply = await send<Document>(server.url, { path: '/v3/rest/openapi.json' });
    const operation = reply.body.paths['/v3/rest/feedback-sources/{id}/records/batch']?.post;
    expect(operation?.operationId).toBe('ingestRecords');
    expect(operation?.security).toEqual([{ apiToken: ['records:write'] }, { bearerAuth: ['records:write'] }]);
    const body = reply.body.components.schemas.FeedbackRecordBatchIngest;
    expect(operation?.requestBody.content['application/json'].schema.$ref).toBe('#/components/schemas/FeedbackRecordBatchIngest');
    expect(body?.example?.records.length).toBe(2);
    expect(operation?.responses['200']?.content?.['application/json'].schema.$ref).toBe('#/components/schemas/FeedbackRecordBatch');
    expect(Object.keys(reply.body.components.schemas.FeedbackRecordBatch?.properties ?? {}).sort()).toEqual(['failed_count', 'ingested_count', 'results']);
    expect(Object.keys(operation?.responses ?? {})).toEqual(expect.arrayContaining(['200', '400', '401', '403', '404', '409', '429']));
  });

  it('documents a body example the route accepts', async () => {
    const reply = await send<Document>(server.url, { path: '/v3/rest/openapi.json' });
    const example = reply.body.components.schemas.FeedbackRecordBatchIngest?.example;
    const source = await newSource();
    const ingested = await api.post<BatchReply>(batchPath(source.id), example);
    expect(ingested.status, ingested.text).toBe(200);
    expect([ingested.body.ingested_count, ingested.body.failed_count]).toEqual([2, 0]);
  });
});
