import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FeedbackRecord } from '../../src/records/record.entity.ts';
import { FeedbackSource } from '../../src/sources/source.entity.ts';
import { expectErrorEnvelope, RestClient } from '../helpers/http.ts';
import { type RestDeleted, type RestPage, type RestSource, textRecord } from '../helpers/resources.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { FRESH_REQUEST_ID, RFC3339_UTC } from '../helpers/spec.ts';

let server: TestServer;
let api: RestClient;

beforeAll(async () => {
  server = await startTestServer();
  api = new RestClient(server.url, await server.createToken('Acme Corp'));
});

afterAll(() => server.close());

function countSources(where: { name?: string; id?: number } = {}): Promise<number> {
  return server.orm.em.fork().count(FeedbackSource, where);
}

function countRecords(sourceId: number): Promise<number> {
  return server.orm.em.fork().count(FeedbackRecord, { source: sourceId });
}

async function ingest(sourceId: number, count: number): Promise<void> {
  for (let i = 0; i < count; i++) await api.ingest(sourceId, textRecord(`Feedback ${i}`));
}

describe('POST /feedback-sources', () => {
  it('answers 201 with the source: integer id, name, type, description, record_count 0 and UTC timestamps', async () => {
    const response = await api.post<RestSource>('/feedback-sources', { name: 'Zendesk Support Tickets', type: 'support_tickets', description: 'Tickets synced hourly' });
    expect(response.status).toBe(201);
    expect(Object.keys(response.body).sort()).toEqual(['created_at', 'description', 'id', 'name', 'record_count', 'type', 'updated_at']);
    expect(response.body).toMatchObject({ name: 'Zendesk Support Tickets', type: 'support_tickets', description: 'Tickets synced hourly', record_count: 0 });
    expect(Number.isInteger(response.body.id)).toBe(true);
    expect(response.body.id).toBeGreaterThan(0);
    expect(response.body.created_at).toMatch(RFC3339_UTC);
    expect(response.body.updated_at).toMatch(RFC3339_UTC);
    expect(Math.abs(Date.parse(response.body.created_at) - Date.now())).toBeLessThan(60_000);
  });

  it('stores the created source', async () => {
    const source = await api.createSource({ name: 'Stored over REST', type: 'survey' });
    const stored = await server.orm.em.fork().findOneOrFail(FeedbackSource, { id: source.id });
    expect(stored).toMatchObject({ name: 'Stored over REST', type: 'survey', description: null });
  });

  it('defaults the type to "api" and the description to null', async () => {
    const source = await api.createSource({ name: 'Defaults' });
    expect(source.type).toBe('api');
    expect(source.description).toBeNull();
  });

  it('answers 409 FEEDBACK_SOURCE_NAME_TAKEN, naming the name, when the name is already used in the organization', async () => {
    await api.createSource({ name: 'Intercom Chats' });
    const response = await api.post('/feedback-sources', { name: 'Intercom Chats', type: 'chat' });
    expectErrorEnvelope(response, { status: 409, type: 'conflict_error', code: 'FEEDBACK_SOURCE_NAME_TAKEN', param: 'name', message: 'Intercom Chats' });
    expect(await countSources({ name: 'Intercom Chats' })).toBe(1);
  });

  it('accepts a name that another organization already uses', async () => {
    await api.createSource({ name: 'Shared between organizations' });
    const other = api.as(await server.createToken('Other Corp'));
    const response = await other.post<RestSource>('/feedback-sources', { name: 'Shared between organizations' });
    expect(response.status).toBe(201);
  });

  it('answers 400 INVALID_FIELD_VALUE on type, with errors of length 1, when only the type is invalid', async () => {
    const response = await api.post('/feedback-sources', { name: 'Bad type source', type: 'Bad Type' });
    const error = expectErrorEnvelope(response, { status: 400, type: 'validation_error', code: 'INVALID_FIELD_VALUE', param: 'type', message: 'Bad Type' });
    expect(error.errors).toEqual([{ param: 'type', code: 'INVALID_FIELD_VALUE', message: expect.any(String) }]);
  });

  it('answers 400 VALIDATION_FAILED listing name, type and description when all three are invalid', async () => {
    const response = await api.post('/feedback-sources', { name: '', type: 'Bad Type', description: 'd'.repeat(2001) });
    const error = expectErrorEnvelope(response, { status: 400, type: 'validation_error', code: 'VALIDATION_FAILED', param: null });
    expect(error.errors).toHaveLength(3);
    expect(error.errors).toEqual(
      expect.arrayContaining([
        { param: 'name', code: 'INVALID_FIELD_VALUE', message: expect.any(String) },
        { param: 'type', code: 'INVALID_FIELD_VALUE', message: expect.any(String) },
        { param: 'description', code: 'INVALID_FIELD_VALUE', message: expect.any(String) },
      ]),
    );
  });

  it('answers 400 INVALID_FIELD_VALUE on name when the name is missing', async () => {
    const response = await api.post('/feedback-sources', { type: 'survey' });
    const error = expectErrorEnvelope(response, { status: 400, type: 'validation_error', code: 'INVALID_FIELD_VALUE', param: 'name' });
    expect(error.errors).toHaveLength(1);
  });

  it('writes nothing when the request is rejected', async () => {
    const before = await countSources();
    const response = await api.post('/feedback-sources', { name: 'Never stored', type: 'Bad Type' });
    expect(response.status).toBe(400);
    expect(await countSources()).toBe(before);
  });
});

describe('GET /feedback-sources', () => {
  let listing: RestClient;
  const names = ['Alpha', 'Bravo', 'Charlie', 'Delta', 'Echo'];
  const ids: number[] = [];

  beforeAll(async () => {
    listing = api.as(await server.createToken('Listing Corp'));
    for (const name of names) ids.push((await listing.createSource({ name })).id);
  });

  it('answers 200 { data, next_cursor: null } with every source, newest first', async () => {
    const response = await listing.get<RestPage<RestSource>>('/feedback-sources');
    expect(response.status).toBe(200);
    expect(Object.keys(response.body).sort()).toEqual(['data', 'next_cursor']);
    expect(response.body.data.map((source) => source.name)).toEqual(['Echo', 'Delta', 'Charlie', 'Bravo', 'Alpha']);
    expect(response.body.next_cursor).toBeNull();
  });

  it('lists sources with the same shape as GET /feedback-sources/{id}', async () => {
    const response = await listing.get<RestPage<RestSource>>('/feedback-sources');
    const single = await listing.get<RestSource>(`/feedback-sources/${ids[0]}`);
    expect(response.body.data.at(-1)).toEqual(single.body);
  });

  it('pages with limit and cursor, newest first, covering every source exactly once', async () => {
    const seen: number[] = [];
    const pageSizes: number[] = [];
    let cursor: string | null = null;
    do {
      const query: Record<string, string | number> = cursor === null ? { limit: 2 } : { limit: 2, cursor };
      const response = await listing.get<RestPage<RestSource>>('/feedback-sources', { query });
      expect(response.status).toBe(200);
      seen.push(...response.body.data.map((source) => source.id));
      pageSizes.push(response.body.data.length);
      cursor = response.body.next_cursor;
    } while (cursor !== null && pageSizes.length < 10);
    expect(pageSizes).toEqual([2, 2, 1]);
    expect(seen).toEqual([...ids].reverse());
  });

  it('returns 25 sources by default and a next_cursor when there are more', async () => {
    const many = api.as(await server.createToken('Many Sources Corp'));
    for (let i = 0; i < 26; i++) await many.createSource({ name: `Source ${i}` });
    const first = await many.get<RestPage<RestSource>>('/feedback-sources');
    expect(first.body.data).toHaveLength(25);
    expect(first.body.next_cursor).toEqual(expect.any(String));
    const second = await many.get<RestPage<RestSource>>('/feedback-sources', { query: { cursor: first.body.next_cursor ?? '' } });
    expect(second.body.data.map((source) => source.name)).toEqual(['Source 0']);
    expect(second.body.next_cursor).toBeNull();
  });

  it('filters by exact name with ?name=', async () => {
    const response = await listing.get<RestPage<RestSource>>('/feedback-sources', { query: { name: 'Charlie' } });
    expect(response.status).toBe(200);
    expect(response.body.data.map((source) => source.id)).toEqual([ids[2]]);
    expect(response.body.next_cursor).toBeNull();
  });

  it('answers an empty list when no source has the ?name=', async () => {
    const response = await listing.get<RestPage<RestSource>>('/feedback-sources', { query: { name: 'charlie' } });
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ data: [], next_cursor: null });
  });

  it.each(['0', '101', 'ten'])('answers 400 INVALID_FIELD_VALUE on limit for ?limit=%s', async (limit) => {
    const response = await listing.get('/feedback-sources', { query: { limit } });
    expectErrorEnvelope(response, { status: 400, type: 'validation_error', code: 'INVALID_FIELD_VALUE', param: 'limit', message: limit });
  });

  it('answers 400 INVALID_CURSOR on cursor for a cursor this API never returned', async () => {
    const response = await listing.get('/feedback-sources', { query: { cursor: 'garbage-cursor' } });
    expectErrorEnvelope(response, { status: 400, type: 'validation_error', code: 'INVALID_CURSOR', param: 'cursor' });
  });
});

describe('GET /feedback-sources/{id}', () => {
  it('answers 200 with the source', async () => {
    const created = await api.createSource({ name: 'Typeform NPS', type: 'survey', description: 'Quarterly NPS' });
    const response = await api.get<RestSource>(`/feedback-sources/${created.id}`);
    expect(response.status).toBe(200);
    expect(response.body).toEqual(created);
  });

  it('counts the records of the source in record_count', async () => {
    const source = await api.createSource({ name: 'Counted' });
    await ingest(source.id, 3);
    const response = await api.get<RestSource>(`/feedback-sources/${source.id}`);
    expect(response.body.record_count).toBe(3);
  });

  it('answers 404 FEEDBACK_SOURCE_NOT_FOUND on id, naming the id, for an unknown id', async () => {
    const response = await api.get('/feedback-sources/987654');
    expectErrorEnvelope(response, { status: 404, type: 'not_found_error', code: 'FEEDBACK_SOURCE_NOT_FOUND', param: 'id', message: '987654' });
  });

  it('answers 400 INVALID_ID on id, naming the value, for the id "abc"', async () => {
    const response = await api.get('/feedback-sources/abc');
    expectErrorEnvelope(response, { status: 400, type: 'validation_error', code: 'INVALID_ID', param: 'id', message: 'abc' });
  });

  it('answers 400 INVALID_ID on id for the id 0', async () => {
    const response = await api.get('/feedback-sources/0');
    expectErrorEnvelope(response, { status: 400, type: 'validation_error', code: 'INVALID_ID', param: 'id' });
  });
});

describe('PATCH /feedback-sources/{id}', () => {
  it('answers 200 with the renamed source and stores the new name', async () => {
    const source = await api.createSource({ name: 'Before rename', type: 'chat' });
    const response = await api.patch<RestSource>(`/feedback-sources/${source.id}`, { name: 'After rename' });
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ id: source.id, name: 'After rename', type: 'chat', record_count: 0, created_at: source.created_at });
    expect(response.body.updated_at).toMatch(RFC3339_UTC);
    expect(Date.parse(response.body.updated_at)).toBeGreaterThanOrEqual(Date.parse(source.updated_at));
    const stored = await server.orm.em.fork().findOneOrFail(FeedbackSource, { id: source.id });
    expect(stored.name).toBe('After rename');
  });

  it('keeps the keys the body leaves out', async () => {
    const source = await api.createSource({ name: 'Partly updated', type: 'survey', description: 'Kept' });
    const response = await api.patch<RestSource>(`/feedback-sources/${source.id}`, { type: 'chat' });
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ name: 'Partly updated', type: 'chat', description: 'Kept' });
  });

  it('clears the description sent as null', async () => {
    const source = await api.createSource({ name: 'Loses its description', description: 'Temporary' });
    const response = await api.patch<RestSource>(`/feedback-sources/${source.id}`, { description: null });
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ name: 'Loses its description', description: null });
  });

  it('answers 409 FEEDBACK_SOURCE_NAME_TAKEN when renaming to a name already used, and keeps the old name', async () => {
    await api.createSource({ name: 'Taken name' });
    const source = await api.createSource({ name: 'Wants the taken name' });
    const response = await api.patch(`/feedback-sources/${source.id}`, { name: 'Taken name' });
    expectErrorEnvelope(response, { status: 409, type: 'conflict_error', code: 'FEEDBACK_SOURCE_NAME_TAKEN', param: 'name', message: 'Taken name' });
    expect(await countSources({ id: source.id, name: 'Wants the taken name' })).toBe(1);
  });

  it('answers 400 INVALID_FIELD_VALUE on name for an empty name, and keeps the old name', async () => {
    const source = await api.createSource({ name: 'Keeps its name' });
    const response = await api.patch(`/feedback-sources/${source.id}`, { name: '' });
    const error = expectErrorEnvelope(response, { status: 400, type: 'validation_error', code: 'INVALID_FIELD_VALUE', param: 'name' });
    expect(error.errors).toHaveLength(1);
    expect(await countSources({ id: source.id, name: 'Keeps its name' })).toBe(1);
  });

  it('answers 404 FEEDBACK_SOURCE_NOT_FOUND on id, naming the id, for an unknown id', async () => {
    const response = await api.patch('/feedback-sources/987654', { name: 'Nowhere' });
    expectErrorEnvelope(response, { status: 404, type: 'not_found_error', code: 'FEEDBACK_SOURCE_NOT_FOUND', param: 'id', message: '987654' });
    expect(await countSources({ name: 'Nowhere' })).toBe(0);
  });

  it('answers 400 INVALID_ID on id for the id "abc"', async () => {
    const response = await api.patch('/feedback-sources/abc', { name: 'Nowhere' });
    expectErrorEnvelope(response, { status: 400, type: 'validation_error', code: 'INVALID_ID', param: 'id', message: 'abc' });
  });
});

describe('DELETE /feedback-sources/{id}', () => {
  it('answers 200 { id, deleted: true } and removes an empty source', async () => {
    const source = await api.createSource({ name: 'Empty and deleted' });
    const response = await api.delete<RestDeleted>(`/feedback-sources/${source.id}`);
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ id: source.id, deleted: true });
    expect(await countSources({ id: source.id })).toBe(0);
  });

  it('answers 404 FEEDBACK_SOURCE_NOT_FOUND for a source once it is deleted', async () => {
    const source = await api.createSource({ name: 'Gone' });
    await api.delete(`/feedback-sources/${source.id}`);
    const response = await api.get(`/feedback-sources/${source.id}`);
    expectErrorEnvelope(response, { status: 404, type: 'not_found_error', code: 'FEEDBACK_SOURCE_NOT_FOUND', param: 'id', message: String(source.id) });
  });

  it('answers 409 FEEDBACK_SOURCE_NOT_EMPTY and deletes nothing while the source has records', async () => {
    const source = await api.createSource({ name: 'Not empty' });
    await ingest(source.id, 2);
    const response = await api.delete(`/feedback-sources/${source.id}`);
    expectErrorEnvelope(response, { status: 409, type: 'conflict_error', code: 'FEEDBACK_SOURCE_NOT_EMPTY', param: 'id' });
    expect(await countSources({ id: source.id })).toBe(1);
    expect(await countRecords(source.id)).toBe(2);
  });

  it('answers 409 FEEDBACK_SOURCE_NOT_EMPTY with ?cascade=false', async () => {
    const source = await api.createSource({ name: 'Not cascaded' });
    await ingest(source.id, 1);
    const response = await api.delete(`/feedback-sources/${source.id}`, { query: { cascade: 'false' } });
    expectErrorEnvelope(response, { status: 409, type: 'conflict_error', code: 'FEEDBACK_SOURCE_NOT_EMPTY', param: 'id' });
    expect(await countRecords(source.id)).toBe(1);
  });

  it('answers 400 INVALID_FIELD_VALUE on cascade, naming the value, for ?cascade=yes, and deletes nothing', async () => {
    const source = await api.createSource({ name: 'Ambiguous cascade' });
    await ingest(source.id, 1);
    const response = await api.delete(`/feedback-sources/${source.id}`, { query: { cascade: 'yes' } });
    expectErrorEnvelope(response, { status: 400, type: 'validation_error', code: 'INVALID_FIELD_VALUE', param: 'cascade', message: 'yes' });
    expect(await countSources({ id: source.id })).toBe(1);
    expect(await countRecords(source.id)).toBe(1);
  });

  it('answers 200 { id, deleted: true } and deletes the source and its records with ?cascade=true', async () => {
    const source = await api.createSource({ name: 'Cascaded' });
    await ingest(source.id, 2);
    const response = await api.delete<RestDeleted>(`/feedback-sources/${source.id}`, { query: { cascade: 'true' } });
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ id: source.id, deleted: true });
    expect(await countSources({ id: source.id })).toBe(0);
    expect(await countRecords(source.id)).toBe(0);
  });

  it('answers 404 FEEDBACK_SOURCE_NOT_FOUND on id, naming the id, for an unknown id', async () => {
    const response = await api.delete('/feedback-sources/987654');
    expectErrorEnvelope(response, { status: 404, type: 'not_found_error', code: 'FEEDBACK_SOURCE_NOT_FOUND', param: 'id', message: '987654' });
  });

  it('answers 400 INVALID_ID on id for the id "abc"', async () => {
    const response = await api.delete('/feedback-sources/abc');
    expectErrorEnvelope(response, { status: 400, type: 'validation_error', code: 'INVALID_ID', param: 'id', message: 'abc' });
  });
});

describe('request ids', () => {
  let sourceId: number;

  beforeAll(async () => {
    sourceId = (await api.createSource({ name: 'Traced source' })).id;
  });

  it('answers a success with X-Request-Id and correlation-id headers holding the same fresh req_ id', async () => {
    const response = await api.get(`/feedback-sources/${sourceId}`);
    expect(response.status).toBe(200);
    expect(response.headers.get('x-request-id')).toMatch(FRESH_REQUEST_ID);
    expect(response.headers.get('correlation-id')).toBe(response.headers.get('x-request-id'));
  });

  it("echoes the client's X-Request-Id in both headers and in the error body", async () => {
    const response = await api.get('/feedback-sources/987654', { headers: { 'x-request-id': 'client-trace:42.a_b' } });
    expect(response.headers.get('x-request-id')).toBe('client-trace:42.a_b');
    expect(response.headers.get('correlation-id')).toBe('client-trace:42.a_b');
    expectErrorEnvelope(response, { status: 404, type: 'not_found_error', code: 'FEEDBACK_SOURCE_NOT_FOUND', param: 'id' });
  });
});
