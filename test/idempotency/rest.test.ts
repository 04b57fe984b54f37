import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IdempotencyKey } from '../../src/idempotency/idempotency-key.entity.ts';
import { purgeExpiredKeys } from '../../src/idempotency/idempotency.ts';
import { Person } from '../../src/people/person.entity.ts';
import { FeedbackRecord } from '../../src/records/record.entity.ts';
import { FeedbackSource } from '../../src/sources/source.entity.ts';
import { type ErrorEnvelope, expectErrorEnvelope, type HttpReply, RestClient, type RestRequest } from '../helpers/http.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { sleep } from '../helpers/wait.ts';

let server: TestServer;
let token: string;
let otherOrgToken: string;

/** Any response body: a resource, or an error envelope. */
interface Body {
  error?: ErrorEnvelope;
}

interface RecordBody extends Body {
  id: number;
  source_id: number;
  external_id: string | null;
  fields: { name: string; value: unknown }[];
}

interface PersonBody extends Body {
  id: number;
  email: string | null;
}

function recordInput(text: string, extra: Record<string, unknown> = {}) {
  return { fields: [{ category: 'content', type: 'string', name: 'text', value: text }], ...extra };
}

function send<T extends Body = Body>(method: string, path: string, options: RestRequest = {}, on: TestServer = server): Promise<HttpReply<T>> {
  return new RestClient(on.url, token).send<T>(method, path, options);
}

async function createSource(as = token, on = server): Promise<number> {
  const response = await new RestClient(on.url, as).post<{ id: number }>('/feedback-sources', { name: `Source ${randomUUID()}` });
  expect(response.status).toBe(201);
  return response.body.id;
}

async function ingest(sourceId: number, options: RestRequest, on = server): Promise<HttpReply<RecordBody>> {
  return await send<RecordBody>('POST', `/feedback-sources/${sourceId}/records`, options, on);
}

function countRecords(sourceId: number, on = server): Promise<number> {
  return on.orm.em.fork().count(FeedbackRecord, { source: sourceId });
}

function countPeople(email: string): Promise<number> {
  return server.orm.em.fork().count(Person, { email });
}

beforeAll(async () => {
  server = await startTestServer();
  token = await server.createToken('Acme Corp');
  otherOrgToken = await server.createToken('Globex');
});

afterAll(() => server.close());

describe('POST /feedback-sources/{id}/records with an Idempotency-Key', () => {
  it('ingests the record and answers 201 without Idempotency-Replayed the first time', async () => {
    const sourceId = await createSource();
    const response = await ingest(sourceId, { key: randomUUID(), json: recordInput('First time') });
    expect(response.status).toBe(201);
    expect(response.headers.get('idempotency-replayed')).toBeNull();
    expect(response.body).toMatchObject({ source_id: sourceId, fields: [{ name: 'text', value: 'First time' }] });
    expect(await countRecords(sourceId)).toBe(1);
  });

  it('replays the stored 201 and body with Idempotency-Replayed: true to the same request, ingesting nothing more', async () => {
    const sourceId = await createSource();
    const key = randomUUID();
    const first = await ingest(sourceId, { key, json: recordInput('Replayed') });
    const retry = await ingest(sourceId, { key, json: recordInput('Replayed') });
    expect(first.status).toBe(201);
    expect(retry.status).toBe(201);
    expect(retry.headers.get('idempotency-replayed')).toBe('true');
    expect(retry.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(retry.text).toBe(first.text);
    expect(await countRecords(sourceId)).toBe(1);
  });

  it('replays to a retry whose JSON has the same keys in another order', async () => {
    const sourceId = await createSource();
    const key = randomUUID();
    const first = await ingest(sourceId, { key, json: { external_id: 'order-1', fields: [{ category: 'content', type: 'string', name: 'text', value: 'Order' }] } });
    const retry = await ingest(sourceId, { key, json: { fields: [{ value: 'Order', name: 'text', type: 'string', category: 'content' }], external_id: 'order-1' } });
    expect(retry.status).toBe(201);
    expect(retry.headers.get('idempotency-replayed')).toBe('true');
    expect(retry.text).toBe(first.text);
    expect(await countRecords(sourceId)).toBe(1);
  });

  it('runs every request without an Idempotency-Key', async () => {
    const sourceId = await createSource();
    const first = await ingest(sourceId, { json: recordInput('No key') });
    const second = await ingest(sourceId, { json: recordInput('No key') });
    expect([first.status, second.status]).toEqual([201, 201]);
    expect(second.headers.get('idempotency-replayed')).toBeNull();
    expect(second.body.id).not.toBe(first.body.id);
    expect(await countRecords(sourceId)).toBe(2);
  });
});

describe('PUT /people with an Idempotency-Key', () => {
  it('replays the 201 of the request that created the person, although a new run would answer 200', async () => {
    const key = randomUUID();
    const email = `${randomUUID()}@northwind.example`;
    const first = await send<PersonBody>('PUT', '/people', { key, json: { email, first_name: 'María' } });
    const retry = await send<PersonBody>('PUT', '/people', { key, json: { email, first_name: 'María' } });
    expect(first.status).toBe(201);
    expect(retry.status).toBe(201);
    expect(retry.headers.get('idempotency-replayed')).toBe('true');
    expect(retry.text).toBe(first.text);
    expect(await countPeople(email)).toBe(1);
  });

  it('does not run the upsert again on a replay: a change made in between stays', async () => {
    const key = randomUUID();
    const email = `${randomUUID()}@northwind.example`;
    await send('PUT', '/people', { key, json: { email, first_name: 'Before' } });
    const update = await send('PUT', '/people', { json: { email, first_name: 'Changed in between' } });
    expect(update.status).toBe(200);
    const retry = await send<PersonBody>('PUT', '/people', { key, json: { email, first_name: 'Before' } });
    expect(retry.headers.get('idempotency-replayed')).toBe('true');
    const stored = await server.orm.em.fork().findOneOrFail(Person, { email });
    expect(stored.firstName).toBe('Changed in between');
  });
});

describe('DELETE with an Idempotency-Key', () => {
  it('replays the 200 { id, deleted: true } of DELETE /people/{id}, although the person is gone', async () => {
    const person = await send<PersonBody>('PUT', '/people', { json: { email: `${randomUUID()}@northwind.example` } });
    const key = randomUUID();
    const first = await send('DELETE', `/people/${person.body.id}`, { key });
    const retry = await send('DELETE', `/people/${person.body.id}`, { key });
    expect(first.status).toBe(200);
    expect(first.body).toEqual({ id: person.body.id, deleted: true });
    expect(retry.status).toBe(200);
    expect(retry.headers.get('idempotency-replayed')).toBe('true');
    expect(retry.body).toEqual({ id: person.body.id, deleted: true });
  });

  it('replays the 200 of DELETE /feedback-sources/{id}/records/{record_id}, although the record is gone', async () => {
    const sourceId = await createSource();
    const record = await ingest(sourceId, { json: recordInput('To delete') });
    const key = randomUUID();
    const first = await send('DELETE', `/feedback-sources/${sourceId}/records/${record.body.id}`, { key });
    const retry = await send('DELETE', `/feedback-sources/${sourceId}/records/${record.body.id}`, { key });
    expect(first.status).toBe(200);
    expect(retry.status).toBe(200);
    expect(retry.headers.get('idempotency-replayed')).toBe('true');
    expect(retry.body).toEqual({ id: record.body.id, deleted: true });
    expect(await countRecords(sourceId)).toBe(0);
  });

  it('answers 404 RECORD_NOT_FOUND, not a replay, to a second DELETE of the record with another key', async () => {
    const sourceId = await createSource();
    const record = await ingest(sourceId, { json: recordInput('Deleted twice') });
    await send('DELETE', `/feedback-sources/${sourceId}/records/${record.body.id}`, { key: randomUUID() });
    const second = await send('DELETE', `/feedback-sources/${sourceId}/records/${record.body.id}`, { key: randomUUID() });
    expectErrorEnvelope(second, { status: 404, type: 'not_found_error', code: 'RECORD_NOT_FOUND', param: 'record_id' });
    expect(second.headers.get('idempotency-replayed')).toBeNull();
  });
});

describe('Idempotency-Key echo', () => {
  it('echoes the key on the first 201', async () => {
    const key = randomUUID();
    const response = await ingest(await createSource(), { key, json: recordInput('Echo') });
    expect(response.status).toBe(201);
    expect(response.headers.get('idempotency-key')).toBe(key);
  });

  it('echoes the key on a replay', async () => {
    const sourceId = await createSource();
    const key = randomUUID();
    await ingest(sourceId, { key, json: recordInput('Echo replay') });
    const retry = await ingest(sourceId, { key, json: recordInput('Echo replay') });
    expect(retry.headers.get('idempotency-replayed')).toBe('true');
    expect(retry.headers.get('idempotency-key')).toBe(key);
  });

  it('echoes the key on a 400 validation error', async () => {
    const key = randomUUID();
    const response = await ingest(await createSource(), { key, json: { fields: [] } });
    expect(response.status).toBe(400);
    expect(response.headers.get('idempotency-key')).toBe(key);
  });

  it('echoes the key on a 404 FEEDBACK_SOURCE_NOT_FOUND', async () => {
    const key = randomUUID();
    const response = await ingest(987654, { key, json: recordInput('Nowhere') });
    expectErrorEnvelope(response, { status: 404, type: 'not_found_error', code: 'FEEDBACK_SOURCE_NOT_FOUND', param: 'id' });
    expect(response.headers.get('idempotency-key')).toBe(key);
  });

  it('echoes the key on a 409 IDEMPOTENCY_KEY_MISMATCH', async () => {
    const sourceId = await createSource();
    const key = randomUUID();
    await ingest(sourceId, { key, json: recordInput('One body') });
    const response = await ingest(sourceId, { key, json: recordInput('Another body') });
    expect(response.status).toBe(409);
    expect(response.headers.get('idempotency-key')).toBe(key);
  });

  it('echoes the key on a 401 API_TOKEN_MISSING', async () => {
    const key = randomUUID();
    const response = await new RestClient(server.url).post<Body>('/feedback-sources/1/records', recordInput('No token'), { key });
    expectErrorEnvelope(response, { status: 401, type: 'authentication_error', code: 'API_TOKEN_MISSING', param: null });
    expect(response.headers.get('idempotency-key')).toBe(key);
  });

  it('echoes the key on a 400 INVALID_IDEMPOTENCY_KEY for a key of 256 characters', async () => {
    const key = 'k'.repeat(256);
    const response = await ingest(await createSource(), { key, json: recordInput('Too long key') });
    expect(response.status).toBe(400);
    expect(response.headers.get('idempotency-key')).toBe(key);
  });

  it('sends no Idempotency-Key header when the request sent none', async () => {
    const response = await ingest(await createSource(), { json: recordInput('No key sent') });
    expect(response.status).toBe(201);
    expect(response.headers.get('idempotency-key')).toBeNull();
  });
});

describe('IDEMPOTENCY_KEY_REUSE and IDEMPOTENCY_KEY_MISMATCH', () => {
  it('answers 409 IDEMPOTENCY_KEY_REUSE when the key was used on another path, ingesting nothing', async () => {
    const [first, second] = [await createSource(), await createSource()];
    const key = randomUUID();
    await ingest(first, { key, json: recordInput('Path one') });
    const response = await ingest(second, { key, json: recordInput('Path one') });
    expectErrorEnvelope(response, { status: 409, type: 'conflict_error', code: 'IDEMPOTENCY_KEY_REUSE', param: 'Idempotency-Key' });
    expect(response.headers.get('idempotency-replayed')).toBeNull();
    expect(await countRecords(second)).toBe(0);
  });

  it('answers 409 IDEMPOTENCY_KEY_REUSE when the key was used with another method on the same path, deleting nothing', async () => {
    const sourceId = await createSource();
    const key = randomUUID();
    const renamed = await send('PATCH', `/feedback-sources/${sourceId}`, { key, json: { description: 'Patched' } });
    expect(renamed.status).toBe(200);
    const response = await send('DELETE', `/feedback-sources/${sourceId}`, { key });
    expectErrorEnvelope(response, { status: 409, type: 'conflict_error', code: 'IDEMPOTENCY_KEY_REUSE', param: 'Idempotency-Key' });
    expect(await server.orm.em.fork().count(FeedbackSource, { id: sourceId })).toBe(1);
  });

  it('answers 409 IDEMPOTENCY_KEY_REUSE when a PUT /people key comes back on POST records', async () => {
    const key = randomUUID();
    await send('PUT', '/people', { key, json: { email: `${randomUUID()}@northwind.example` } });
    const sourceId = await createSource();
    const response = await ingest(sourceId, { key, json: recordInput('Other endpoint') });
    expectErrorEnvelope(response, { status: 409, type: 'conflict_error', code: 'IDEMPOTENCY_KEY_REUSE', param: 'Idempotency-Key' });
    expect(await countRecords(sourceId)).toBe(0);
  });

  it('answers 409 IDEMPOTENCY_KEY_MISMATCH to the same key and endpoint with another body, ingesting nothing more', async () => {
    const sourceId = await createSource();
    const key = randomUUID();
    await ingest(sourceId, { key, json: recordInput('Original') });
    const response = await ingest(sourceId, { key, json: recordInput('Changed') });
    expectErrorEnvelope(response, { status: 409, type: 'conflict_error', code: 'IDEMPOTENCY_KEY_MISMATCH', param: 'Idempotency-Key' });
    expect(response.headers.get('idempotency-replayed')).toBeNull();
    expect(await countRecords(sourceId)).toBe(1);
  });

  it('answers 409 IDEMPOTENCY_KEY_MISMATCH to the same key on PUT /people with another body, changing nothing', async () => {
    const key = randomUUID();
    const email = `${randomUUID()}@northwind.example`;
    await send('PUT', '/people', { key, json: { email, first_name: 'Kept' } });
    const response = await send('PUT', '/people', { key, json: { email, first_name: 'Overwritten' } });
    expectErrorEnvelope(response, { status: 409, type: 'conflict_error', code: 'IDEMPOTENCY_KEY_MISMATCH', param: 'Idempotency-Key' });
    const stored = await server.orm.em.fork().findOneOrFail(Person, { email });
    expect(stored.firstName).toBe('Kept');
  });

  it('answers 409 IDEMPOTENCY_KEY_MISMATCH to the same DELETE key with another query string', async () => {
    const sourceId = await createSource();
    const key = randomUUID();
    const deleted = await send('DELETE', `/feedback-sources/${sourceId}`, { key });
    expect(deleted.status).toBe(200);
    const response = await send('DELETE', `/feedback-sources/${sourceId}?cascade=true`, { key });
    expectErrorEnvelope(response, { status: 409, type: 'conflict_error', code: 'IDEMPOTENCY_KEY_MISMATCH', param: 'Idempotency-Key' });
  });
});

describe('a failed request does not consume the key', () => {
  it('accepts a corrected body with the same key after a 400, and ingests it', async () => {
    const sourceId = await createSource();
    const key = randomUUID();
    const failed = await ingest(sourceId, { key, json: { fields: [{ category: 'content', type: 'integer', name: 'score', value: 'ten' }] } });
    expectErrorEnvelope(failed, { status: 400, type: 'validation_error', code: 'INVALID_FIELD_VALUE', param: 'fields[0].value' });
    const corrected = await ingest(sourceId, { key, json: { fields: [{ category: 'content', type: 'integer', name: 'score', value: 10 }] } });
    expect(corrected.status).toBe(201);
    expect(corrected.headers.get('idempotency-replayed')).toBeNull();
    expect(await countRecords(sourceId)).toBe(1);
  });

  it('runs the same request again after a 409 DUPLICATE_EXTERNAL_ID: it succeeds once the duplicate is gone', async () => {
    const sourceId = await createSource();
    const existing = await ingest(sourceId, { json: recordInput('Existing', { external_id: 'zendesk-48213' }) });
    const key = randomUUID();
    const failed = await ingest(sourceId, { key, json: recordInput('Retried', { external_id: 'zendesk-48213' }) });
    expectErrorEnvelope(failed, { status: 409, type: 'conflict_error', code: 'DUPLICATE_EXTERNAL_ID', param: 'external_id' });
    await send('DELETE', `/feedback-sources/${sourceId}/records/${existing.body.id}`);
    const retry = await ingest(sourceId, { key, json: recordInput('Retried', { external_id: 'zendesk-48213' }) });
    expect(retry.status).toBe(201);
    expect(retry.headers.get('idempotency-replayed')).toBeNull();
    expect(retry.body).toMatchObject({ external_id: 'zendesk-48213', fields: [{ name: 'text', value: 'Retried' }] });
  });

  it('runs the same request again after a 400: the same error, not a replay', async () => {
    const key = randomUUID();
    const body = { email: `${randomUUID()}@northwind.example`, phone: '+1 415 555 0123' };
    const first = await send('PUT', '/people', { key, json: body });
    const second = await send('PUT', '/people', { key, json: body });
    expectErrorEnvelope(first, { status: 400, type: 'validation_error', code: 'INVALID_PHONE_NUMBER', param: 'phone' });
    expectErrorEnvelope(second, { status: 400, type: 'validation_error', code: 'INVALID_PHONE_NUMBER', param: 'phone' });
    expect(second.headers.get('idempotency-replayed')).toBeNull();
    expect(second.body.error?.request_id).not.toBe(first.body.error?.request_id);
  });

  it('accepts a corrected PUT /people with the same key after a 400 INVALID_PHONE_NUMBER, and creates the person', async () => {
    const key = randomUUID();
    const email = `${randomUUID()}@northwind.example`;
    const failed = await send('PUT', '/people', { key, json: { email, phone: '0034 912 345 678' } });
    expectErrorEnvelope(failed, { status: 400, type: 'validation_error', code: 'INVALID_PHONE_NUMBER', param: 'phone' });
    const corrected = await send('PUT', '/people', { key, json: { email, phone: '+34912345678' } });
    expect(corrected.status).toBe(201);
    expect(await countPeople(email)).toBe(1);
  });

  it('lets a key that failed with 404 on one path serve a DELETE on another', async () => {
    const person = await send<PersonBody>('PUT', '/people', { json: { email: `${randomUUID()}@northwind.example` } });
    const key = randomUUID();
    const missing = await send('DELETE', '/people/987654', { key });
    expectErrorEnvelope(missing, { status: 404, type: 'not_found_error', code: 'PERSON_NOT_FOUND', param: 'id' });
    const response = await send('DELETE', `/people/${person.body.id}`, { key });
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ id: person.body.id, deleted: true });
  });
});

describe('keys belong to the organization', () => {
  it("lets another organization use the same key on its own endpoint with another body", async () => {
    const key = randomUUID();
    const ours = await createSource();
    const theirs = await createSource(otherOrgToken);
    await ingest(ours, { key, json: recordInput('Ours') });
    const response = await ingest(theirs, { key, token: otherOrgToken, json: recordInput('Theirs') });
    expect(response.status).toBe(201);
    expect(response.headers.get('idempotency-replayed')).toBeNull();
    expect(await countRecords(theirs)).toBe(1);
  });

  it("runs another organization's request with the same key, path and body instead of replaying the first one's response", async () => {
    const key = randomUUID();
    const email = `${randomUUID()}@northwind.example`;
    const ours = await send<PersonBody>('PUT', '/people', { key, json: { email } });
    const theirs = await send<PersonBody>('PUT', '/people', { key, token: otherOrgToken, json: { email } });
    expect(ours.status).toBe(201);
    expect(theirs.status).toBe(201);
    expect(theirs.headers.get('idempotency-replayed')).toBeNull();
    expect(theirs.body.id).not.toBe(ours.body.id);
    expect(await countPeople(email)).toBe(2);
  });

  it("still replays the first organization's response after another organization used its key", async () => {
    const key = randomUUID();
    const ours = await createSource();
    const first = await ingest(ours, { key, json: recordInput('Ours again') });
    await ingest(await createSource(otherOrgToken), { key, token: otherOrgToken, json: recordInput('Theirs again') });
    const retry = await ingest(ours, { key, json: recordInput('Ours again') });
    expect(retry.headers.get('idempotency-replayed')).toBe('true');
    expect(retry.text).toBe(first.text);
  });
});

describe('INVALID_IDEMPOTENCY_KEY', () => {
  it('answers 400 INVALID_IDEMPOTENCY_KEY for a key of 256 characters and ingests nothing', async () => {
    const sourceId = await createSource();
    const response = await ingest(sourceId, { key: 'k'.repeat(256), json: recordInput('Long key') });
    expectErrorEnvelope(response, { status: 400, type: 'validation_error', code: 'INVALID_IDEMPOTENCY_KEY', param: 'Idempotency-Key' });
    expect(await countRecords(sourceId)).toBe(0);
  });

  it('accepts a key of 255 printable ASCII characters and replays with it', async () => {
    const sourceId = await createSource();
    const key = `k${' !~'.repeat(84)}nd`;
    expect(key).toHaveLength(255);
    const first = await ingest(sourceId, { key, json: recordInput('Longest key') });
    const retry = await ingest(sourceId, { key, json: recordInput('Longest key') });
    expect(first.status).toBe(201);
    expect(retry.headers.get('idempotency-replayed')).toBe('true');
  });

  it('answers 400 INVALID_IDEMPOTENCY_KEY for a key with a non-ASCII character and ingests nothing', async () => {
    const sourceId = await createSource();
    const response = await ingest(sourceId, { key: 'clé-1', json: recordInput('Accent') });
    expectErrorEnvelope(response, { status: 400, type: 'validation_error', code: 'INVALID_IDEMPOTENCY_KEY', param: 'Idempotency-Key' });
    expect(await countRecords(sourceId)).toBe(0);
  });

  it('answers 400 INVALID_IDEMPOTENCY_KEY for an empty key and ingests nothing', async () => {
    const sourceId = await createSource();
    const response = await ingest(sourceId, { key: '', json: recordInput('Empty key') });
    expectErrorEnvelope(response, { status: 400, type: 'validation_error', code: 'INVALID_IDEMPOTENCY_KEY', param: 'Idempotency-Key' });
    expect(await countRecords(sourceId)).toBe(0);
  });

  it('answers 400 INVALID_IDEMPOTENCY_KEY on DELETE and deletes nothing', async () => {
    const person = await send<PersonBody>('PUT', '/people', { json: { email: `${randomUUID()}@northwind.example` } });
    const response = await send('DELETE', `/people/${person.body.id}`, { key: 'k'.repeat(256) });
    expectErrorEnvelope(response, { status: 400, type: 'validation_error', code: 'INVALID_IDEMPOTENCY_KEY', param: 'Idempotency-Key' });
    expect(await server.orm.em.fork().count(Person, { id: person.body.id })).toBe(1);
  });
});

describe('expiry after IDEMPOTENCY_TTL_SECONDS', () => {
  let shortLived: TestServer;
  let shortToken: string;
  // Keys used before the one wait of this block; they have expired when the tests run.
  let expiring: { sourceId: number; key: string; response: HttpReply<RecordBody> };
  const otherEndpointKey = randomUUID();
  const purgedKey = randomUUID();

  const ingestShort = (sourceId: number, key: string, text: string) => ingest(sourceId, { key, token: shortToken, json: recordInput(text) }, shortLived);

  beforeAll(async () => {
    shortLived = await startTestServer({ IDEMPOTENCY_TTL_SECONDS: '1' });
    shortToken = await shortLived.createToken('Short Memory Corp');
    const sourceId = await createSource(shortToken, shortLived);
    const key = randomUUID();
    expiring = { sourceId, key, response: await ingestShort(sourceId, key, 'Expiring') };
    await ingestShort(await createSource(shortToken, shortLived), otherEndpointKey, 'Old endpoint');
    await ingestShort(await createSource(shortToken, shortLived), purgedKey, 'Purged');
    await sleep(1500);
  });

  afterAll(() => shortLived.close());

  it('runs the write again when the same key and body come after the key expired', async () => {
    const later = await ingestShort(expiring.sourceId, expiring.key, 'Expiring');
    expect(expiring.response.status).toBe(201);
    expect(later.status).toBe(201);
    expect(later.headers.get('idempotency-replayed')).toBeNull();
    expect(later.body.id).not.toBe(expiring.response.body.id);
    expect(await countRecords(expiring.sourceId, shortLived)).toBe(2);
  });

  it('accepts an expired key on another endpoint', async () => {
    const response = await new RestClient(shortLived.url, shortToken).put('/people', { email: `${randomUUID()}@northwind.example` }, { key: otherEndpointKey });
    expect(response.status).toBe(201);
  });

  it('replays within IDEMPOTENCY_TTL_SECONDS', async () => {
    const sourceId = await createSource(shortToken, shortLived);
    const key = randomUUID();
    await ingestShort(sourceId, key, 'Not yet expired');
    const retry = await ingestShort(sourceId, key, 'Not yet expired');
    expect(retry.headers.get('idempotency-replayed')).toBe('true');
    expect(await countRecords(sourceId, shortLived)).toBe(1);
  });

  it('purgeExpiredKeys deletes the expired keys and keeps the live ones', async () => {
    const liveKey = randomUUID();
    await ingestShort(await createSource(shortToken, shortLived), liveKey, 'Kept');

    const purged = await purgeExpiredKeys(shortLived.orm.em.fork());

    const em = shortLived.orm.em.fork();
    expect(purged).toBeGreaterThanOrEqual(1);
    expect(await em.count(IdempotencyKey, { expiresAt: { $lte: new Date() } })).toBe(0);
    expect(await em.count(IdempotencyKey, { key: purgedKey })).toBe(0);
    expect(await em.count(IdempotencyKey, { key: liveKey })).toBe(1);
  });
});
