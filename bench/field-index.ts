/**
 * `npx node bench/field-index.ts`: how the records filter's field predicates are best served, measured
 * with EXPLAIN ANALYZE on a fresh embedded PostgreSQL. Two organizations of 200,000 records each (ours
 * and a neighbour of the same size, so an index shared by tenants shows what it costs) with typed
 * fields: an nps_score 0–10, a plan of four, tags (2% hold "export") and a content string.
 *
 * Three ways are compared on the statements the gateway sends (record.queries.ts):
 * - none: no index on fields, each predicate checked on the rows the organization's display_ts index reads;
 * - gin: the migrated GIN index (jsonb_path_ops) on fields, which answers containment (eq, in, json contains);
 * - side table: a typed table (organization_id, name, number, record_id) with a B-tree per name and
 *   value, which also answers ranges; ingest would write one more row per numeric field.
 * Not a test: it prints figures (median of five runs) for bench/RESULTS.md.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { startEmbeddedDatabase } from '../src/database/embedded.ts';
import { connectOrm, migrate } from '../src/database/orm.ts';

const RECORDS = Number(process.env.BENCH_RECORDS ?? 200_000);
const RUNS = 5;

const dataDir = await mkdtemp(path.join(os.tmpdir(), 'field-index-'));
const database = await startEmbeddedDatabase(dataDir);
const client = new pg.Client({ connectionString: database.url });

interface PlanNode {
  'Node Type': string;
  'Index Name'?: string;
  'Shared Hit Blocks'?: number;
  'Shared Read Blocks'?: number;
  Plans?: PlanNode[];
}

const nodesOf = (node: PlanNode): PlanNode[] => [node, ...(node.Plans ?? []).flatMap(nodesOf)];

async function measure(text: string, values: unknown[]): Promise<{ ms: number; buffers: number; rows: number; indexes: string }> {
  const runs: { ms: number; buffers: number; rows: number; indexes: string }[] = [];
  for (let run = 0; run < RUNS; run++) {
    const result = await client.query<{ 'QUERY PLAN': [{ Plan: PlanNode & { 'Actual Rows': number }; 'Execution Time': number }] }>(
      `explain (analyze, buffers, format json) ${text}`,
      values,
    );
    const [plan] = result.rows[0]?.['QUERY PLAN'] ?? [];
    if (!plan) throw new Error('no plan');
    const indexes = [...new Set(nodesOf(plan.Plan).flatMap((node) => (node['Index Name'] ? [node['Index Name']] : node['Node Type'] === 'Seq Scan' ? ['Seq Scan'] : [])))].join(', ');
    runs.push({ ms: plan['Execution Time'], buffers: (plan.Plan['Shared Hit Blocks'] ?? 0) + (plan.Plan['Shared Read Blocks'] ?? 0), rows: plan.Plan['Actual Rows'], indexes });
  }
  runs.sort((a, b) => a.ms - b.ms);
  return runs[Math.floor(RUNS / 2)] ?? { ms: 0, buffers: 0, rows: 0, indexes: '' };
}

try {
  const orm = await connectOrm(database.url);
  await migrate(orm);
  await orm.close();
  await client.connect();
  const organizations = await client.query<{ id: string }>(`insert into "organization" ("name", "created_at") values ('Acme', now()), ('Neighbour', now()) returning "id"`);
  const [ours, theirs] = organizations.rows.map((row) => Number(row.id));
  for (const organization of [ours, theirs]) {
    await client.query(`insert into "feedback_source" ("organization_id", "name", "type", "created_at", "updated_at") select $1, 'Source ' || g, 'api', now(), now() from generate_series(1, 20) g`, [organization]);
    await client.query(
      `insert into "feedback_record" ("organization_id", "source_id", "external_id", "display_ts", "fields", "created_at")
       select $1, (select min("id") from "feedback_source" where "organization_id" = $1) + g % 20, 'r-' || g, now() - ((g::bigint * 104729) % 31536000) * interval '1 second',
         jsonb_build_array(
           jsonb_build_object('category', 'content', 'type', 'string', 'name', 'comment', 'value', 'Export to CSV times out ' || g),
           jsonb_build_object('category', 'metadata', 'type', 'integer', 'name', 'nps_score', 'value', (g * 7919) % 11),
           jsonb_build_object('category', 'metadata', 'type', 'string', 'name', 'plan', 'value', (array['free', 'starter', 'business', 'enterprise'])[1 + g % 4]),
           jsonb_build_object('category', 'metadata', 'type', 'json', 'name', 'tags', 'value', case when g % 50 = 0 then '["export", "performance"]'::jsonb else '["feedback"]'::jsonb end)),
         now()
       from generate_series(1, $2::int) g`,
      [organization, RECORDS],
    );
  }
  // The side table a typed design would keep, filled from the same fields.
  await client.query(`create table "record_number" ("organization_id" bigint not null, "name" text not null, "value" numeric not null, "record_id" bigint not null)`);
  await client.query(`insert into "record_number" select r."organization_id", f->>'name', (f->>'value')::numeric, r."id"
    from "feedback_record" r, jsonb_array_elements(r."fields") f where f->>'type' in ('integer', 'float')`);
  await client.query(`create index "record_number_index" on "record_number" ("organization_id", "name", "value", "record_id")`);
  await client.query('vacuum analyze');
  const size = await client.query<{ gin: string; side: string; sideIndex: string }>(
    `select pg_size_pretty(pg_relation_size('feedback_record_fields_index')) as "gin", pg_size_pretty(pg_relation_size('record_number')) as "side", pg_size_pretty(pg_relation_size('record_number_index')) as "sideIndex"`,
  );

  const month = new Date(Date.now() - 30 * 86_400_000).toISOString();
  const quarter = new Date(Date.now() - 90 * 86_400_000).toISOString();
  const nps = (bound: number) => `exists (select 1 from jsonb_array_elements(r."fields") f where f->>'name' = 'nps_score' and (case when f->>'type' in ('integer', 'float') then (f->>'value')::numeric end) < ${bound})`;
  const hasNps = `r."fields" @> '[{"name": "nps_score"}]'`;
  const side = (bound: number) => `r."id" in (select "record_id" from "record_number" where "organization_id" = $1 and "name" = 'nps_score' and "value" < ${bound})`;
  const page = (where: string) => `select r."id" from "feedback_record" r where r."organization_id" = $1 and ${where} order by r."display_ts" desc, r."id" desc limit 101`;
  const count = (where: string) => `select count(*) from "feedback_record" r where r."organization_id" = $1 and ${where}`;
  const cases: [string, string, string, unknown[]][] = [
    ['page: nps_score < 7, last 30 days', 'gin', page(`r."display_ts" >= $2 and ${hasNps} and ${nps(7)}`), [ours, month]],
    ['page: nps_score < 7, last 30 days', 'side table', page(`r."display_ts" >= $2 and ${side(7)}`), [ours, month]],
    ['count: nps_score < 7, last 30 days', 'gin', count(`r."display_ts" >= $2 and ${hasNps} and ${nps(7)}`), [ours, month]],
    ['count: nps_score < 7, last 30 days', 'side table', count(`r."display_ts" >= $2 and ${side(7)}`), [ours, month]],
    ['count: nps_score < 1, all time', 'gin', count(`${hasNps} and ${nps(1)}`), [ours]],
    ['count: nps_score < 1, all time', 'side table', count(side(1)), [ours]],
    ['count: tags contain "export", all time', 'gin', count(`r."fields" @> '[{"name": "tags", "value": ["export"]}]'`), [ours]],
    ['count: plan = enterprise, last 90 days', 'gin', count(`r."display_ts" >= $2 and r."fields" @> '[{"name": "plan", "value": "enterprise"}]'`), [ours, quarter]],
  ];
  const lines = ['| statement | way | ms (median of 5) | buffers | rows | indexes read |', '|---|---|---:|---:|---:|---|'];
  for (const [what, way, text, values] of cases) {
    const figures = await measure(text, values);
    lines.push(`| ${what} | ${way} | ${figures.ms.toFixed(1)} | ${figures.buffers} | ${figures.rows} | ${figures.indexes} |`);
  }
  // The same statements with no index on fields: the containment conditions stay, read from the rows.
  await client.query('drop index "feedback_record_fields_index"');
  for (const [what, way, text, values] of cases.filter(([, way]) => way === 'gin')) {
    const figures = await measure(text, values);
    lines.push(`| ${what} | none (${way} statement, no index) | ${figures.ms.toFixed(1)} | ${figures.buffers} | ${figures.rows} | ${figures.indexes} |`);
  }
  console.log(`${RECORDS.toLocaleString('en-US')} records in each of two organizations; GIN index ${size.rows[0]?.gin}, side table ${size.rows[0]?.side} + its index ${size.rows[0]?.sideIndex}.\n`);
  console.log(lines.join('\n'));
} finally {
  await client.end().catch(() => {});
  await database.stop();
  await rm(dataDir, { recursive: true, force: true });
}
