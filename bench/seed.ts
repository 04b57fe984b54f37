import type pg from 'pg';
import { exampleRecords } from './examples.ts';

/**
 * The benchmark's data at realistic volume, written with SQL `generate_series` straight into the
 * gateway's tables (seeding through the API would take longer than the benchmark itself): one
 * organization's sources, companies, people (each in a company) and records of three fields shaped as
 * test/fixtures/examples/ (a content string, a metadata json list of tags, a metadata number or boolean)
 * with varied values, display_ts spread over the last year and unique external_ids.
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

/**
 * What feedback says, in two halves a record's content joins (32 × 32 texts): varied enough that a search
 * term is as selective as in real feedback (a topic such as "SSO" is in about 3% of records), where
 * repeating the examples' own sentences would make every word match a third of the table.
 */
const OPENINGS = [
  'Export to CSV times out for large workspaces.', 'Great product, but onboarding new teammates takes too long.', 'Is there a way to get webhook retries?',
  'SSO login with Okta fails after the last update.', 'The dashboard takes ages to load in the morning.', 'Love the new charts, they finally match our brand.',
  'Billing page shows the wrong currency for our EU entity.', 'Search does not find tickets by their customer name.', 'The mobile app logs me out every day.',
  'Slack notifications arrive twice for every reply.', 'We need an audit log for compliance reviews.', 'Dark mode would be easier on the eyes.',
  'Importing contacts from Salesforce skipped half of them.', 'The API rate limit is too low for our nightly sync.', 'Permissions for guests are confusing.',
  'Reports do not respect our fiscal year.', 'Two-factor codes arrive late by SMS.', 'The editor loses formatting when pasting from Word.',
  'Our invoices need a purchase order number.', 'Tagging conversations is quick and intuitive.', 'Support answered within minutes, thank you!',
  'The Zapier integration stopped triggering.', 'Custom fields cannot be used in filters.', 'Page titles are truncated on small screens.',
  'Bulk delete would save us hours every week.', 'The Android widget shows stale numbers.', 'Time zones are wrong in scheduled reports.',
  'Onboarding checklist is great for new admins.', 'Attachments over 20 MB fail silently.', 'We would pay more for a sandbox workspace.',
  'The changelog is hard to find.', 'Keyboard shortcuts are missing in the inbox.',
];
const DETAILS = [
  'This blocks our monthly reporting.', 'We lost a few events during our deploy last night.', 'Our whole team is affected since Monday.',
  'It happens on Chrome and Firefox alike.', 'A workaround exists but it is tedious.', 'Happy to share a screen recording.',
  'Our renewal depends on a fix this quarter.', 'Everything else works really well for us.', 'The previous version did not have this problem.',
  'Could you share a timeline?', 'We have around 300 seats on the enterprise plan.', 'The error message does not say what went wrong.',
  'It only happens for users in Singapore.', 'Please keep the old behaviour as an option.', 'Our security team asked about this twice.',
  'The docs describe something different.', 'It started after we enabled the new navigation.', 'Nothing in the status page mentioned it.',
  'A colleague reported the same yesterday.', 'We would like to beta test a fix.', 'It worked once after clearing the cache.',
  'Our customers noticed before we did.', 'The export of the same data via the API works fine.', 'We can reproduce it every time.',
  'It is a small thing but annoying.', 'Otherwise a great experience so far.', 'This is the third ticket about it.',
  'Our admins cannot change it themselves.', 'The import log shows no errors.', 'We need this for the audit in June.',
  'Please escalate to engineering.', 'Thanks for the quick follow-up!',
];
const TAGS = ['export', 'performance', 'enterprise', 'billing', 'sso', 'onboarding', 'mobile', 'integrations', 'reporting', 'api', 'ux', 'security', 'notifications', 'search', 'permissions', 'feature-request'];

/**
 * Per example (support ticket, NPS answer, Slack message): its content string's name, and its metadata number or
 * boolean's name and type; the values vary by record.
 */
function fieldShapes(): { content: string; scalar: { name: string; type: string } }[] {
  return exampleRecords().map((example) => {
    const content = example.fields.find((field) => field.category === 'content' && field.type === 'string');
    const scalar = example.fields.find((field) => field.category === 'metadata' && ['integer', 'float', 'boolean'].includes(field.type));
    if (!content || !scalar) throw new Error('seeding: an example record lacks a content string or a metadata number or boolean');
    return { content: content.name, scalar: { name: scalar.name, type: scalar.type } };
  });
}

/**
 * `count` records numbered from `first` (external_id `seed-<n>`) over the organization's sources in
 * turn; person, display_ts and every field value are spread by multiplicative hashing, so none follows
 * the insert order. Three fields each, shaped as one of the examples: a content string, a json list of
 * two tags (one in eight records is tagged export), and the example's number or boolean (an NPS score
 * 0–10, a reaction count, an escalation flag).
 */
export async function insertSeedRecords(client: pg.ClientBase, organizationId: number, first: number, count: number): Promise<void> {
  const shapes = fieldShapes();
  const [ticket, nps, chat] = shapes;
  if (!ticket || !nps || !chat) throw new Error('seeding: three examples expected');
  await client.query(
    `with s as (select "id", row_number() over (order by "id") - 1 as n from "feedback_source" where "organization_id" = $1),
          p as (select "id", row_number() over (order by "id") - 1 as n from "person" where "organization_id" = $1),
          sizes as (select (select count(*) from s) as sources, (select count(*) from p) as people)
     insert into "feedback_record" ("organization_id", "source_id", "person_id", "external_id", "display_ts", "fields", "created_at")
     select $1, s."id", p."id", 'seed-' || g, now() - ((g::bigint * 104729) % 31536000) * interval '1 second',
            jsonb_build_array(
              jsonb_build_object('category', 'content', 'type', 'string', 'name', ($4::text[])[1 + g % 3],
                'value', ($7::text[])[1 + (g::bigint * 2654435761) % cardinality($7::text[])] || ' ' || ($8::text[])[1 + (g::bigint / 32 * 40503) % cardinality($8::text[])]),
              jsonb_build_object('category', 'metadata', 'type', 'json', 'name', 'tags',
                'value', jsonb_build_array(($9::text[])[1 + t.first], ($9::text[])[1 + (t.first + 1 + (g::bigint / 16 * 48271) % (cardinality($9::text[]) - 1)) % cardinality($9::text[])])),
              jsonb_build_object('category', 'metadata', 'type', ($6::text[])[1 + g % 3], 'name', ($5::text[])[1 + g % 3],
                'value', case ($6::text[])[1 + g % 3]
                  when 'boolean' then to_jsonb((g::bigint * 31) % 7 = 0)
                  when 'float' then to_jsonb(((g::bigint * 7919) % 1000) / 100.0)
                  else to_jsonb(case when ($5::text[])[1 + g % 3] = 'nps_score' then (g::bigint * 7919) % 11 else (g::bigint * 7919) % 13 end) end)),
            now()
     from generate_series($2::bigint, $2::bigint + $3::bigint - 1) as g
     cross join sizes
     cross join lateral (select (g::bigint * 69069) % cardinality($9::text[]) as first) t
     join s on s.n = g % sizes.sources
     join p on p.n = (g::bigint * 7919) % sizes.people`,
    [organizationId, first, count, shapes.map((shape) => shape.content), shapes.map((shape) => shape.scalar.name), shapes.map((shape) => shape.scalar.type), OPENINGS, DETAILS, TAGS],
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
