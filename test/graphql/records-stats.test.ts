import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectGraphQLErrorEnvelope, RestClient } from '../helpers/http.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

// recordStats (issue 11, item 4): grouped counts and aggregates, time buckets in an IANA time zone.

interface Group {
  key: { sourceId: string | null; companyId: string | null; personId: string | null; period: string | null; periodStart: string | null; fieldValue: unknown };
  count: number;
  min: number | null;
  max: number | null;
  avg: number | null;
  sum: number | null;
}

const STATS = `query ($filter: FeedbackRecordFilter, $groupBy: [RecordStatsGrouping!], $field: String, $groupField: String, $timeZone: String) {
  recordStats(filter: $filter, groupBy: $groupBy, field: $field, groupField: $groupField, timeZone: $timeZone) {
    truncated groups { key { sourceId companyId personId period periodStart fieldValue } count min max avg sum }
  }
}`;

let server: TestServer;
let token: string;
let otherToken: string;
let sources: { support: number; survey: number };
let companies: { big: number };

const field = (type: string, name: string, value: unknown) => ({ category: 'metadata', type, name, value });

async function stats(variables: Record<string, unknown>, as = token): Promise<{ truncated: boolean; groups: Group[] }> {
  const reply = await server.graphql<{ recordStats: { truncated: boolean; groups: Group[] } }>(STATS, variables, as);
  expect(reply.body.errors, reply.text).toBeUndefined();
  const result = reply.body.data?.recordStats;
  if (!result) throw new Error(reply.text);
  return result;
}

const emptyKey = { sourceId: null, companyId: null, personId: null, period: null, periodStart: null, fieldValue: null };

beforeAll(async () => {
  server = await startTestServer();
  token = await server.createToken('Acme');
  otherToken = await server.createToken('Globex');
  const rest = new RestClient(server.url, token);
  sources = { support: (await rest.createSource({ name: 'Zendesk' })).id, survey: (await rest.createSource({ name: 'Typeform NPS' })).id };
  const ana = await rest.upsertPerson({ email: 'ana@bigco.example', company: { name: 'BigCo' } });
  companies = { big: ana.company_id ?? 0 };
  // Sunday 2026-11-01 23:30 UTC is already Monday 2026-11-02 in Berlin (UTC+1).
  await rest.ingest(sources.support, { display_ts: '2026-11-01T23:30:00Z', person_id: ana.id, fields: [field('json', 'tags', ['export'])] });
  await rest.ingest(sources.support, { display_ts: '2026-11-03T09:00:00Z', fields: [field('json', 'tags', ['export', 'csv'])] });
  await rest.ingest(sources.support, { display_ts: '2026-11-10T09:00:00Z', fields: [field('json', 'tags', ['export'])] });
  await rest.ingest(sources.support, { display_ts: '2026-11-10T10:00:00Z', fields: [field('json', 'tags', ['sso'])] });
  await rest.ingest(sources.survey, { display_ts: '2026-11-04T10:00:00Z', person_id: ana.id, fields: [field('integer', 'nps', 3), field('string', 'plan', 'enterprise')] });
  await rest.ingest(sources.survey, { display_ts: '2026-11-05T10:00:00Z', fields: [field('integer', 'nps', 8), field('string', 'plan', 'starter')] });
  await rest.ingest(sources.survey, { display_ts: '2026-11-06T10:00:00Z', fields: [field('float', 'nps', 9.5), field('string', 'plan', 'enterprise')] });
  const other = new RestClient(server.url, otherToken);
  const theirs = (await other.createSource({ name: 'Globex tickets' })).id;
  await other.ingest(theirs, { display_ts: '2026-11-03T09:00:00Z', fields: [field('json', 'tags', ['export']), field('integer', 'nps', 0)] });
});

afterAll(() => server.close());

describe('recordStats', () => {
  const tagged = { fields: [{ name: 'tags', contains: ['export'] }] };

  it('counts the records tagged export per week, weeks starting on Monday in UTC', async () => {
    const result = await stats({ filter: tagged, groupBy: ['WEEK'] });
    expect(result).toEqual({
      truncated: false,
      groups: [
        { key: { ...emptyKey, period: '2026-10-26', periodStart: '2026-10-26T00:00:00.000Z' }, count: 1, min: null, max: null, avg: null, sum: null },
        { key: { ...emptyKey, period: '2026-11-02', periodStart: '2026-11-02T00:00:00.000Z' }, count: 1, min: null, max: null, avg: null, sum: null },
        { key: { ...emptyKey, period: '2026-11-09', periodStart: '2026-11-09T00:00:00.000Z' }, count: 1, min: null, max: null, avg: null, sum: null },
      ],
    });
  });

  it('cuts the weeks in the time zone asked for', async () => {
    const result = await stats({ filter: tagged, groupBy: ['WEEK'], timeZone: 'Europe/Berlin' });
    expect(result.groups.map((group) => [group.key.period, group.key.periodStart, group.count])).toEqual([
      ['2026-11-02', '2026-11-01T23:00:00.000Z', 2],
      ['2026-11-09', '2026-11-08T23:00:00.000Z', 1],
    ]);
    const days = await stats({ filter: tagged, groupBy: ['DAY'], timeZone: 'America/Los_Angeles' });
    expect(days.groups.map((group) => [group.key.period, group.count])).toEqual([['2026-11-01', 1], ['2026-11-03', 1], ['2026-11-10', 1]]);
    const months = await stats({ groupBy: ['MONTH'], timeZone: 'Pacific/Honolulu' });
    expect(months.groups.map((group) => [group.key.period, group.key.periodStart, group.count])).toEqual([['2026-11-01', '2026-11-01T10:00:00.000Z', 7]]);
  });

  it('answers min, max, avg and sum of a numeric field per source, integer and float alike', async () => {
    const result = await stats({ groupBy: ['SOURCE'], field: 'nps' });
    expect(result.groups).toEqual([
      { key: { ...emptyKey, sourceId: String(sources.support) }, count: 4, min: null, max: null, avg: null, sum: null },
      { key: { ...emptyKey, sourceId: String(sources.survey) }, count: 3, min: 3, max: 9.5, avg: 20.5 / 3, sum: 20.5 },
    ]);
  });

  it('groups by company and by a field\'s value together', async () => {
    const result = await stats({ filter: { sourceId: { eq: sources.survey } }, groupBy: ['COMPANY', 'FIELD'], groupField: 'plan', field: 'nps' });
    expect(result.groups.map((group) => [group.key.companyId, group.key.fieldValue, group.count, group.sum])).toEqual([
      [String(companies.big), 'enterprise', 1, 3],
      [null, 'enterprise', 1, 9.5],
      [null, 'starter', 1, 8],
    ]);
  });

  it('answers one group of every record without groupBy, and only the organization\'s own records', async () => {
    expect((await stats({ field: 'nps' })).groups).toEqual([{ key: emptyKey, count: 7, min: 3, max: 9.5, avg: 20.5 / 3, sum: 20.5 }]);
    expect((await stats({ filter: tagged }, otherToken)).groups).toEqual([{ key: emptyKey, count: 1, min: null, max: null, avg: null, sum: null }]);
  });

  it('refuses a time zone that is no IANA name, two time buckets and FIELD without groupField, each by its path', async () => {
    const reply = await server.graphql(STATS, { groupBy: ['DAY', 'WEEK', 'FIELD'], timeZone: '+01:00', filter: { fields: [{ name: 'nps', lt: 'x' }] } }, token);
    expectGraphQLErrorEnvelope(reply, {
      status: 200,
      type: 'validation_error',
      code: 'VALIDATION_FAILED',
      param: null,
      errors: [
        { param: 'filter.fields[0].lt', code: 'INVALID_FIELD_VALUE' },
        { param: 'groupBy', code: 'INVALID_FIELD_VALUE' },
        { param: 'groupField', code: 'INVALID_FIELD_VALUE' },
        { param: 'timeZone', code: 'INVALID_FIELD_VALUE' },
      ],
    });
    const unknown = await server.graphql(STATS, { timeZone: 'Mars/Olympus_Mons' }, token);
    expectGraphQLErrorEnvelope(unknown, { status: 200, type: 'validation_error', code: 'INVALID_FIELD_VALUE', param: 'timeZone', message: 'Mars/Olympus_Mons' });
  });
});
