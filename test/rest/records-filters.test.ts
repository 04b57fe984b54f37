import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectErrorEnvelope, RestClient } from '../helpers/http.ts';
import type { RestPage, RestRecord } from '../helpers/resources.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

// Filters, order and counts of GET /v3/rest/records and GET /v3/rest/feedback-sources/{id}/records (issue 11, item 7).

let server: TestServer;
let api: RestClient;
let other: RestClient;
const ids: Record<string, number> = {};
let sources: { support: number; survey: number; theirs: number };

type CountedPage = RestPage<RestRecord> & { total_count?: number };

const field = (type: string, name: string, value: unknown, category = 'metadata') => ({ category, type, name, value });

/** The names of the listed records, in order. */
function names(page: CountedPage): string[] {
  return page.data.map((record) => Object.entries(ids).find(([, id]) => id === record.id)?.[0] ?? `other:${record.id}`);
}

async function list(query: Record<string, string>, path = '/records'): Promise<CountedPage> {
  const reply = await api.get<CountedPage>(path, { query });
  expect(reply.status, reply.text).toBe(200);
  return reply.body;
}

beforeAll(async () => {
  server = await startTestServer();
  api = new RestClient(server.url, await server.createToken('Acme'));
  other = new RestClient(server.url, await server.createToken('Globex'));
  sources = {
    support: (await api.createSource({ name: 'Zendesk' })).id,
    survey: (await api.createSource({ name: 'Typeform NPS' })).id,
    theirs: (await other.createSource({ name: 'Globex Typeform' })).id,
  };
  const seed: [string, number, Record<string, unknown>][] = [
    ['detractor', sources.survey, { display_ts: '2026-11-03T10:00:00Z', fields: [field('integer', 'nps', 3), field('string', 'plan', 'enterprise')] }],
    ['promoter', sources.survey, { display_ts: '2026-11-20T10:00:00Z', fields: [field('integer', 'nps', 10), field('string', 'plan', 'enterprise')] }],
    ['export-ticket', sources.support, { display_ts: '2026-11-15T08:00:00Z', fields: [field('json', 'tags', ['export', 'performance']), field('string', 'subject', 'CSV export times out', 'content')] }],
    ['sso-ticket', sources.support, { display_ts: '2026-11-25T08:00:00Z', fields: [field('json', 'tags', ['sso']), field('integer', 'nps', 6)] }],
  ];
  for (const [name, sourceId, body] of seed) ids[name] = (await api.ingest(sourceId, body)).id;
  await other.ingest(sources.theirs, { display_ts: '2026-11-05T10:00:00Z', fields: [field('integer', 'nps', 1), field('json', 'tags', ['export'])] });
});

afterAll(() => server.close());

describe('GET /v3/rest/records', () => {
  it('lists the organization\'s records of every source, newest display_ts first, without total_count unless asked', async () => {
    const page = await list({});
    expect(names(page)).toEqual(['sso-ticket', 'promoter', 'export-ticket', 'detractor']);
    expect(page).toEqual({ data: expect.any(Array), next_cursor: null });
  });

  it('filters by a numeric field with field[nps][lt]=7 and by a tag with field[tags][contains]=["export"]', async () => {
    expect(names(await list({ 'field[nps][lt]': '7' }))).toEqual(['sso-ticket', 'detractor']);
    expect(names(await list({ 'field[tags][contains]': '["export"]' }))).toEqual(['export-ticket']);
    expect(names(await list({ 'field[plan][eq]': 'enterprise', 'field[nps][gte]': '5' }))).toEqual(['promoter']);
    expect(names(await list({ 'field[nps][in]': '[3,6]', source_id: String(sources.survey) }))).toEqual(['detractor']);
    expect(names(await list({ 'field[subject][contains]': 'csv' }))).toEqual(['export-ticket']);
    expect(names(await list({ 'field[tags][exists]': 'false' }))).toEqual(['promoter', 'detractor']);
  });

  it('adds total_count of the whole list with include_total=true', async () => {
    const page = await list({ 'field[nps][lt]': '7', include_total: 'true', limit: '1' });
    expect(page).toEqual({ data: [expect.objectContaining({ id: ids['sso-ticket'] })], next_cursor: expect.any(String), total_count: 2 });
    expect(await list({ include_total: 'false', limit: '1' })).not.toHaveProperty('total_count');
  });

  it('orders by display_ts or created_at, either way', async () => {
    expect(names(await list({ order: 'display_ts' }))).toEqual(['detractor', 'export-ticket', 'promoter', 'sso-ticket']);
    expect(names(await list({ order: '-created_at' }))).toEqual(['sso-ticket', 'export-ticket', 'promoter', 'detractor']);
    expect(names(await list({ order: 'created_at' }))).toEqual(['detractor', 'promoter', 'export-ticket', 'sso-ticket']);
  });

  it('pages an ordered, filtered list with next_cursor, and refuses the cursor with another order or filter', async () => {
    const query = { order: 'display_ts', 'field[nps][exists]': 'true', limit: '2' };
    const first = await list(query);
    expect(names(first)).toEqual(['detractor', 'promoter']);
    const cursor = first.next_cursor ?? '';
    expect(names(await list({ ...query, cursor }))).toEqual(['sso-ticket']);
    for (const changed of [{ ...query, order: '-display_ts' }, { order: 'display_ts', limit: '2' }, { ...query, 'field[nps][lt]': '9' }]) {
      const reply = await api.get('/records', { query: { ...changed, cursor } });
      expectErrorEnvelope(reply, { type: 'validation_error', code: 'INVALID_CURSOR', param: 'cursor' });
    }
  });

  it('searches the content fields with q, most relevant first, alone or with filters', async () => {
    expect(names(await list({ q: 'csv' }))).toEqual(['export-ticket']);
    expect(names(await list({ q: 'export -csv' }))).toEqual([]);
    expect(names(await list({ q: 'csv', 'field[tags][contains]': '["sso"]' }))).toEqual([]);
    expect(names(await list({ q: 'csv', include_total: 'true' }, `/feedback-sources/${sources.support}/records`))).toEqual(['export-ticket']);
  });

  it('answers INVALID_FIELD_VALUE naming field[nps][lt] for a bound that is no number, date or date-time', async () => {
    const reply = await api.get('/records', { query: { 'field[nps][lt]': 'soon' } });
    const error = expectErrorEnvelope(reply, { type: 'validation_error', code: 'INVALID_FIELD_VALUE', param: 'field[nps][lt]', message: '"soon"' });
    expect(error.message).toBe('field[nps][lt] must be a number, a date (YYYY-MM-DD) or an RFC 3339 date-time in years 0001–9999; got "soon".');
  });

  it('answers VALIDATION_FAILED naming every failing predicate and parameter', async () => {
    const reply = await api.get('/records', { query: { 'field[nps][near]': '7', 'field[tags][in]': '[]', 'field[plan][exists]': 'maybe', order: 'nps' } });
    expectErrorEnvelope(reply, {
      type: 'validation_error',
      code: 'VALIDATION_FAILED',
      param: null,
      errors: [
        { param: 'field[nps][near]', code: 'INVALID_FIELD_VALUE' },
        { param: 'field[nps]', code: 'INVALID_FIELD_VALUE' },
        { param: 'field[tags][in]', code: 'INVALID_FIELD_VALUE' },
        { param: 'field[plan][exists]', code: 'INVALID_FIELD_VALUE' },
        { param: 'field[plan]', code: 'INVALID_FIELD_VALUE' },
        { param: 'order', code: 'INVALID_FIELD_VALUE' },
      ],
    });
  });

  it('never lists another organization\'s records, and answers 404 for its source', async () => {
    expect(names(await list({ 'field[tags][contains]': '["export"]' }))).toEqual(['export-ticket']);
    expect((await list({ 'field[nps][lt]': '2', include_total: 'true' })).total_count).toBe(0);
    const reply = await api.get('/records', { query: { source_id: String(sources.theirs) } });
    expectErrorEnvelope(reply, { type: 'not_found_error', code: 'FEEDBACK_SOURCE_NOT_FOUND', param: 'source_id' });
  });
});

describe('GET /v3/rest/feedback-sources/{id}/records', () => {
  it('takes the same field filters, order and include_total, within the source', async () => {
    const page = await list({ 'field[nps][lt]': '7', order: 'display_ts', include_total: 'true' }, `/feedback-sources/${sources.survey}/records`);
    expect(names(page)).toEqual(['detractor']);
    expect(page.total_count).toBe(1);
  });

  it('answers 404 FEEDBACK_SOURCE_NOT_FOUND for another organization\'s source, filtered or not', async () => {
    const reply = await api.get(`/feedback-sources/${sources.theirs}/records`, { query: { 'field[nps][lt]': '7' } });
    expectErrorEnvelope(reply, { type: 'not_found_error', code: 'FEEDBACK_SOURCE_NOT_FOUND', param: 'id' });
  });
});

describe('GET /v3/rest/records/stats', () => {
  it('counts the records tagged export per week in a time zone, each key holding what was grouped by', async () => {
    const reply = await api.get('/records/stats', { query: { period: 'week', time_zone: 'Europe/Berlin', 'field[tags][contains]': '["export"]' } });
    expect(reply.status, reply.text).toBe(200);
    expect(reply.body).toEqual({
      truncated: false,
      groups: [{ key: { period: '2026-11-09', period_start: '2026-11-08T23:00:00.000Z' }, count: 1, min: null, max: null, avg: null, sum: null }],
    });
  });

  it('answers min, max, avg and sum of value_field per source, within since and until', async () => {
    const reply = await api.get('/records/stats', { query: { group_by: 'source', value_field: 'nps', since: '2026-11-01T00:00:00Z', until: '2026-12-01T00:00:00Z' } });
    expect(reply.status, reply.text).toBe(200);
    expect(reply.body).toEqual({
      truncated: false,
      groups: [
        { key: { source_id: sources.support }, count: 2, min: 6, max: 6, avg: 6, sum: 6 },
        { key: { source_id: sources.survey }, count: 2, min: 3, max: 10, avg: 6.5, sum: 13 },
      ],
    });
  });

  it('groups by a field\'s value with group_field, and counts only the organization\'s records', async () => {
    const reply = await api.get('/records/stats', { query: { group_field: 'plan' } });
    expect(reply.body).toEqual({
      truncated: false,
      groups: [
        { key: { field_value: 'enterprise' }, count: 2, min: null, max: null, avg: null, sum: null },
        { key: { field_value: null }, count: 2, min: null, max: null, avg: null, sum: null },
      ],
    });
    const theirs = await other.get('/records/stats', { query: { 'field[tags][contains]': '["export"]' } });
    expect(theirs.body).toEqual({ truncated: false, groups: [{ key: {}, count: 1, min: null, max: null, avg: null, sum: null }] });
  });

  it('answers VALIDATION_FAILED naming group_by, period, time_zone and a field predicate', async () => {
    const reply = await api.get('/records/stats', { query: { group_by: 'source,week', period: 'fortnight', time_zone: 'Mars/Base', 'field[nps][gt]': '{}' } });
    expectErrorEnvelope(reply, {
      type: 'validation_error',
      code: 'VALIDATION_FAILED',
      param: null,
      errors: [
        { param: 'group_by', code: 'INVALID_FIELD_VALUE' },
        { param: 'period', code: 'INVALID_FIELD_VALUE' },
        { param: 'time_zone', code: 'INVALID_FIELD_VALUE' },
        { param: 'field[nps][gt]', code: 'INVALID_FIELD_VALUE' },
      ],
    });
    const zone = await api.get('/records/stats', { query: { time_zone: 'Mars/Base' } });
    expectErrorEnvelope(zone, { type: 'validation_error', code: 'INVALID_FIELD_VALUE', param: 'time_zone', message: 'Mars/Base' });
  });
});
