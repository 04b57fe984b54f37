import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RestClient } from '../helpers/http.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { captureStatements, type SentStatement } from '../helpers/sql-counter.ts';

// DESIGN.md: every statement on a hot path uses an index for each condition, whatever the table
// size. The database is seeded at realistic volume (200,000 records over 20 sources, 20,000 people,
// 2,000 companies, beside a thousand other tenants) and analysed; each path runs through the real
// API while its statements are captured at the driver, then each statement's plan is read with
// EXPLAIN and the same parameters. The test asserts on plans, never on time.

let server: TestServer;
let rest: RestClient;
let token: string;
let database: pg.Client;
let organizationId: string;
/** Our organization's seeded rows, by id. */
const seeded = { sources: [] as number[], people: [] as number[], records: [] as number[], companies: [] as number[] };

const RECORDS = 200_000;
const SOURCES = 20;
const PEOPLE = 20_000;
const COMPANIES = 2_000;
const TENANTS = 1_000;

/** Tables whose size grows with use: a sequential scan over one reads every tenant's rows. */
const GROWING_TABLES = ['feedback_record', 'feedback_source', 'person', 'company', 'api_key', 'idempotency_key', 'webhook_endpoint'];

const TRANSACTION_CONTROL = /^\s*(begin|commit|rollback|savepoint|release)\b/i;
const isTokenLookup = (statement: SentStatement) => /from\s+"api_key"/i.test(statement.text);
/** What a request costs after authentication: its own statements, transaction control included. */
const afterAuthentication = (statements: SentStatement[]) => statements.filter((statement) => !isTokenLookup(statement));

interface PlanNode {
  'Node Type': string;
  'Parent Relationship'?: string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Index Cond'?: string;
  'Join Filter'?: string;
  Plans?: PlanNode[];
}

async function planOf(statement: SentStatement): Promise<PlanNode> {
  const result = await database.query<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>(`explain (format json) ${statement.text}`, statement.values);
  const [row] = result.rows;
  if (!row) throw new Error(`no plan for ${statement.text}`);
  return row['QUERY PLAN'][0].Plan;
}

function nodesOf(plan: PlanNode): PlanNode[] {
  return [plan, ...(plan.Plans ?? []).flatMap(nodesOf)];
}

/** The nodes that produce a join's rows: its outer and inner inputs, not the subplans of its select list. */
function inputsOf(join: PlanNode): PlanNode[] {
  const produce = (node: PlanNode): PlanNode[] => [node, ...(node.Plans ?? []).filter((child) => !/^(SubPlan|InitPlan)$/.test(child['Parent Relationship'] ?? '')).flatMap(produce)];
  return (join.Plans ?? []).filter((child) => child['Parent Relationship'] === 'Outer' || child['Parent Relationship'] === 'Inner').flatMap(produce);
}

/** Sequential scans over growing tables, and join filters applied to rows read from feedback_record. */
function problemsOf(plan: PlanNode): string[] {
  return nodesOf(plan).flatMap((node) => {
    if (node['Node Type'] === 'Seq Scan' && GROWING_TABLES.includes(node['Relation Name'] ?? '')) return [`Seq Scan on ${node['Relation Name']}`];
    const filtersRecords = inputsOf(node).some((input) => input['Relation Name'] === 'feedback_record' && input['Node Type'] !== 'ModifyTable');
    if (node['Join Filter'] && filtersRecords) return [`Join Filter ${node['Join Filter']} over feedback_record`];
    return [];
  });
}

/** "table: index (condition)" for each index a plan reads, to name in failure messages. */
function indexesOf(plan: PlanNode): string[] {
  return nodesOf(plan).flatMap((node) => (node['Index Name'] ? [`${node['Relation Name'] ?? '?'}: ${node['Index Name']} (${node['Index Cond'] ?? 'full index'})`] : []));
}

/** The plans of every data statement, each checked; transaction control has no plan. */
async function checkedPlans(statements: SentStatement[]): Promise<{ statement: string; indexes: string[]; problems: string[] }[]> {
  const plans = [];
  for (const statement of statements.filter((each) => !TRANSACTION_CONTROL.test(each.text))) {
    const plan = await planOf(statement);
    plans.push({ statement: statement.text.replace(/\s+/g, ' ').slice(0, 300), indexes: indexesOf(plan), problems: problemsOf(plan) });
  }
  return plans;
}

async function expectIndexedPlans(statements: SentStatement[]): Promise<string[]> {
  const plans = await checkedPlans(statements);
  expect(plans.length).toBeGreaterThan(0);
  expect(plans.filter((plan) => plan.problems.length > 0), JSON.stringify(plans, null, 2)).toEqual([]);
  return plans.flatMap((plan) => plan.indexes);
}

/**
 * The one statement of a write that queues its webhook event (the write's own statement, or one more
 * in its transaction) finds the endpoints that want the event through their organization's index.
 * Answers that statement's text.
 */
async function expectOutboxByOrganization(statements: SentStatement[]): Promise<string> {
  const outbox = statements.filter((statement) => /insert into "webhook_event"/i.test(statement.text));
  expect(outbox, statements.map((statement) => statement.text).join('\n')).toHaveLength(1);
  const indexes = await expectIndexedPlans(outbox);
  expect(indexes.some((index) => index.startsWith('webhook_endpoint: webhook_endpoint_organization_id_index')), indexes.join('\n')).toBe(true);
  return outbox[0]?.text ?? '';
}

const subject = (text: string) => [{ category: 'content', type: 'string', name: 'subject', value: text }];

async function seed(): Promise<void> {
  const run = (text: string, values: unknown[] = []) => database.query(text, values);
  const ids = async (text: string, values: unknown[]) => (await run(text, values)).rows.map((row: { id: string }) => Number(row.id));

  // The seed's rows reference only rows it has just created, so where the role may, their foreign keys
  // go unchecked: that halves the seeding time.
  await run('set session_replication_role = replica').catch((error: { code?: string }) => {
    if (error.code !== '42501') throw error;
  });
  // Other tenants first, each with a key, sources, companies, people and records of its own.
  await run(`insert into "organization" ("name", "created_at") select 'Tenant ' || g, now() from generate_series(1, ${TENANTS}) g`);
  await run(`insert into "api_key" ("organization_id", "token_hash", "scopes", "created_at")
    select o."id", md5(o."name") || md5(o."name" || '#'), '{}', now() from "organization" o where o."name" like 'Tenant %'`);
  await run(`insert into "feedback_source" ("organization_id", "name", "type", "created_at", "updated_at")
    select o."id", 'Source ' || g, 'api', now(), now() from "organization" o, generate_series(1, 2) g where o."name" like 'Tenant %'`);
  await run(`insert into "company" ("organization_id", "name", "domain", "created_at", "updated_at")
    select o."id", 'Company ' || g, 'company-' || g || '.example', now(), now() from "organization" o, generate_series(1, 2) g where o."name" like 'Tenant %'`);
  await run(`insert into "person" ("organization_id", "email", "external_id", "boundary", "created_at", "updated_at")
    select o."id", 'person-' || g || '@tenant.example', 'crm-' || g, 'external', now(), now() from "organization" o, generate_series(1, 5) g where o."name" like 'Tenant %'`);
  await run(`insert into "feedback_record" ("organization_id", "source_id", "external_id", "display_ts", "fields", "created_at")
    select s."organization_id", s."id", 'ticket-' || g, now() - g * interval '1 hour', '[]', now() from "feedback_source" s, generate_series(1, 10) g
    where s."organization_id" <> $1`, [organizationId]);

  // Ours: half the companies known by domain, half by name; a tenth of the records without a person.
  seeded.sources = await ids(`insert into "feedback_source" ("organization_id", "name", "type", "created_at", "updated_at")
    select $1, 'Source ' || g, 'support_tickets', now(), now() from generate_series(1, ${SOURCES}) g returning "id"`, [organizationId]);
  const companies = await ids(`insert into "company" ("organization_id", "name", "domain", "created_at", "updated_at")
    select $1, 'Company ' || g, case when g % 2 = 0 then 'company-' || g || '.example' end, now(), now() from generate_series(1, ${COMPANIES}) g returning "id"`, [organizationId]);
  seeded.companies = companies;
  seeded.people = await ids(`insert into "person" ("organization_id", "email", "external_id", "first_name", "boundary", "company_id", "created_at", "updated_at")
    select $1, 'person-' || g || '@example.com', 'crm-' || g, 'Person ' || g, 'external', ($2::bigint[])[1 + g % ${COMPANIES}], now(), now()
    from generate_series(1, ${PEOPLE}) g returning "id"`, [organizationId, companies]);
  seeded.records = await ids(`insert into "feedback_record" ("organization_id", "source_id", "person_id", "external_id", "display_ts", "fields", "created_at")
    select $1, ($2::bigint[])[1 + g % ${SOURCES}], case when g % 10 <> 0 then ($3::bigint[])[1 + g % ${PEOPLE}] end, 'ticket-' || g,
      timestamptz '2026-01-01' - g * interval '1 minute',
      jsonb_build_array(
        jsonb_build_object('category', 'content', 'type', 'string', 'name', 'subject', 'value', case when g % 1000 = 0 then 'SSO login loops' else 'Export times out' end),
        jsonb_build_object('category', 'metadata', 'type', 'integer', 'name', 'nps', 'value', (g * 7919) % 11),
        jsonb_build_object('category', 'metadata', 'type', 'string', 'name', 'plan', 'value', (array['free', 'starter', 'business', 'enterprise'])[1 + g % 4]),
        jsonb_build_object('category', 'metadata', 'type', 'json', 'name', 'tags', 'value', case when g % 50 = 0 then '["export", "performance"]'::jsonb else '["feedback"]'::jsonb end)),
      now()
    from generate_series(1, ${RECORDS}) g returning "id"`, [organizationId, seeded.sources, seeded.people]);
  // Stored responses of other tenants' and our own earlier writes, live and expired.
  await run(`insert into "idempotency_key" ("organization_id", "key", "method", "path", "request_hash", "status", "content_type", "response_body", "created_at", "expires_at")
    select case when g % 10 = 0 then $1 else (select min("id") from "organization") + g % ${TENANTS} end, 'key-' || g, 'POST', '/v3/rest/feedback-sources/1/records', md5(g::text) || md5(g::text),
      201, 'application/json; charset=utf-8', '{}', now(), now() + (g % 7200 - 3600) * interval '1 second'
    from generate_series(1, ${RECORDS / 2}) g`, [organizationId]);
  // Webhook endpoints, which the ingest and delete statements join to queue their events: two for
  // each other tenant, and ours, enabled for every record event but only of a source no test here
  // writes to (so nothing is queued and nothing delivered), beside a disabled one.
  await run(`insert into "webhook_endpoint" ("organization_id", "url", "event_types", "source_ids", "secret", "enabled", "consecutive_failures", "created_at", "updated_at")
    select o."id", 'https://hooks.tenant.example/' || g, '{feedback_record.created,feedback_record.deleted}', null, 'whsec_c2VjcmV0', true, 0, now(), now()
    from "organization" o, generate_series(1, 2) g where o."name" like 'Tenant %'`);
  await run(`insert into "webhook_endpoint" ("organization_id", "url", "event_types", "source_ids", "secret", "enabled", "consecutive_failures", "created_at", "updated_at")
    values ($1, 'https://hooks.acme.example/a', '{feedback_record.created,feedback_record.deleted}', array[$2::bigint], 'whsec_c2VjcmV0', true, 0, now(), now()),
      ($1, 'https://hooks.acme.example/b', '{feedback_record.created}', null, 'whsec_c2VjcmV0', false, 20, now(), now())`, [organizationId, seeded.sources[SOURCES - 1]]);
  await run('reset session_replication_role');
  await run('analyze');
}

beforeAll(async () => {
  server = await startTestServer();
  token = await server.createToken('Acme');
  rest = new RestClient(server.url, token);
  database = new pg.Client({ connectionString: server.orm.config.get('clientUrl') });
  await database.connect();
  const [organization] = (await database.query<{ id: string }>(`select "id" from "organization" where "name" = 'Acme'`)).rows;
  organizationId = organization?.id ?? '';
  await seed();
  // One request before any is captured, so that no first-use cost (the token lookup) is counted.
  expect((await rest.get('/feedback-sources', { query: { limit: 1 } })).status).toBe(200);
});

afterAll(async () => {
  await database?.end();
  await server?.close();
});

/** A source of ours with records: the 7th seeded. */
const busySource = () => seeded.sources[6] as number;
const somePerson = () => seeded.people[1234] as number;

describe('ingesting records', () => {
  it('stores one record sent over REST without an Idempotency-Key in one statement after authentication, through indexes only', async () => {
    const { result, statements } = await captureStatements(() => rest.post(`/feedback-sources/${busySource()}/records`, { fields: subject('Export times out') }));
    expect(result.status, result.text).toBe(201);
    expect(afterAuthentication(statements).map((statement) => statement.text)).toHaveLength(1);
    const indexes = await expectIndexedPlans(statements);
    // The webhook endpoints that want the event are found by organization, in the same statement.
    expect(indexes.some((index) => index.startsWith('webhook_endpoint: webhook_endpoint_organization_id_index')), indexes.join('\n')).toBe(true);
  });

  it('checks the person and the external_id of a REST record in that one statement, the external_id on the unique index', async () => {
    const { result, statements } = await captureStatements(() =>
      rest.post(`/feedback-sources/${busySource()}/records`, { person_id: somePerson(), external_id: 'zendesk-48213', fields: subject('Login loop on SSO') }),
    );
    expect(result.status, result.text).toBe(201);
    expect(afterAuthentication(statements)).toHaveLength(1);
    const indexes = await expectIndexedPlans(statements);
    expect(indexes.some((index) => index.startsWith('feedback_record: feedback_record_source_external_id_unique') && index.includes('external_id'))).toBe(true);
  });

  it('answers a duplicate external_id with the existing record, found by equality on the unique index, in one statement', async () => {
    const existing = seeded.records[6] as number; // 'ticket-7', in the 8th source
    const sourceId = seeded.sources[7] as number;
    const { result, statements } = await captureStatements(() => rest.post(`/feedback-sources/${sourceId}/records`, { external_id: 'ticket-7', fields: subject('Again') }));
    expect(result.status, result.text).toBe(409);
    expect(result.body).toMatchObject({ error: { code: 'DUPLICATE_EXTERNAL_ID', message: expect.stringContaining(`record ${existing}`) } });
    expect(afterAuthentication(statements)).toHaveLength(1);
    await expectIndexedPlans(statements);
  });

  it('ingests one record over GraphQL in one statement, through indexes only', async () => {
    const { result, statements } = await captureStatements(() =>
      server.graphql<{ ingestRecord: { __typename: string } }>(
        'mutation ($sourceId: ID!, $input: IngestRecordInput!) { ingestRecord(sourceId: $sourceId, input: $input) { __typename } }',
        { sourceId: String(busySource()), input: { personId: String(somePerson()), externalId: 'nps-2025-03-14-001', fields: subject('Great support') } },
        token,
      ),
    );
    expect(result.body.data?.ingestRecord.__typename).toBe('IngestRecordSuccess');
    expect(afterAuthentication(statements)).toHaveLength(1);
    await expectIndexedPlans(statements);
  });

  it('ingests a batch of 100 with new, duplicate, repeated and unknown-person items in one statement, through indexes only', async () => {
    const records = Array.from({ length: 100 }, (_, i) => {
      if (i % 10 === 0) return { externalId: `ticket-${i * SOURCES + 1}`, fields: subject('Seen before') }; // held in the 2nd source
      if (i % 10 === 1) return { externalId: 'batch-repeat', fields: subject('Repeated') };
      if (i % 10 === 2) return { personId: '9876543210', fields: subject('Nobody') };
      return { personId: String(seeded.people[i * 7]), externalId: `batch-${i}`, fields: subject(`Item ${i}`) };
    });
    const { result, statements } = await captureStatements(() =>
      server.graphql<{ ingestRecords: { ingestedCount: number; results: { __typename: string; code?: string }[] } }>(
        'mutation ($sourceId: ID!, $records: [IngestRecordInput!]!) { ingestRecords(sourceId: $sourceId, records: $records) { ... on IngestRecordsSuccess { ingestedCount results { __typename ... on Error { code } } } } }',
        { sourceId: String(seeded.sources[1]), records },
        token,
      ),
    );
    const batch = result.body.data?.ingestRecords;
    expect(batch?.ingestedCount).toBe(71);
    expect(batch?.results.filter((item) => item.code === 'DUPLICATE_EXTERNAL_ID')).toHaveLength(19);
    expect(batch?.results.filter((item) => item.code === 'PERSON_NOT_FOUND')).toHaveLength(10);
    expect(afterAuthentication(statements)).toHaveLength(1);
    await expectIndexedPlans(statements);
  });
});

describe('writing with an Idempotency-Key', () => {
  it('claims the key, writes, stores the response and replays it through the idempotency key index only', async () => {
    const body = { external_id: 'keyed-1', fields: subject('Keyed write') };
    const headers = { 'idempotency-key': 'plan-key-1' };
    const first = await captureStatements(() => rest.post(`/feedback-sources/${busySource()}/records`, body, { headers }));
    expect(first.result.status, first.result.text).toBe(201);
    const replay = await captureStatements(() => rest.post(`/feedback-sources/${busySource()}/records`, body, { headers }));
    expect(replay.result.headers.get('idempotency-replayed')).toBe('true');
    const indexes = await expectIndexedPlans([...first.statements, ...replay.statements]);
    const keyIndexes = indexes.filter((index) => index.includes('idempotency_key'));
    expect(keyIndexes.length).toBeGreaterThan(0);
    expect(keyIndexes.every((index) => index.includes('idempotency_key_organization_key_unique')), keyIndexes.join('\n')).toBe(true);
  });
});

describe('deleting', () => {
  it('deletes a record over REST and over GraphQL in one statement each, through indexes only', async () => {
    const [first, second] = [seeded.records[100] as number, seeded.records[200] as number];
    const viaRest = await captureStatements(() => rest.delete(`/feedback-sources/${seeded.sources[(101 % SOURCES)]}/records/${first}`));
    expect(viaRest.result.status, viaRest.result.text).toBe(200);
    const viaGraphQL = await captureStatements(() =>
      server.graphql<{ deleteRecord: { __typename: string } }>('mutation ($id: ID!) { deleteRecord(id: $id) { __typename } }', { id: String(second) }, token),
    );
    expect(viaGraphQL.result.body.data?.deleteRecord.__typename).toBe('DeleteRecordSuccess');
    expect([afterAuthentication(viaRest.statements).length, afterAuthentication(viaGraphQL.statements).length]).toEqual([1, 1]);
    await expectIndexedPlans([...viaRest.statements, ...viaGraphQL.statements]);
  });

  it('refuses to delete a source with records, having found one through the source index', async () => {
    const { result, statements } = await captureStatements(() => rest.delete(`/feedback-sources/${busySource()}`));
    expect(result.status, result.text).toBe(409);
    const indexes = await expectIndexedPlans(statements);
    expect(indexes.some((index) => index.startsWith('feedback_record: feedback_record_source_display_ts_index'))).toBe(true);
  });

  it('deletes a source with cascade through the source index', async () => {
    const source = await rest.createSource({ name: 'Short-lived' });
    for (const text of ['one', 'two', 'three']) await rest.ingest(source.id, { fields: subject(text) });
    const { result, statements } = await captureStatements(() => rest.delete(`/feedback-sources/${source.id}`, { query: { cascade: true } }));
    expect(result.status, result.text).toBe(200);
    await expectIndexedPlans(statements);
  });

  it('deletes a person in one statement', async () => {
    const { result, statements } = await captureStatements(() => rest.delete(`/people/${seeded.people[42]}`));
    expect(result.status, result.text).toBe(200);
    expect(afterAuthentication(statements)).toHaveLength(1);
    await expectIndexedPlans(statements);
  });

  it('lets the foreign keys find a source\'s and a person\'s records through their indexes', async () => {
    // What PostgreSQL itself runs when a source or person is deleted, planned as it plans them (generically).
    await database.query('set plan_cache_mode = force_generic_plan');
    try {
      const foreignKeyStatements = [
        { text: 'select 1 from only "feedback_record" x where $1 operator(pg_catalog.=) "source_id" for key share of x', values: [busySource()] },
        { text: 'update only "feedback_record" set "person_id" = null where $1 operator(pg_catalog.=) "person_id"', values: [somePerson()] },
      ];
      await expectIndexedPlans(foreignKeyStatements);
    } finally {
      await database.query('reset plan_cache_mode');
    }
  });
});

describe('upserting people', () => {
  for (const [name, body] of [
    ['by email', { email: 'PERSON-77@example.com', last_name: 'García' }],
    ['by external_id', { external_id: 'crm-78', phone: '+34912345678' }],
    ['new, with a company matched by domain', { email: 'maria@northwind.example', company: { name: 'Northwind Traders', domain: 'company-10.example' } }],
    ['new, with a company matched by name', { email: 'kenji@example.com', company: { name: 'Company 11' } }],
    ['new, with a new company without a domain', { email: 'ana@example.com', company: { name: 'Brand-new Company' } }],
  ] as const) {
    it(`upserts a person ${name} through indexes only, queuing person.upserted by the endpoints' organization index`, async () => {
      const { result, statements } = await captureStatements(() => rest.put('/people', body));
      expect([200, 201], result.text).toContain(result.status);
      await expectIndexedPlans(statements);
      await expectOutboxByOrganization(statements);
    });
  }
});

describe('writing sources', () => {
  it('creates, updates and deletes a source through indexes only, each queuing its event by the endpoints\' organization index', async () => {
    const created = await captureStatements(() => rest.post<{ id: number }>('/feedback-sources', { name: 'Planned source' }));
    expect(created.result.status, created.result.text).toBe(201);
    const id = created.result.body.id;
    const updated = await captureStatements(() => rest.patch(`/feedback-sources/${id}`, { description: 'Planned' }));
    expect(updated.result.status, updated.result.text).toBe(200);
    const deleted = await captureStatements(() => rest.delete(`/feedback-sources/${id}`));
    expect(deleted.result.status, deleted.result.text).toBe(200);
    for (const write of [created, updated, deleted]) await expectIndexedPlans(write.statements);
    // Creating and deleting queue the event in the write's own statement; an update, written by the
    // unit of work, in one statement more in its transaction.
    expect(await expectOutboxByOrganization(created.statements)).toMatch(/insert into "feedback_source"/);
    expect(await expectOutboxByOrganization(deleted.statements)).toMatch(/delete from "feedback_source"/);
    expect(await expectOutboxByOrganization(updated.statements)).not.toMatch(/"feedback_source" set/);
  });
});

describe('filtering, ordering and counting', () => {
  const FILTERED = `query ($filter: FeedbackRecordFilter, $orderBy: [FeedbackRecordOrder!], $after: String) {
    records(filter: $filter, orderBy: $orderBy, first: 100, after: $after) {
      totalCount nodes { id source { name } person { email company { name } } } pageInfo { endCursor }
    }
  }`;
  // The seeded records span 2025-08-15 to 2026-01-01: December is a month of them.
  const december = { gte: '2025-12-01T00:00:00Z', lt: '2026-01-01T00:00:00Z' };

  for (const [name, filter] of [
    ['by a numeric field and a month of displayTs', () => ({ displayTs: december, fields: [{ name: 'nps', lt: 7 }] })],
    ['by a field value (eq), through the GIN index on fields', () => ({ fields: [{ name: 'tags', contains: ['export'] }, { name: 'plan', eq: 'free' }] })],
    ['by company and a month of displayTs', () => ({ companyId: { in: [seeded.companies[10], seeded.companies[11]] }, displayTs: december })],
    ['of one source, by a string field', () => ({ sourceId: { eq: busySource() }, fields: [{ name: 'plan', in: ['free', 'business'] }] })],
  ] as const) {
    it(`reads a filtered page ${name}, its count and its next page through indexes only`, async () => {
      const first = await captureStatements(() => server.graphql<{ records: { totalCount: number; pageInfo: { endCursor: string } } }>(FILTERED, { filter: filter() }, token));
      expect(first.result.body.errors, first.result.text).toBeUndefined();
      expect(first.result.body.data?.records.totalCount).toBeGreaterThan(0);
      const next = await captureStatements(() => server.graphql(FILTERED, { filter: filter(), after: first.result.body.data?.records.pageInfo.endCursor }, token));
      expect(next.result.body.errors, next.result.text).toBeUndefined();
      await expectIndexedPlans([...first.statements, ...next.statements]);
    });
  }

  it('answers a containment filter from the GIN index on fields', async () => {
    const { result, statements } = await captureStatements(() => server.graphql(FILTERED, { filter: { fields: [{ name: 'tags', contains: ['export'] }] } }, token));
    expect(result.body.errors, result.text).toBeUndefined();
    const indexes = await expectIndexedPlans(statements);
    expect(indexes.some((index) => index.includes(': feedback_record_fields_index (')), indexes.join('\n')).toBe(true);
  });

  it('answers statistics grouped by week and source, with a numeric field, over a month through indexes only', async () => {
    const { result, statements } = await captureStatements(() =>
      server.graphql<{ recordStats: { groups: { count: number }[] } }>(
        `query ($filter: FeedbackRecordFilter) { recordStats(filter: $filter, groupBy: [WEEK, SOURCE], field: "nps", timeZone: "Europe/Berlin") { groups { key { period sourceId } count avg } } }`,
        { filter: { displayTs: december, fields: [{ name: 'plan', eq: 'enterprise' }] } },
        token,
      ),
    );
    expect(result.body.errors, result.text).toBeUndefined();
    expect(result.body.data?.recordStats.groups.length).toBeGreaterThan(SOURCES);
    expect(afterAuthentication(statements)).toHaveLength(1);
    await expectIndexedPlans(statements);
  });

  it('searches the content fields through the search index, ranked, with its count and next page', async () => {
    const query = `query ($after: String) { records(search: "sso login", first: 20, after: $after) { totalCount nodes { id source { name } } pageInfo { endCursor } } }`;
    const first = await captureStatements(() => server.graphql<{ records: { totalCount: number; pageInfo: { endCursor: string } } }>(query, {}, token));
    expect(first.result.body.errors, first.result.text).toBeUndefined();
    // The seeded records with SSO in their subject, and any an earlier test ingested.
    expect(first.result.body.data?.records.totalCount).toBeGreaterThanOrEqual(RECORDS / 1000);
    const next = await captureStatements(() => server.graphql(query, { after: first.result.body.data?.records.pageInfo.endCursor }, token));
    expect(next.result.body.errors, next.result.text).toBeUndefined();
    const indexes = await expectIndexedPlans([...first.statements, ...next.statements]);
    expect(indexes.some((index) => index.includes(': feedback_record_search_vector_index (')), indexes.join('\n')).toBe(true);
  });

  it('reads pages ordered by a field and by createdAt through indexes only', async () => {
    for (const orderBy of [[{ field: 'FIELD', fieldName: 'nps', direction: 'ASC' }], [{ field: 'CREATED_AT', direction: 'ASC' }]]) {
      const filter = { sourceId: { eq: busySource() }, displayTs: december };
      const first = await captureStatements(() => server.graphql<{ records: { pageInfo: { endCursor: string } } }>(FILTERED, { filter, orderBy }, token));
      expect(first.result.body.errors, first.result.text).toBeUndefined();
      const next = await captureStatements(() => server.graphql(FILTERED, { filter, orderBy, after: first.result.body.data?.records.pageInfo.endCursor }, token));
      expect(next.result.body.errors, next.result.text).toBeUndefined();
      await expectIndexedPlans([...first.statements, ...next.statements]);
    }
  });
});

describe('reading', () => {
  const page = `query ($sourceId: ID, $personId: ID, $after: String) {
    records(sourceId: $sourceId, personId: $personId, first: 100, after: $after) {
      edges { node { id source { id name recordCount } person { id email company { id name } } } }
      pageInfo { endCursor }
    }
  }`;

  for (const [name, variables] of [
    ['of a source', () => ({ sourceId: String(busySource()) })],
    ['of a person', () => ({ personId: String(somePerson()) })],
    ['of the organization', () => ({})],
  ] as const) {
    it(`reads a records page ${name}, its next page and their sources, people and companies through indexes only`, async () => {
      const first = await captureStatements(() => server.graphql<{ records: { pageInfo: { endCursor: string } } }>(page, variables(), token));
      expect(first.result.body.errors).toBeUndefined();
      const next = await captureStatements(() => server.graphql(page, { ...variables(), after: first.result.body.data?.records.pageInfo.endCursor }, token));
      expect(next.result.body.errors).toBeUndefined();
      await expectIndexedPlans([...first.statements, ...next.statements]);
    });
  }

  it('reads one record, one source, one person and the lists of sources and people through indexes only', async () => {
    const { result, statements } = await captureStatements(() =>
      server.graphql(
        `query ($recordId: ID!, $sourceId: ID!, $personId: ID!) {
          record(id: $recordId, sourceId: $sourceId) { id source { name } person { email company { name } } }
          feedbackSource(id: $sourceId) { name recordCount }
          person(id: $personId) { email company { name } }
          feedbackSources(first: 5) { edges { node { name recordCount } } }
          people(first: 5) { edges { node { email company { name } } } }
          byEmail: people(email: "person-99@example.com") { edges { node { id } } }
        }`,
        { recordId: String(seeded.records[4000]), sourceId: String(seeded.sources[(4001 % SOURCES)]), personId: String(somePerson()) },
        token,
      ),
    );
    expect(result.body.errors).toBeUndefined();
    await expectIndexedPlans(statements);
  });

  // For a large tenant, walking the primary key newest first is the cheapest plan; for a small one
  // among large ones it would read everybody's rows.
  it("lists a small tenant's sources and people through its organization's indexes, not a walk of every tenant's rows", async () => {
    const smallToken = await server.createToken('Small Tenant');
    const small = new RestClient(server.url, smallToken);
    await small.createSource({ name: 'Typeform NPS' });
    await small.upsertPerson({ email: 'only@small.example' });
    const { result, statements } = await captureStatements(() =>
      server.graphql('{ feedbackSources(first: 5) { edges { node { name } } } people(first: 5) { edges { node { email } } } }', {}, smallToken),
    );
    expect(result.body.errors).toBeUndefined();
    const indexes = await expectIndexedPlans(statements);
    expect(indexes.filter((index) => index.includes('(full index)'))).toEqual([]);
    expect(indexes).toEqual(expect.arrayContaining([expect.stringMatching(/^feedback_source: feedback_source_organization_id_index/), expect.stringMatching(/person_organization_id_index/)]));
  });
});
