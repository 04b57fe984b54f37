import type { EntityManager } from '@mikro-orm/postgresql';
import type { RawBuilder } from 'kysely';
import { query, readTimestamp, sql } from '../database/sql.ts';
import { compileCondition, numberValue, type RecordCondition } from './record-filter.ts';

// Grouped statistics of records: one statement grouping the filtered records by the keys asked for,
// counting them and aggregating one numeric field. Time buckets are cut in the time zone asked for.

export const statsGroupings = ['SOURCE', 'COMPANY', 'PERSON', 'DAY', 'WEEK', 'MONTH', 'FIELD'] as const;
export type StatsGrouping = (typeof statsGroupings)[number];

/** At most this many groups are answered; more is `truncated`. */
export const MAX_STATS_GROUPS = 1_000;

export interface StatsRequest {
  condition: RecordCondition | null;
  groupBy: readonly StatsGrouping[];
  /** The numeric field whose min, max, avg and sum each group answers. */
  valueField: string | null;
  /** The field whose value FIELD groups by. */
  groupField: string | null;
  /** An IANA time zone name, checked by the caller. */
  timeZone: string;
}

export interface StatsGroup {
  sourceId: number | null;
  companyId: number | null;
  personId: number | null;
  /** The first instant of the DAY, WEEK (from Monday) or MONTH bucket, in the time zone asked for. */
  periodStart: Date | null;
  /** The bucket's first day as a local date, YYYY-MM-DD. */
  period: string | null;
  fieldValue: unknown;
  count: number;
  min: number | null;
  max: number | null;
  avg: number | null;
  sum: number | null;
}

interface StatsRow {
  source_id: string | null;
  company_id: string | null;
  person_id: string | null;
  period_start: string | null;
  period: string | null;
  field_value: unknown;
  count: string;
  min: string | null;
  max: string | null;
  avg: string | null;
  sum: string | null;
}

const units = { DAY: 'day', WEEK: 'week', MONTH: 'month' } as const;

const asNumber = (value: string | null) => (value === null ? null : Number(value));

export async function recordStats(em: EntityManager, organizationId: number, request: StatsRequest): Promise<{ groups: StatsGroup[]; truncated: boolean }> {
  const bucket = request.groupBy.find((grouping): grouping is 'DAY' | 'WEEK' | 'MONTH' => grouping in units);
  const local = sql`(r."display_ts" at time zone ${request.timeZone})`;
  const truncated = bucket ? sql`date_trunc(${units[bucket]}, ${local})` : null;
  const none = sql`null`;
  const keys: Record<'source_id' | 'company_id' | 'person_id' | 'period_start' | 'period' | 'field_value', RawBuilder<unknown>> = {
    source_id: request.groupBy.includes('SOURCE') ? sql`r."source_id"` : none,
    company_id: request.groupBy.includes('COMPANY') ? sql`p."company_id"` : none,
    person_id: request.groupBy.includes('PERSON') ? sql`r."person_id"` : none,
    period_start: truncated ? sql`(${truncated} at time zone ${request.timeZone})` : none,
    period: truncated ? sql`to_char(${truncated}, 'YYYY-MM-DD')` : none,
    field_value: request.groupBy.includes('FIELD') ? sql`g."value"` : none,
  };
  const grouped = Object.entries(keys).filter(([, expression]) => expression !== none);
  const joins = [
    request.groupBy.includes('COMPANY') ? sql`left join "person" p on p."id" = r."person_id" and p."organization_id" = r."organization_id"` : null,
    request.groupBy.includes('FIELD')
      ? sql`left join lateral (select f->'value' as "value" from jsonb_array_elements(r."fields") f where f->>'name' = ${request.groupField ?? ''} limit 1) g on true`
      : null,
    request.valueField === null
      ? null
      : // offset 0 keeps the value a column of its own, read once per record, not once per aggregate.
        sql`cross join lateral (select ${numberValue(request.valueField)} as "value" offset 0) v`,
  ].filter((join) => join !== null);
  const aggregate = (name: string) => (request.valueField === null ? sql`null` : sql.raw(`${name}(v."value")`));
  const conditions = [sql`r."organization_id" = ${organizationId}`, request.condition ? compileCondition(request.condition, organizationId) : null].filter((condition) => condition !== null);
  const rows = await query(
    em,
    sql<StatsRow>`select ${sql.join(Object.entries(keys).map(([name, expression]) => sql`${expression} as ${sql.id(name)}`))},
        count(*) as "count", ${aggregate('min')} as "min", ${aggregate('max')} as "max", ${aggregate('avg')} as "avg", ${aggregate('sum')} as "sum"
      from "feedback_record" r ${sql.join(joins, sql` `)}
      where ${sql.join(conditions, sql` and `)}
      ${grouped.length === 0 ? sql`` : sql`group by ${sql.join(grouped.map(([name]) => sql.id(name)))} order by ${sql.join(grouped.map(([name]) => sql`${sql.id(name)} nulls last`))}`}
      limit ${MAX_STATS_GROUPS + 1}`,
  );
  return {
    truncated: rows.length > MAX_STATS_GROUPS,
    groups: rows.slice(0, MAX_STATS_GROUPS).map((row) => ({
      sourceId: asNumber(row.source_id),
      companyId: asNumber(row.company_id),
      personId: asNumber(row.person_id),
      periodStart: row.period_start === null ? null : readTimestamp(em, row.period_start),
      period: row.period,
      fieldValue: row.field_value,
      count: Number(row.count),
      min: asNumber(row.min),
      max: asNumber(row.max),
      avg: asNumber(row.avg),
      sum: asNumber(row.sum),
    })),
  };
}
