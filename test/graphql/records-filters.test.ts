import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QUERY_LIMITS } from '../../src/graphql/limits.ts';
import { expectGraphQLErrorEnvelope, RestClient } from '../helpers/http.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { countStatements } from '../helpers/sql-counter.ts';

// Filters, ordering and counts of the records lists (issue 11, items 1–3), over real HTTP.

interface Page {
  totalCount?: number;
  nodes?: { id: string }[];
  edges: { cursor: string; node: { id: string } }[];
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
}

let server: TestServer;
let token: string;
let otherToken: string;
/** Our records by name, as ids (strings, as GraphQL's ID). */
const ids: Record<string, string> = {};
let sources: { support: number; survey: number; other: number };
let companies: { enterprise: number; smb: number };
let people: { ana: number; ben: number };

const field = (type: string, name: string, value: unknown, category = 'metadata') => ({ category, type, name, value });

const LIST = `query ($filter: FeedbackRecordFilter, $orderBy: [FeedbackRecordOrder!], $first: Int, $after: String, $sourceId: ID) {
  records(filter: $filter, orderBy: $orderBy, first: $first, after: $after, sourceId: $sourceId) {
    edges { cursor node { id } } pageInfo { hasNextPage endCursor }
  }
}`;

async function list(variables: Record<string, unknown>, as = token): Promise<string[]> {
  const reply = await server.graphql<{ records: Page }>(LIST, variables, as);
  expect(reply.body.errors, reply.text).toBeUndefined();
  return reply.body.data?.records.edges.map((edge) => edge.node.id) ?? [];
}

/** The names of `listed` ids, to compare with the seeded names. */
const names = (listed: string[]) => listed.map((id) => Object.entries(ids).find(([, value]) => value === id)?.[0] ?? `other:${id}`);

beforeAll(async () => {
  server = await startTestServer();
  token = await server.createToken('Acme');
  otherToken = await server.createToken('Globex');
  const rest = new RestClient(server.url, token);
  const other = new RestClient(server.url, otherToken);
  sources = {
    support: (await rest.createSource({ name: 'Zendesk' })).id,
    survey: (await rest.createSource({ name: 'Typeform NPS' })).id,
    other: (await other.createSource({ name: 'Globex Zendesk' })).id,
  };
  const ana = await rest.upsertPerson({ email: 'ana@bigco.example', company: { name: 'BigCo', domain: 'bigco.example' } });
  const ben = await rest.upsertPerson({ email: 'ben@small.example', company: { name: 'Small Ltd' } });
  people = { ana: ana.id, ben: ben.id };
  companies = { enterprise: ana.company_id ?? 0, smb: ben.company_id ?? 0 };
  const seed: [string, number, Record<string, unknown>][] = [
    ['detractor', sources.survey, { person_id: ana.id, display_ts: '2026-11-03T10:00:00Z', fields: [field('integer', 'nps', 3), field('string', 'plan', 'enterprise'), field('string', 'comment', 'SSO login keeps failing', 'content')] }],
    ['passive', sources.survey, { person_id: ben.id, display_ts: '2026-11-10T10:00:00Z', fields: [field('integer', 'nps', 7), field('string', 'plan', 'starter'), field('float', 'score', 7.5)] }],
    ['promoter', sources.survey, { person_id: ana.id, display_ts: '2026-11-20T10:00:00Z', fields: [field('integer', 'nps', 10), field('string', 'plan', 'enterprise'), field('date', 'renewal', '2027-01-31')] }],
    ['export-ticket', sources.support, { person_id: ana.id, display_ts: '2026-10-15T08:00:00Z', fields: [field('json', 'tags', ['export', 'performance']), field('string', 'subject', 'Export to CSV times out', 'content'), field('datetime', 'closed_at', '2026-10-16T09:00:00+02:00')] }],
    ['sso-ticket', sources.support, { display_ts: '2026-11-25T08:00:00Z', fields: [field('json', 'tags', ['sso']), field('string', 'subject', 'Cannot log in with sso', 'content'), field('datetime', 'closed_at', '2026-11-26T09:00:00Z')] }],
    ['odd-nps', sources.support, { person_id: ben.id, display_ts: '2026-09-01T08:00:00Z', fields: [field('string', 'nps', 'n/a'), field('json', 'tags', { area: 'billing' })] }],
  ];
  for (const [name, sourceId, body] of seed) ids[name] = String((await rest.ingest(sourceId, body)).id);
  await other.ingest(sources.other, { display_ts: '2026-11-05T10:00:00Z', fields: [field('integer', 'nps', 2), field('json', 'tags', ['export'])] });
});

afterAll(() => server.close());

describe('filtering records by their typed fields', () => {
  it('compares integer fields numerically and skips fields of other types (lt 7)', async () => {
    expect(names(await list({ filter: { fields: [{ name: 'nps', lt: 7 }] } }))).toEqual(['detractor']);
  });

  it('applies every operator of a predicate to the same field (gte 7, lte 9)', async () => {
    expect(names(await list({ filter: { fields: [{ name: 'nps', gte: 7, lte: 9 }] } }))).toEqual(['passive']);
  });

  it('matches eq, ne and in by JSON equality', async () => {
    expect(names(await list({ filter: { fields: [{ name: 'plan', eq: 'enterprise' }] } }))).toEqual(['promoter', 'detractor']);
    expect(names(await list({ filter: { fields: [{ name: 'plan', ne: 'enterprise' }] } }))).toEqual(['passive']);
    expect(names(await list({ filter: { fields: [{ name: 'nps', in: [3, 10, 'n/a'] }] } }))).toEqual(['promoter', 'detractor', 'odd-nps']);
    expect(names(await list({ filter: { fields: [{ name: 'tags', eq: ['sso'] }] } }))).toEqual(['sso-ticket']);
  });

  it('finds a tag in a json list with contains, and text in string fields ignoring case', async () => {
    expect(names(await list({ filter: { fields: [{ name: 'tags', contains: ['export'] }] } }))).toEqual(['export-ticket']);
    expect(names(await list({ filter: { fields: [{ name: 'tags', contains: { area: 'billing' } }] } }))).toEqual(['odd-nps']);
    expect(names(await list({ filter: { fields: [{ name: 'subject', contains: 'SSO' }] } }))).toEqual(['sso-ticket']);
    expect(names(await list({ filter: { fields: [{ name: 'tags', contains: 'sso' }] } }))).toEqual(['sso-ticket']);
  });

  it('tells records having a field from those without it (exists)', async () => {
    expect(names(await list({ filter: { fields: [{ name: 'score', exists: true }] } }))).toEqual(['passive']);
    expect(names(await list({ filter: { fields: [{ name: 'nps', exists: false }] } }))).toEqual(['sso-ticket', 'export-ticket']);
  });

  it('compares date fields with a date and datetime fields with an instant, whatever its offset', async () => {
    expect(names(await list({ filter: { fields: [{ name: 'renewal', lt: '2027-02-01' }] } }))).toEqual(['promoter']);
    expect(names(await list({ filter: { fields: [{ name: 'closed_at', lt: '2026-10-16T08:00:00Z' }] } }))).toEqual(['export-ticket']);
    expect(names(await list({ filter: { fields: [{ name: 'closed_at', gte: '2026-10-16T07:00:00Z', lt: '2026-10-16T07:00:01Z' }] } }))).toEqual(['export-ticket']);
  });
});

describe('filtering records by source, person, company and time', () => {
  it('combines sourceId, personId and companyId with and, or and not', async () => {
    expect(names(await list({ filter: { sourceId: { eq: sources.support } } }))).toEqual(['sso-ticket', 'export-ticket', 'odd-nps']);
    expect(names(await list({ filter: { companyId: { in: [companies.enterprise] } } }))).toEqual(['promoter', 'detractor', 'export-ticket']);
    expect(names(await list({ filter: { or: [{ personId: { eq: people.ben } }, { fields: [{ name: 'nps', gt: 9 }] }] } }))).toEqual(['promoter', 'passive', 'odd-nps']);
    expect(names(await list({ filter: { not: { personId: { eq: people.ana } } } }))).toEqual(['sso-ticket', 'passive', 'odd-nps']);
    expect(names(await list({ filter: { and: [{ sourceId: { eq: sources.survey } }, { not: { companyId: { eq: companies.smb } } }] } }))).toEqual(['promoter', 'detractor']);
  });

  it('answers "NPS under 7 from enterprise customers this month" with a field, a company and a displayTs range', async () => {
    const filter = { companyId: { eq: companies.enterprise }, displayTs: { gte: '2026-11-01T00:00:00Z', lt: '2026-12-01T00:00:00Z' }, fields: [{ name: 'nps', lt: 7 }] };
    expect(names(await list({ filter }))).toEqual(['detractor']);
  });

  it('never lists another organization\'s records, even filtered by its source id', async () => {
    expect(await list({ filter: { sourceId: { eq: sources.other } } })).toEqual([]);
    expect(names(await list({ filter: { fields: [{ name: 'tags', contains: ['export'] }] } }))).toEqual(['export-ticket']);
    const theirs = await list({ filter: { fields: [{ name: 'nps', lt: 7 }] } }, otherToken);
    expect(theirs).toHaveLength(1);
    expect(Object.values(ids)).not.toContain(theirs[0]);
  });

  it('filters a source\'s and a person\'s records the same way', async () => {
    const reply = await server.graphql<{ feedbackSource: { records: Page }; person: { records: Page } }>(
      `query ($sourceId: ID!, $personId: ID!, $filter: FeedbackRecordFilter) {
        feedbackSource(id: $sourceId) { records(filter: $filter) { nodes { id } edges { cursor node { id } } pageInfo { hasNextPage endCursor } } }
        person(id: $personId) { records(filter: $filter) { nodes { id } edges { cursor node { id } } pageInfo { hasNextPage endCursor } } }
      }`,
      { sourceId: sources.survey, personId: people.ana, filter: { fields: [{ name: 'plan', eq: 'enterprise' }] } },
      token,
    );
    expect(reply.body.errors, reply.text).toBeUndefined();
    expect(names(reply.body.data?.feedbackSource.records.nodes?.map((node) => node.id) ?? [])).toEqual(['promoter', 'detractor']);
    expect(names(reply.body.data?.person.records.nodes?.map((node) => node.id) ?? [])).toEqual(['promoter', 'detractor']);
  });
});

describe('refusing a filter that does not fit', () => {
  it('answers INVALID_FIELD_VALUE naming filter.fields[0].gt for a bound that is no number, date or date-time', async () => {
    const reply = await server.graphql(LIST, { filter: { fields: [{ name: 'nps', gt: true }] } }, token);
    const error = expectGraphQLErrorEnvelope(reply, { status: 200, type: 'validation_error', code: 'INVALID_FIELD_VALUE', param: 'filter.fields[0].gt', message: 'true' });
    expect(error.errors).toEqual([{ param: 'filter.fields[0].gt', code: 'INVALID_FIELD_VALUE', message: expect.stringContaining('a number, a date') }]);
    expect(reply.body.data).toEqual({ records: null });
  });

  it('answers VALIDATION_FAILED listing every failing predicate by its path', async () => {
    const filter = { or: [{ fields: [{ name: 'nps', lt: 'soon' }] }, { fields: [{ name: 'plan' }] }], personId: { eq: 'abc' }, displayTs: {} };
    const reply = await server.graphql(LIST, { filter, orderBy: [{ field: 'FIELD' }] }, token);
    expectGraphQLErrorEnvelope(reply, {
      status: 200,
      type: 'validation_error',
      code: 'VALIDATION_FAILED',
      param: null,
      errors: [
        { param: 'filter.or[0].fields[0].lt', code: 'INVALID_FIELD_VALUE' },
        { param: 'filter.or[1].fields[0]', code: 'INVALID_FIELD_VALUE' },
        { param: 'filter.personId.eq', code: 'INVALID_ID' },
        { param: 'filter.displayTs', code: 'INVALID_FIELD_VALUE' },
        { param: 'orderBy[0].fieldName', code: 'INVALID_FIELD_VALUE' },
      ],
    });
  });

  it('refuses bounds of different kinds on one field, and exists: false beside another operator', async () => {
    const reply = await server.graphql(LIST, { filter: { fields: [{ name: 'nps', gt: 1, lt: '2026-01-01' }, { name: 'plan', exists: false, eq: 'x' }] } }, token);
    expectGraphQLErrorEnvelope(reply, {
      status: 200,
      type: 'validation_error',
      code: 'VALIDATION_FAILED',
      param: null,
      errors: [
        { param: 'filter.fields[0].lt', code: 'INVALID_FIELD_VALUE' },
        { param: 'filter.fields[1].exists', code: 'INVALID_FIELD_VALUE' },
      ],
    });
  });
});

describe('ordering records', () => {
  it('orders by a numeric field, ascending or descending, listing only records having it', async () => {
    expect(names(await list({ orderBy: [{ field: 'FIELD', fieldName: 'nps', direction: 'ASC' }] }))).toEqual(['detractor', 'passive', 'promoter']);
    expect(names(await list({ orderBy: [{ field: 'FIELD', fieldName: 'nps' }] }))).toEqual(['promoter', 'passive', 'detractor']);
  });

  it('orders by displayTs ascending and by createdAt', async () => {
    expect(names(await list({ orderBy: [{ field: 'DISPLAY_TS', direction: 'ASC' }] }))).toEqual(['odd-nps', 'export-ticket', 'detractor', 'passive', 'promoter', 'sso-ticket']);
    expect(names(await list({ orderBy: [{ field: 'CREATED_AT', direction: 'ASC' }] }))).toEqual(['detractor', 'passive', 'promoter', 'export-ticket', 'sso-ticket', 'odd-nps']);
  });

  it('pages through an ordered, filtered list with its cursors, each record once', async () => {
    const variables = { orderBy: [{ field: 'FIELD', fieldName: 'nps', direction: 'ASC' }, { field: 'DISPLAY_TS', direction: 'DESC' }], filter: { sourceId: { eq: sources.survey } }, first: 2 };
    const first = await server.graphql<{ records: Page }>(LIST, variables, token);
    expect(first.body.data?.records.pageInfo.hasNextPage).toBe(true);
    const second = await server.graphql<{ records: Page }>(LIST, { ...variables, after: first.body.data?.records.pageInfo.endCursor }, token);
    expect(second.body.errors, second.text).toBeUndefined();
    expect(second.body.data?.records.pageInfo.hasNextPage).toBe(false);
    expect(names([...(first.body.data?.records.edges ?? []), ...(second.body.data?.records.edges ?? [])].map((edge) => edge.node.id))).toEqual(['detractor', 'passive', 'promoter']);
  });

  it('answers INVALID_CURSOR for a cursor sent with another order or another filter', async () => {
    const orderBy = [{ field: 'FIELD', fieldName: 'nps', direction: 'ASC' }];
    const filter = { fields: [{ name: 'nps', exists: true }] };
    const first = await server.graphql<{ records: Page }>(LIST, { orderBy, filter, first: 1 }, token);
    const after = first.body.data?.records.pageInfo.endCursor;
    expect(after).toEqual(expect.any(String));
    for (const variables of [
      { orderBy: [{ field: 'FIELD', fieldName: 'nps', direction: 'DESC' }], filter },
      { orderBy, filter: { fields: [{ name: 'nps', exists: true }, { name: 'plan', exists: true }] } },
      { orderBy },
      {},
    ]) {
      const reply = await server.graphql(LIST, { ...variables, after }, token);
      expectGraphQLErrorEnvelope(reply, { status: 200, type: 'validation_error', code: 'INVALID_CURSOR', param: 'after' });
    }
  });
});

describe('counting records', () => {
  const COUNTED = `query ($filter: FeedbackRecordFilter) { records(filter: $filter, first: 1) { totalCount nodes { id } edges { node { id } } } }`;

  it('answers totalCount of the whole filtered list, and nodes beside edges', async () => {
    const reply = await server.graphql<{ records: Page }>(COUNTED, { filter: { fields: [{ name: 'nps', exists: true }] } }, token);
    expect(reply.body.errors, reply.text).toBeUndefined();
    expect(reply.body.data?.records.totalCount).toBe(4);
    expect(reply.body.data?.records.nodes).toEqual(reply.body.data?.records.edges.map((edge) => edge.node));
  });

  it('counts with a statement of its own only when totalCount is selected', async () => {
    const query = (selection: string) => `query { records(filter: { fields: [{ name: "nps", lt: 7 }] }) { ${selection} } }`;
    const without = await countStatements(() => server.graphql(query('edges { node { id } }'), {}, token));
    const withCount = await countStatements(() => server.graphql(query('totalCount edges { node { id } }'), {}, token));
    expect(withCount.statements.length - without.statements.length).toBe(1);
    expect(withCount.statements.filter((statement) => /select count\(\*\)/.test(statement))).toHaveLength(1);
    expect(without.statements.filter((statement) => /select count\(\*\)/.test(statement))).toHaveLength(0);
  });

  it('answers totalCount and nodes on the lists of sources and people too, counting only the organization\'s own', async () => {
    const reply = await server.graphql<{ feedbackSources: Page; people: Page; one: Page }>(
      'query { feedbackSources(first: 1) { totalCount nodes { id } } people(first: 1) { totalCount nodes { id } } one: people(email: "BEN@small.example") { totalCount } }',
      {},
      token,
    );
    expect(reply.body.errors, reply.text).toBeUndefined();
    expect(reply.body.data).toEqual({
      feedbackSources: { totalCount: 2, nodes: [{ id: String(sources.survey) }] },
      people: { totalCount: 2, nodes: [{ id: String(people.ben) }] },
      one: { totalCount: 1 },
    });
  });

  it('answers totalCount on the lists of webhook endpoints and of an endpoint\'s events', async () => {
    const created = await new RestClient(server.url, token).post<{ id: number }>('/webhooks', { url: 'https://93.184.215.14/hooks', event_types: ['webhook_endpoint.disabled'] });
    expect(created.status, created.text).toBe(201);
    const reply = await server.graphql<{ webhookEndpoints: Page & { nodes: { id: string; events: { totalCount: number } }[] } }>(
      '{ webhookEndpoints(first: 1) { totalCount nodes { id events { totalCount nodes { id } } } } }',
      {},
      token,
    );
    expect(reply.body.errors, reply.text).toBeUndefined();
    expect(reply.body.data?.webhookEndpoints).toEqual({ totalCount: 1, nodes: [{ id: String(created.body.id), events: { totalCount: 0, nodes: [] } }] });
  });

  it('counts only the organization\'s own records', async () => {
    const reply = await server.graphql<{ records: Page }>(COUNTED, { filter: { fields: [{ name: 'tags', contains: ['export'] }] } }, token);
    expect(reply.body.data?.records.totalCount).toBe(1);
  });
});

describe('searching records', () => {
  const SEARCH = `query ($search: String, $filter: FeedbackRecordFilter, $orderBy: [FeedbackRecordOrder!], $first: Int, $after: String) {
    records(search: $search, filter: $filter, orderBy: $orderBy, first: $first, after: $after) { totalCount edges { node { id } } pageInfo { hasNextPage endCursor } }
  }`;
  const search = async (variables: Record<string, unknown>) => {
    const reply = await server.graphql<{ records: Page }>(SEARCH, variables, token);
    expect(reply.body.errors, reply.text).toBeUndefined();
    return reply.body.data?.records;
  };

  it('finds words of the content fields only, with phrases, exclusions and or', async () => {
    expect(names((await search({ search: 'SSO' }))?.edges.map((edge) => edge.node.id) ?? []).sort()).toEqual(['detractor', 'sso-ticket']);
    expect(names((await search({ search: 'sso -login' }))?.edges.map((edge) => edge.node.id) ?? [])).toEqual(['sso-ticket']);
    expect(names((await search({ search: '"times out"' }))?.edges.map((edge) => edge.node.id) ?? [])).toEqual(['export-ticket']);
    expect(names((await search({ search: 'csv or failing', orderBy: [{ field: 'DISPLAY_TS' }] }))?.edges.map((edge) => edge.node.id) ?? [])).toEqual(['detractor', 'export-ticket']);
    // plan is a metadata field: not searched.
    expect((await search({ search: 'enterprise' }))?.totalCount).toBe(0);
  });

  it('ranks by relevance, pages by its cursor and refuses the cursor for another search', async () => {
    const rest = new RestClient(server.url, token);
    const source = (await rest.createSource({ name: 'Outages' })).id;
    const once = (await rest.ingest(source, { fields: [field('string', 'text', 'The outage hit us', 'content')] })).id;
    const thrice = (await rest.ingest(source, { fields: [field('string', 'text', 'Outage, another outage, always an outage', 'content')] })).id;
    const filter = { sourceId: { eq: source } };
    const first = await search({ search: 'outage', filter, first: 1 });
    expect(first?.edges.map((edge) => Number(edge.node.id))).toEqual([thrice]);
    expect(first?.totalCount).toBe(2);
    const next = await search({ search: 'outage', filter, first: 1, after: first?.pageInfo.endCursor });
    expect(next?.edges.map((edge) => Number(edge.node.id))).toEqual([once]);
    const other = await server.graphql(SEARCH, { search: 'outages', filter, first: 1, after: first?.pageInfo.endCursor }, token);
    expectGraphQLErrorEnvelope(other, { status: 200, type: 'validation_error', code: 'INVALID_CURSOR', param: 'after' });
  });

  it('refuses RELEVANCE without search, and a search of more than 500 characters', async () => {
    const reply = await server.graphql(LIST, { orderBy: [{ field: 'RELEVANCE' }] }, token);
    expectGraphQLErrorEnvelope(reply, { status: 200, type: 'validation_error', code: 'INVALID_FIELD_VALUE', param: 'orderBy[0].field' });
    const long = await server.graphql(SEARCH, { search: 'x'.repeat(501) }, token);
    expectGraphQLErrorEnvelope(long, { status: 200, type: 'validation_error', code: 'INVALID_FIELD_VALUE', param: 'search' });
  });
});

describe('the query cost of filters, counts and statistics', () => {
  const filter = { fields: Array.from({ length: 50 }, (_, i) => ({ name: `f${i}`, exists: true })) };
  const aliased = (count: number, selection: string) => `query ($filter: FeedbackRecordFilter) { ${Array.from({ length: count }, (_, i) => `a${i}: ${selection}`).join(' ')} }`;

  it('refuses twenty counted lists filtered by fifty predicates each, and accepts them unfiltered and uncounted', async () => {
    const heavy = await server.graphql(aliased(20, 'records(first: 1, filter: $filter) { totalCount edges { node { id } } }'), { filter }, token);
    expectGraphQLErrorEnvelope(heavy, { type: 'validation_error', code: 'QUERY_TOO_COMPLEX', param: null, message: `over the limit of ${QUERY_LIMITS.cost}` });
    const light = await server.graphql(aliased(20, 'records(first: 1, filter: $filter) { edges { node { id } } }'), { filter: null }, token);
    expect(light.body.errors, light.text).toBeUndefined();
  });

  it('measures one document anew for each set of variables: the same query passes unfiltered, is refused filtered, then passes again', async () => {
    const query = aliased(20, 'records(first: 1, filter: $filter) { totalCount edges { node { id } } }');
    const unfiltered = await server.graphql(query, { filter: null }, token);
    expect(unfiltered.body.errors, unfiltered.text).toBeUndefined();
    const filtered = await server.graphql(query, { filter }, token);
    expectGraphQLErrorEnvelope(filtered, { type: 'validation_error', code: 'QUERY_TOO_COMPLEX', param: null, message: `over the limit of ${QUERY_LIMITS.cost}` });
    const again = await server.graphql(query, { filter: null }, token);
    expect(again.body.errors, again.text).toBeUndefined();
    const refusedAgain = await server.graphql(query, { filter }, token);
    expectGraphQLErrorEnvelope(refusedAgain, { type: 'validation_error', code: 'QUERY_TOO_COMPLEX', param: null, message: `over the limit of ${QUERY_LIMITS.cost}` });
  });

  it('counts each recordStats in the cost: nine are answered, eleven refused', async () => {
    const stats = 'recordStats(groupBy: [SOURCE], filter: $filter) { groups { count } }';
    const nine = await server.graphql(aliased(9, stats), {}, token);
    expect(nine.body.errors, nine.text).toBeUndefined();
    const eleven = await server.graphql(aliased(11, stats), {}, token);
    expectGraphQLErrorEnvelope(eleven, { type: 'validation_error', code: 'QUERY_TOO_COMPLEX', param: null, message: `over the limit of ${QUERY_LIMITS.cost}` });
  });
});
