import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FeedbackRecord } from '../../src/records/record.entity.ts';
import { FeedbackSource } from '../../src/sources/source.entity.ts';
import { expectErrorEnvelope, type HttpReply, RestClient } from '../helpers/http.ts';
import { type Example, loadExample, type RestDeleted, type RestPage, type RestPerson, type RestRecord, type RestSource, textRecord } from '../helpers/resources.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { RFC3339_UTC } from '../helpers/spec.ts';

let server: TestServer;
let api: RestClient;
let sourceCounter = 0;

beforeAll(async () => {
  server = await startTestServer();
  api = new RestClient(server.url, await server.createToken('Acme Corp'));
});

afterAll(() => server.close());

function newSource(client = api): Promise<RestSource> {
  sourceCounter += 1;
  return client.createSource({ name: `Records source ${sourceCounter}` });
}

function countRecords(where: { source?: number; id?: number; externalId?: string } = {}): Promise<number> {
  return server.orm.em.fork().count(FeedbackRecord, where);
}

function recordsPath(sourceId: number | string): string {
  return `/feedback-sources/${sourceId}/records`;
}

describe.each(['support-tickets.json', 'nps-survey.json', 'slack-feedback.json'])('the quick start with %s', (file) => {
  let example: Example;
  let created: { source: HttpReply<RestSource>; person: HttpReply<RestPerson>; record: HttpReply<RestRecord> };

  // The three requests of the README's quick start, each checked by one test below.
  beforeAll(async () => {
    example = await loadExample<Example>(file);
    const source = await api.post<RestSource>('/feedback-sources', example.source);
    const person = await api.put<RestPerson>('/people', example.person);
    const record = await api.post<RestRecord>(recordsPath(source.body.id), { ...example.record, person_id: person.body.id });
    created = { source, person, record };
  });

  it('answers 201 to POST /feedback-sources with the example source', () => {
    expect(created.source.status).toBe(201);
    expect(created.source.body).toMatchObject({ ...example.source, record_count: 0 });
  });

  it('answers 201 to PUT /people with the example person and their company', () => {
    expect(created.person.status).toBe(201);
    const { company, ...person } = example.person;
    expect(created.person.body).toMatchObject(person);
    expect(created.person.body.company).toMatchObject(company as Record<string, unknown>);
    expect(created.person.body.company_id).toBe(created.person.body.company?.id);
  });

  it('answers 201 to POST /feedback-sources/{id}/records with the record as sent, linked to the source and person', () => {
    const record = created.record.body;
    expect(created.record.status).toBe(201);
    expect(Object.keys(record).sort()).toEqual(['created_at', 'display_ts', 'external_id', 'fields', 'id', 'person_id', 'source_id']);
    expect(record).toMatchObject({ source_id: created.source.body.id, person_id: created.person.body.id, external_id: example.record.external_id, fields: example.record.fields });
    expect(Number.isInteger(record.id)).toBe(true);
    expect(record.display_ts).toMatch(RFC3339_UTC);
    expect(Date.parse(record.display_ts)).toBe(Date.parse(String(example.record.display_ts)));
    expect(record.created_at).toMatch(RFC3339_UTC);
  });

  it('answers 200 to GET /feedback-sources/{id}/records/{record_id} with the ingested record', async () => {
    const response = await api.get<RestRecord>(`${recordsPath(created.source.body.id)}/${created.record.body.id}`);
    expect(response.status).toBe(200);
    expect(response.body).toEqual(created.record.body);
  });

  it('counts the record in the record_count of the source', async () => {
    const response = await api.get<RestSource>(`/feedback-sources/${created.source.body.id}`);
    expect(response.body.record_count).toBe(1);
  });
});

describe('POST /feedback-sources/{id}/records', () => {
  let source: RestSource;

  beforeAll(async () => {
    source = await newSource();
  });

  it('stores the ingested record', async () => {
    const record = await api.ingest(source.id, textRecord('Stored feedback', { external_id: 'stored-1' }));
    const stored = await server.orm.em.fork().findOneOrFail(FeedbackRecord, { id: record.id });
    expect(stored.externalId).toBe('stored-1');
    expect(stored.fields).toEqual([{ category: 'content', type: 'string', name: 'text', value: 'Stored feedback' }]);
  });

  it('defaults display_ts to now and person_id and external_id to null', async () => {
    const record = await api.ingest(source.id, textRecord('No timestamp'));
    expect(record.display_ts).toMatch(RFC3339_UTC);
    expect(Math.abs(Date.parse(record.display_ts) - Date.now())).toBeLessThan(60_000);
    expect(record.person_id).toBeNull();
    expect(record.external_id).toBeNull();
  });

  it('answers display_ts in UTC when it was sent with an offset', async () => {
    const record = await api.ingest(source.id, textRecord('With offset', { display_ts: '2025-03-14T10:26:53+01:00' }));
    expect(record.display_ts).toMatch(RFC3339_UTC);
    expect(record.display_ts).toMatch(/^2025-03-14T09:26:53(\.0+)?Z$/);
  });

  it('keeps every field type and value as sent', async () => {
    const fields = [
      { category: 'content', type: 'string', name: 'comment', value: 'Läuft gut 👍' },
      { category: 'metadata', type: 'integer', name: 'score', value: 9 },
      { category: 'metadata', type: 'float', name: 'ratio', value: 0.25 },
      { category: 'metadata', type: 'boolean', name: 'flagged', value: false },
      { category: 'metadata', type: 'date', name: 'due', value: '2024-02-29' },
      { category: 'created_at', type: 'datetime', name: 'opened', value: '2025-01-01T10:00:00-05:00' },
      { category: 'identity', type: 'json', name: 'profile', value: { tags: ['a', 'b'], nested: { n: null } } },
      { category: 'identifier', type: 'string', name: 'ticket', value: 'T-1' },
    ];
    const record = await api.ingest(source.id, { fields });
    expect(record.fields).toEqual(fields);
  });

  it('answers 409 DUPLICATE_EXTERNAL_ID, naming the existing record id, when the external_id was already ingested', async () => {
    const first = await api.ingest(source.id, textRecord('First', { external_id: 'zendesk-48213' }));
    const response = await api.post(recordsPath(source.id), textRecord('Second', { external_id: 'zendesk-48213' }));
    const error = expectErrorEnvelope(response, { status: 409, type: 'conflict_error', code: 'DUPLICATE_EXTERNAL_ID', param: 'external_id', message: 'zendesk-48213' });
    expect(error.message).toMatch(new RegExp(`\\b${first.id}\\b`));
  });

  it('writes nothing when the external_id was already ingested', async () => {
    await api.ingest(source.id, textRecord('Original', { external_id: 'dup-count' }));
    const response = await api.post(recordsPath(source.id), textRecord('Repeat', { external_id: 'dup-count' }));
    expect(response.status).toBe(409);
    expect(await countRecords({ source: source.id, externalId: 'dup-count' })).toBe(1);
  });

  it('accepts an external_id already used in another source', async () => {
    await api.ingest(source.id, textRecord('Here', { external_id: 'shared-external-id' }));
    const other = await newSource();
    const response = await api.post<RestRecord>(recordsPath(other.id), textRecord('There', { external_id: 'shared-external-id' }));
    expect(response.status).toBe(201);
    expect(response.body.source_id).toBe(other.id);
  });

  it('answers 404 FEEDBACK_SOURCE_NOT_FOUND on id, naming the id, for an unknown source', async () => {
    const before = await countRecords();
    const response = await api.post(recordsPath(987654), textRecord('Nowhere'));
    expectErrorEnvelope(response, { status: 404, type: 'not_found_error', code: 'FEEDBACK_SOURCE_NOT_FOUND', param: 'id', message: '987654' });
    expect(await countRecords()).toBe(before);
  });

  it('answers 404 PERSON_NOT_FOUND on person_id, naming the id, for an unknown person_id', async () => {
    const before = await countRecords();
    const response = await api.post(recordsPath(source.id), textRecord('Nobody gave this', { person_id: 987654 }));
    expectErrorEnvelope(response, { status: 404, type: 'not_found_error', code: 'PERSON_NOT_FOUND', param: 'person_id', message: '987654' });
    expect(await countRecords()).toBe(before);
  });

  it('answers 400 VALIDATION_FAILED with exactly the five failing fields of invalid-record.json', async () => {
    const body = await loadExample('invalid-record.json');
    const response = await api.post(recordsPath(source.id), body);
    const error = expectErrorEnvelope(response, { status: 400, type: 'validation_error', code: 'VALIDATION_FAILED', param: null });
    expect(error.errors?.map((fieldError) => fieldError.param).sort()).toEqual(['fields[0].category', 'fields[1].value', 'fields[2].value', 'fields[3].value', 'fields[4].name']);
    expect(error.errors?.every((fieldError) => fieldError.code === 'INVALID_FIELD_VALUE' && fieldError.message.length > 0)).toBe(true);
  });

  it('names each failing value of invalid-record.json in its message', async () => {
    const body = await loadExample('invalid-record.json');
    const response = await api.post(recordsPath(source.id), body);
    const messages = Object.fromEntries((expectErrorEnvelope(response, { status: 400, type: 'validation_error', code: 'VALIDATION_FAILED', param: null }).errors ?? []).map((e) => [e.param, e.message]));
    expect(messages['fields[0].category']).toContain('opinion');
    expect(messages['fields[1].value']).toContain('7.5');
    expect(messages['fields[2].value']).toContain('2025-02-30');
    expect(messages['fields[3].value']).toContain('2025-01-01 10:00');
    expect(messages['fields[4].name']).toContain('comment');
  });

  it('writes nothing for invalid-record.json', async () => {
    const before = await countRecords();
    const response = await api.post(recordsPath(source.id), await loadExample('invalid-record.json'));
    expect(response.status).toBe(400);
    expect(await countRecords()).toBe(before);
    expect(await countRecords({ externalId: 'bad-1' })).toBe(0);
  });

  it('answers 400 INVALID_FIELD_VALUE on fields[2].value, with errors of length 1, when only that field fails', async () => {
    const response = await api.post(recordsPath(source.id), {
      fields: [
        { category: 'content', type: 'string', name: 'comment', value: 'Fine' },
        { category: 'metadata', type: 'integer', name: 'score', value: 7 },
        { category: 'metadata', type: 'date', name: 'due', value: '2025-02-30' },
      ],
    });
    const error = expectErrorEnvelope(response, { status: 400, type: 'validation_error', code: 'INVALID_FIELD_VALUE', param: 'fields[2].value', message: '2025-02-30' });
    expect(error.errors).toEqual([{ param: 'fields[2].value', code: 'INVALID_FIELD_VALUE', message: expect.stringContaining('2025-02-30') }]);
  });

  it('answers 400 INVALID_FIELD_VALUE on display_ts, naming the value, for a display_ts without an offset', async () => {
    const response = await api.post(recordsPath(source.id), textRecord('Bad timestamp', { display_ts: '2025-01-01 10:00' }));
    const error = expectErrorEnvelope(response, { status: 400, type: 'validation_error', code: 'INVALID_FIELD_VALUE', param: 'display_ts', message: '2025-01-01 10:00' });
    expect(error.errors).toEqual([{ param: 'display_ts', code: 'INVALID_FIELD_VALUE', message: expect.any(String) }]);
  });

  it('answers 400 FIELD_VALUE_TOO_LARGE on fields[0].value for a value of 10,241 bytes of JSON', async () => {
    const before = await countRecords();
    // JSON text of a string is its characters plus two quotes.
    const response = await api.post(recordsPath(source.id), textRecord('x'.repeat(10_239)));
    const error = expectErrorEnvelope(response, { status: 400, type: 'validation_error', code: 'FIELD_VALUE_TOO_LARGE', param: 'fields[0].value' });
    expect(error.errors).toEqual([{ param: 'fields[0].value', code: 'FIELD_VALUE_TOO_LARGE', message: expect.any(String) }]);
    expect(await countRecords()).toBe(before);
  });

  it('accepts a value of exactly 10,240 bytes of JSON', async () => {
    const response = await api.post<RestRecord>(recordsPath(source.id), textRecord('x'.repeat(10_238)));
    expect(response.status).toBe(201);
  });

  it('answers 400 INVALID_ID on person_id, naming the value, for the person_id "abc"', async () => {
    const response = await api.post(recordsPath(source.id), textRecord('Bad person', { person_id: 'abc' }));
    expectErrorEnvelope(response, { status: 400, type: 'validation_error', code: 'INVALID_ID', param: 'person_id', message: 'abc' });
  });

  it('answers 400 INVALID_ID on id, naming the value, for the source id "abc"', async () => {
    const response = await api.post(recordsPath('abc'), textRecord('Bad source'));
    expectErrorEnvelope(response, { status: 400, type: 'validation_error', code: 'INVALID_ID', param: 'id', message: 'abc' });
  });

  it.each([
    { what: '101 fields', body: { fields: Array.from({ length: 101 }, (_, i) => ({ category: 'content', type: 'string', name: `f${i}`, value: 'x' })) }, param: 'fields' },
    { what: 'an external_id of 256 characters', body: textRecord('Long id', { external_id: 'e'.repeat(256) }), param: 'external_id' },
    { what: 'a field name of 256 characters', body: { fields: [{ category: 'content', type: 'string', name: 'n'.repeat(256), value: 'x' }] }, param: 'fields[0].name' },
    { what: 'a field name containing U+0000', body: { fields: [{ category: 'content', type: 'string', name: 'nul\u0000name', value: 'x' }] }, param: 'fields[0].name' },
    { what: 'a string value containing U+0000', body: { fields: [{ category: 'content', type: 'string', name: 'text', value: 'nul\u0000value' }] }, param: 'fields[0].value' },
    { what: 'an integer beyond the safe range', body: { fields: [{ category: 'metadata', type: 'integer', name: 'big', value: 2 ** 53 }] }, param: 'fields[0].value' },
    { what: 'a boolean sent as a string', body: { fields: [{ category: 'metadata', type: 'boolean', name: 'flag', value: 'true' }] }, param: 'fields[0].value' },
    { what: 'the unknown type "text"', body: { fields: [{ category: 'content', type: 'text', name: 'text', value: 'x' }] }, param: 'fields[0].type' },
  ])('answers 400 INVALID_FIELD_VALUE on $param, with errors of length 1, for $what', async ({ body, param }) => {
    const before = await countRecords();
    const response = await api.post(recordsPath(source.id), body);
    const error = expectErrorEnvelope(response, { status: 400, type: 'validation_error', code: 'INVALID_FIELD_VALUE', param });
    expect(error.errors).toEqual([{ param, code: 'INVALID_FIELD_VALUE', message: expect.any(String) }]);
    expect(await countRecords()).toBe(before);
  });

  it('answers 400 INVALID_FIELD_VALUE on fields when fields is empty', async () => {
    const response = await api.post(recordsPath(source.id), { fields: [] });
    expectErrorEnvelope(response, { status: 400, type: 'validation_error', code: 'INVALID_FIELD_VALUE', param: 'fields' });
  });
});

describe('GET /feedback-sources/{id}/records', () => {
  let listing: RestClient;
  let source: RestSource;
  let ana: RestPerson;
  let ben: RestPerson;
  // Ingested out of order; listed by display_ts, newest first.
  const records: RestRecord[] = [];
  const stamps = ['2025-01-03T00:00:00Z', '2025-01-01T00:00:00Z', '2025-01-05T00:00:00Z', '2025-01-02T00:00:00Z', '2025-01-04T00:00:00Z'];

  beforeAll(async () => {
    listing = api.as(await server.createToken('Listing Corp'));
    source = await newSource(listing);
    ana = await listing.upsertPerson({ email: 'ana@listing.example' });
    ben = await listing.upsertPerson({ email: 'ben@listing.example' });
    for (const [index, display_ts] of stamps.entries()) {
      records.push(await listing.ingest(source.id, textRecord(`Record ${index}`, { display_ts, person_id: index % 2 === 0 ? ana.id : ben.id })));
    }
    const other = await newSource(listing);
    await listing.ingest(other.id, textRecord('Elsewhere', { display_ts: '2025-01-06T00:00:00Z' }));
  });

  const byDisplayTsDesc = () => [...records].sort((a, b) => Date.parse(b.display_ts) - Date.parse(a.display_ts));

  it("answers 200 { data, next_cursor: null } with the source's records, newest display_ts first", async () => {
    const response = await listing.get<RestPage<RestRecord>>(recordsPath(source.id));
    expect(response.status).toBe(200);
    expect(Object.keys(response.body).sort()).toEqual(['data', 'next_cursor']);
    expect(response.body.data).toEqual(byDisplayTsDesc());
    expect(response.body.next_cursor).toBeNull();
  });

  it('pages with limit and cursor, newest first, covering every record exactly once', async () => {
    const seen: number[] = [];
    const pageSizes: number[] = [];
    let cursor: string | null = null;
    do {
      const query: Record<string, string | number> = cursor === null ? { limit: 2 } : { limit: 2, cursor };
      const response = await listing.get<RestPage<RestRecord>>(recordsPath(source.id), { query });
      expect(response.status).toBe(200);
      seen.push(...response.body.data.map((record) => record.id));
      pageSizes.push(response.body.data.length);
      cursor = response.body.next_cursor;
    } while (cursor !== null && pageSizes.length < 10);
    expect(pageSizes).toEqual([2, 2, 1]);
    expect(seen).toEqual(byDisplayTsDesc().map((record) => record.id));
  });

  it("filters by person with ?person_id=", async () => {
    const response = await listing.get<RestPage<RestRecord>>(recordsPath(source.id), { query: { person_id: ben.id } });
    expect(response.status).toBe(200);
    expect(response.body.data.map((record) => record.display_ts.slice(0, 10))).toEqual(['2025-01-02', '2025-01-01']);
    expect(response.body.data.every((record) => record.person_id === ben.id)).toBe(true);
  });

  it('filters with ?since= inclusive and ?until= exclusive on display_ts', async () => {
    const response = await listing.get<RestPage<RestRecord>>(recordsPath(source.id), { query: { since: '2025-01-02T00:00:00Z', until: '2025-01-04T00:00:00Z' } });
    expect(response.status).toBe(200);
    expect(response.body.data.map((record) => record.display_ts.slice(0, 10))).toEqual(['2025-01-03', '2025-01-02']);
  });

  it('combines ?person_id=, ?since= and ?until=', async () => {
    const response = await listing.get<RestPage<RestRecord>>(recordsPath(source.id), { query: { person_id: ana.id, since: '2025-01-02T00:00:00Z', until: '2025-01-05T00:00:00Z' } });
    expect(response.status).toBe(200);
    expect(response.body.data.map((record) => record.display_ts.slice(0, 10))).toEqual(['2025-01-04', '2025-01-03']);
  });

  it('answers 404 FEEDBACK_SOURCE_NOT_FOUND on id, naming the id, for an unknown source', async () => {
    const response = await listing.get(recordsPath(987654));
    expectErrorEnvelope(response, { status: 404, type: 'not_found_error', code: 'FEEDBACK_SOURCE_NOT_FOUND', param: 'id', message: '987654' });
  });

  it('answers 404 PERSON_NOT_FOUND on person_id, naming the id, for an unknown ?person_id=', async () => {
    const response = await listing.get(recordsPath(source.id), { query: { person_id: 987654 } });
    expectErrorEnvelope(response, { status: 404, type: 'not_found_error', code: 'PERSON_NOT_FOUND', param: 'person_id', message: '987654' });
  });

  it('answers 400 INVALID_FIELD_VALUE on since, naming the value, for ?since=yesterday', async () => {
    const response = await listing.get(recordsPath(source.id), { query: { since: 'yesterday' } });
    expectErrorEnvelope(response, { status: 400, type: 'validation_error', code: 'INVALID_FIELD_VALUE', param: 'since', message: 'yesterday' });
  });

  it('answers 400 INVALID_FIELD_VALUE on limit for ?limit=0', async () => {
    const response = await listing.get(recordsPath(source.id), { query: { limit: 0 } });
    expectErrorEnvelope(response, { status: 400, type: 'validation_error', code: 'INVALID_FIELD_VALUE', param: 'limit', message: '0' });
  });

  it('answers 400 INVALID_CURSOR on cursor for a cursor this API never returned', async () => {
    const response = await listing.get(recordsPath(source.id), { query: { cursor: 'garbage-cursor' } });
    expectErrorEnvelope(response, { status: 400, type: 'validation_error', code: 'INVALID_CURSOR', param: 'cursor' });
  });

  it('answers 400 INVALID_ID on person_id for ?person_id=abc', async () => {
    const response = await listing.get(recordsPath(source.id), { query: { person_id: 'abc' } });
    expectErrorEnvelope(response, { status: 400, type: 'validation_error', code: 'INVALID_ID', param: 'person_id', message: 'abc' });
  });
});

describe('GET /feedback-sources/{id}/records/{record_id}', () => {
  let source: RestSource;
  let record: RestRecord;

  beforeAll(async () => {
    source = await newSource();
    record = await api.ingest(source.id, textRecord('Look me up', { external_id: 'lookup-1', display_ts: '2025-02-01T12:00:00Z' }));
  });

  it('answers 200 with the record', async () => {
    const response = await api.get<RestRecord>(`${recordsPath(source.id)}/${record.id}`);
    expect(response.status).toBe(200);
    expect(response.body).toEqual(record);
  });

  it('answers 404 RECORD_NOT_FOUND on record_id, naming the id, for an unknown record', async () => {
    const response = await api.get(`${recordsPath(source.id)}/987654`);
    expectErrorEnvelope(response, { status: 404, type: 'not_found_error', code: 'RECORD_NOT_FOUND', param: 'record_id', message: '987654' });
  });

  it('answers 404 RECORD_NOT_FOUND on record_id for a record of another source', async () => {
    const other = await newSource();
    const response = await api.get(`${recordsPath(other.id)}/${record.id}`);
    expectErrorEnvelope(response, { status: 404, type: 'not_found_error', code: 'RECORD_NOT_FOUND', param: 'record_id', message: String(record.id) });
  });

  it('answers 404 FEEDBACK_SOURCE_NOT_FOUND on id for a record looked up under an unknown source', async () => {
    const response = await api.get(`${recordsPath(987654)}/${record.id}`);
    expectErrorEnvelope(response, { status: 404, type: 'not_found_error', code: 'FEEDBACK_SOURCE_NOT_FOUND', param: 'id', message: '987654' });
  });

  it('answers 400 INVALID_ID on record_id, naming the value, for the record id "abc"', async () => {
    const response = await api.get(`${recordsPath(source.id)}/abc`);
    expectErrorEnvelope(response, { status: 400, type: 'validation_error', code: 'INVALID_ID', param: 'record_id', message: 'abc' });
  });
});

describe('DELETE /feedback-sources/{id}/records/{record_id}', () => {
  let source: RestSource;

  beforeAll(async () => {
    source = await newSource();
  });

  it('answers 200 { id, deleted: true } and removes the record', async () => {
    const record = await api.ingest(source.id, textRecord('Delete me'));
    const response = await api.delete<RestDeleted>(`${recordsPath(source.id)}/${record.id}`);
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ id: record.id, deleted: true });
    expect(await countRecords({ id: record.id })).toBe(0);
  });

  it('answers 404 RECORD_NOT_FOUND for a record once it is deleted', async () => {
    const record = await api.ingest(source.id, textRecord('Gone'));
    await api.delete(`${recordsPath(source.id)}/${record.id}`);
    const response = await api.get(`${recordsPath(source.id)}/${record.id}`);
    expectErrorEnvelope(response, { status: 404, type: 'not_found_error', code: 'RECORD_NOT_FOUND', param: 'record_id', message: String(record.id) });
  });

  it('lowers the record_count of the source', async () => {
    const counted = await newSource();
    const record = await api.ingest(counted.id, textRecord('Counted then deleted'));
    await api.ingest(counted.id, textRecord('Still counted'));
    await api.delete(`${recordsPath(counted.id)}/${record.id}`);
    const response = await api.get<RestSource>(`/feedback-sources/${counted.id}`);
    expect(response.body.record_count).toBe(1);
  });

  it('keeps the source and its other records', async () => {
    const kept = await api.ingest(source.id, textRecord('Kept'));
    const removed = await api.ingest(source.id, textRecord('Removed'));
    await api.delete(`${recordsPath(source.id)}/${removed.id}`);
    expect(await countRecords({ id: kept.id })).toBe(1);
    expect(await server.orm.em.fork().count(FeedbackSource, { id: source.id })).toBe(1);
  });

  it('answers 404 RECORD_NOT_FOUND on record_id, naming the id, for an unknown record', async () => {
    const response = await api.delete(`${recordsPath(source.id)}/987654`);
    expectErrorEnvelope(response, { status: 404, type: 'not_found_error', code: 'RECORD_NOT_FOUND', param: 'record_id', message: '987654' });
  });

  it('answers 404 RECORD_NOT_FOUND and deletes nothing for a record of another source', async () => {
    const record = await api.ingest(source.id, textRecord('Not under that source'));
    const other = await newSource();
    const response = await api.delete(`${recordsPath(other.id)}/${record.id}`);
    expectErrorEnvelope(response, { status: 404, type: 'not_found_error', code: 'RECORD_NOT_FOUND', param: 'record_id', message: String(record.id) });
    expect(await countRecords({ id: record.id })).toBe(1);
  });

  it('answers 404 FEEDBACK_SOURCE_NOT_FOUND on id for a record under an unknown source', async () => {
    const record = await api.ingest(source.id, textRecord('Under a real source'));
    const response = await api.delete(`${recordsPath(987654)}/${record.id}`);
    expectErrorEnvelope(response, { status: 404, type: 'not_found_error', code: 'FEEDBACK_SOURCE_NOT_FOUND', param: 'id', message: '987654' });
    expect(await countRecords({ id: record.id })).toBe(1);
  });

  it('answers 400 INVALID_ID on record_id for the record id "abc"', async () => {
    const response = await api.delete(`${recordsPath(source.id)}/abc`);
    expectErrorEnvelope(response, { status: 400, type: 'validation_error', code: 'INVALID_ID', param: 'record_id', message: 'abc' });
  });
});
