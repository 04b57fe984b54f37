import type pg from 'pg';
import { exampleRecords } from './examples.ts';

/**
 * The benchmark's data at realistic volume, written with SQL `generate_series` straight into the
 * gateway's tables (seeding through the API would take longer than the benchmark itself): one
 * organization's sources, companies, people (each in a company) and records of three fields taken from
 * test/fixtures/examples/ (a content string, a metadata json list of tags, a metadata number or boolean),
 * with display_ts spread over the last year and unique external_ids.
 */
export const SEED_SOURCES = 20;
export const SEED_COMPANIES = 2_000;
export const SEED_PEOPLE = 20_000;

export interface Seeded {
  /** Where the ingest scenarios write (it holds its share of the seeded records, as a real source would). */
  ingestSourceId: number;
  /** What the read scenarios read. */
  readSourceId: number;
  /** People the ingested records name, spread over the table. */
  personIds: number[];
  /** A record of the read source, for REST get. */
  readRecordId: number;
}

const SOURCE_KINDS = [
  { name: 'Zendesk Support Tickets', type: 'support_tickets' },
  { name: 'NPS Survey', type: 'survey' },
  { name: 'Slack #customer-feedback', type: 'chat' },
  { name: 'App Store Reviews', type: 'reviews' },
];
const COMPANY_NAMES = ['Northwind Traders', 'Acme Corp', 'Globex', 'Initech', 'Umbrella', 'Hooli', 'Stark Industries', 'Wayne Enterprises'];
const FIRST_NAMES = ['María', 'Sam', 'Kenji', 'Aisha', 'Lars', 'Priya', 'Tomás', 'Chloé', 'Wei', 'Olu'];
const LAST_NAMES = ['García', 'Watanabe', 'Okafor', 'Müller', 'Nguyen', 'Smith', 'Kowalski', 'Haddad', 'Rossi', 'Silva'];

type Field = { category: string; type: string; name: string; value: unknown };

/** Three fields per record, one template per example: its first content string, a json list of tags, and its number or boolean. */
function fieldTemplates(): Field[][] {
  return exampleRecords().map((example) => {
    const content = example.fields.find((field) => field.category === 'content' && field.type === 'string');
    const scalar = example.fields.find((field) => field.category === 'metadata' && ['integer', 'float', 'boolean'].includes(field.type));
    const tags = example.fields.find((field) => field.type === 'json' && Array.isArray(field.value));
    if (!content || !scalar) throw new Error('seeding: an example record lacks a content string or a metadata number or boolean');
    return [content, { category: 'metadata', type: 'json', name: 'tags', value: tags?.value ?? ['feedback', 'product'] }, scalar];
  });
}

/**
 * `count` records numbered from `first` (external_id `seed-<n>`) over the organization's sources in
 * turn; person and display_ts are spread by multiplicative hashing, so neither follows the insert order.
 */
export async function insertSeedRecords(client: pg.ClientBase, organizationId: number, first: number, count: number): Promise<void> {
  await client.query(
    `with s as (select "id", row_number() over (order by "id") - 1 as n from "feedback_source" where "organization_id" = $1),
          p as (select "id", row_number() over (order by "id") - 1 as n from "person" where "organization_id" = $1),
          sizes as (select (select count(*) from s) as sources, (select count(*) from p) as people)
     insert into "feedback_record" ("organization_id", "source_id", "person_id", "external_id", "display_ts", "fields", "created_at")
     select $1, s."id", p."id", 'seed-' || g, now() - ((g::bigint * 104729) % 31536000) * interval '1 second', ($4::jsonb[])[1 + g % 3], now()
     from generate_series($2::bigint, $2::bigint + $3::bigint - 1) as g
     cross join sizes
     join s on s.n = g % sizes.sources
     join p on p.n = (g::bigint * 7919) % sizes.people`,
    [organizationId, first, count, fieldTemplates().map((fields) => JSON.stringify(fields))],
  );
}

/** Sources, companies, people and `records` records for the organization, then ANALYZE. */
export async function seed(client: pg.ClientBase, organizationId: number, records: number): Promise<Seeded> {
  await client.query('begin');
  const sources = await client.query<{ id: string }>(
    `insert into "feedback_source" ("organization_id", "name", "type", "description", "created_at", "updated_at")
     select $1, ($2::text[])[1 + (g - 1) % cardinality($2::text[])] || ' ' || g, ($3::text[])[1 + (g - 1) % cardinality($3::text[])], 'Seeded by the benchmark', now(), now()
     from generate_series(1, $4::int) as g
     returning "id"`,
    [organizationId, SOURCE_KINDS.map((kind) => kind.name), SOURCE_KINDS.map((kind) => kind.type), SEED_SOURCES],
  );
  await client.query(
    `insert into "company" ("organization_id", "name", "domain", "created_at", "updated_at")
     select $1, ($2::text[])[1 + (g - 1) % cardinality($2::text[])] || ' ' || g, 'company' || g || '.example', now(), now()
     from generate_series(1, $3::int) as g`,
    [organizationId, COMPANY_NAMES, SEED_COMPANIES],
  );
  await client.query(
    `with c as (select "id", row_number() over (order by "id") - 1 as n from "company" where "organization_id" = $1)
     insert into "person" ("organization_id", "email", "external_id", "first_name", "last_name", "phone", "boundary", "company_id", "created_at", "updated_at")
     select $1, 'person' || g || '@company' || (c.n + 1) || '.example', 'crm-' || lpad(g::text, 6, '0'),
            ($2::text[])[1 + g % cardinality($2::text[])], ($3::text[])[1 + (g / 10) % cardinality($3::text[])],
            '+3491' || lpad(g::text, 7, '0'), 'external', c."id", now(), now()
     from generate_series(1, $4::int) as g
     join c on c.n = (g - 1) % $5::int`,
    [organizationId, FIRST_NAMES, LAST_NAMES, SEED_PEOPLE, SEED_COMPANIES],
  );
  await insertSeedRecords(client, organizationId, 1, records);
  await client.query('commit');
  await client.query('analyze');

  const [ingestSource, readSource] = sources.rows.map((row) => Number(row.id));
  if (ingestSource === undefined || readSource === undefined) throw new Error('seeding: fewer than two sources');
  const people = await client.query<{ id: string }>(
    `select "id" from "person" where "organization_id" = $1 order by "id" limit 100 offset $2`,
    [organizationId, SEED_PEOPLE / 2],
  );
  const record = await client.query<{ id: string }>(
    `select "id" from "feedback_record" where "organization_id" = $1 and "source_id" = $2 order by "id" limit 1`,
    [organizationId, readSource],
  );
  const readRecordId = Number(record.rows[0]?.id);
  if (!Number.isInteger(readRecordId)) throw new Error('seeding: the read source holds no record');
  return { ingestSourceId: ingestSource, readSourceId: readSource, personIds: people.rows.map((row) => Number(row.id)), readRecordId };
}
