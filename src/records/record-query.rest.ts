import { z } from 'zod';
import { graphql, type ResultOf } from '../graphql/typed-document.ts';
import { restResource } from '../rest/resource.ts';
import { readRoute, restPath } from '../rest/route.ts';
import { dateTimeQuery, id, idParam, timestamp } from '../rest/schemas.ts';
import { MAX_NAME_LENGTH } from './record-fields.ts';
import { fieldQuery } from './record-filter.rest.ts';
import docs from './record-query.openapi.json' with { type: 'json' };
import { FeedbackRecordSchema, listFilters, RecordFields, toRestRecord } from './record.rest.ts';
import { MAX_STATS_GROUPS } from './record-stats.queries.ts';

// The organization's records across its sources: the same list as a source's, with source_id as a
// filter; and their grouped statistics.

const ListAllRecords = graphql(`query listAllRecords($sourceId: ID, $personId: ID, $since: DateTime, $until: DateTime, $first: Int, $after: String,
  $field: FeedbackRecordFilter, $q: String, $order: [FeedbackRecordOrder!], $includeTotal: Boolean = false) {
  records(sourceId: $sourceId, personId: $personId, since: $since, until: $until, filter: $field, search: $q, orderBy: $order, first: $first, after: $after) {
    totalCount @include(if: $includeTotal) edges { node { ...RecordFields } } pageInfo { hasNextPage endCursor }
  }
}`, [RecordFields]);

// A key holds exactly what was grouped by: each key field is selected only when its grouping was asked for.
const GetRecordStats = graphql(`query getRecordStats($sourceId: ID, $personId: ID, $filter: FeedbackRecordFilter, $groupBy: [RecordStatsGrouping!], $field: String, $groupField: String, $timeZone: String,
  $bySource: Boolean!, $byCompany: Boolean!, $byPerson: Boolean!, $byPeriod: Boolean!, $byField: Boolean!) {
  recordStats(sourceId: $sourceId, personId: $personId, filter: $filter, groupBy: $groupBy, field: $field, groupField: $groupField, timeZone: $timeZone) {
    truncated
    groups {
      key {
        sourceId @include(if: $bySource) companyId @include(if: $byCompany) personId @include(if: $byPerson)
        period @include(if: $byPeriod) periodStart @include(if: $byPeriod) fieldValue @include(if: $byField)
      }
      count min max avg sum
    }
  }
}`);

const entityGroupings = ['source', 'company', 'person'] as const;
const GROUP_BY = new RegExp(`^(${entityGroupings.join('|')})(,(${entityGroupings.join('|')}))*$`);
const isEntityGrouping = (item: string): item is (typeof entityGroupings)[number] => (entityGroupings as readonly string[]).includes(item);
const toGrouping = { source: 'SOURCE', company: 'COMPANY', person: 'PERSON' } as const;
const periods = { day: 'DAY', week: 'WEEK', month: 'MONTH' } as const;
/** The zones this API knows by name; PostgreSQL reads the same IANA database. */
const timeZones = [...new Set(['UTC', ...Intl.supportedValuesOf('timeZone')])].sort();

const fieldName = (description: string, example: string) =>
  z
    .string()
    .min(1)
    .max(MAX_NAME_LENGTH)
    .optional()
    .meta({ description: `${description} 1 to ${MAX_NAME_LENGTH} characters.`, example });

const statsQuery = {
  group_by: z
    .string()
    .regex(GROUP_BY)
    .transform((value) => [...new Set(value.split(',').filter(isEntityGrouping).map((item) => toGrouping[item]))])
    .optional()
    .meta({ description: `What to group by besides period and group_field, comma-separated: ${entityGroupings.join(', ')}.`, example: 'source' }),
  period: z
    .enum(['day', 'week', 'month'])
    .transform((period) => periods[period])
    .optional()
    .meta({ description: 'Groups by the day, week (from Monday) or month of display_ts in time_zone.', example: 'week' }),
  value_field: fieldName('The integer or float field whose min, max, avg and sum each group answers.', 'nps'),
  group_field: fieldName('Groups by the value of this field (records without it form one group).', 'plan'),
  time_zone: z.enum(timeZones).optional().meta({ description: 'The IANA time zone periods are cut in; UTC when omitted.', example: 'Europe/Berlin' }),
  source_id: idParam('Only records of this source.').optional(),
  person_id: idParam('Only records of this person.').optional(),
  since: dateTimeQuery('Only records with display_ts at or after this instant.').optional(),
  until: dateTimeQuery('Only records with display_ts before this instant.').optional(),
  field: fieldQuery,
};

const StatsKeySchema = z
  .object({
    source_id: id.optional(),
    company_id: id.nullable().optional(),
    person_id: id.nullable().optional(),
    period: z.string().optional().meta({ description: 'With day, week or month: the bucket\'s first day in time_zone, YYYY-MM-DD.' }),
    period_start: timestamp.optional().meta({ description: 'With day, week or month: the bucket\'s first instant.' }),
    field_value: z.unknown().optional().meta({ description: 'With field: the value of group_field (null: records without it).' }),
  })
  .meta({ id: 'RecordStatsKey', description: 'What the records of a group share: exactly the keys grouped by.' });

const RecordStatsSchema = z
  .object({
    groups: z
      .array(
        z
          .object({
            key: StatsKeySchema,
            count: z.int().min(0),
            min: z.number().nullable(),
            max: z.number().nullable(),
            avg: z.number().nullable(),
            sum: z.number().nullable(),
          })
          .meta({ id: 'RecordStatsGroup', description: 'One group: its key, its number of records and the aggregates of value_field (null without it).' }),
      )
      .meta({ description: `Ordered by key, times ascending; at most ${MAX_STATS_GROUPS}.` }),
    truncated: z.boolean().meta({ description: `True when more than ${MAX_STATS_GROUPS} groups exist.` }),
  })
  .meta({
    id: 'RecordStats',
    example: {
      groups: [
        { key: { period: '2026-11-02', period_start: '2026-11-01T23:00:00Z' }, count: 12, min: null, max: null, avg: null, sum: null },
        { key: { period: '2026-11-09', period_start: '2026-11-08T23:00:00Z' }, count: 7, min: null, max: null, avg: null, sum: null },
      ],
      truncated: false,
    },
  });

type Stats = NonNullable<ResultOf<typeof GetRecordStats>['recordStats']>;

const restId = (value: string | number | null | undefined) => (value === null || value === undefined ? null : Number(value));

function toRestStats(stats: Stats): z.output<typeof RecordStatsSchema> {
  return {
    truncated: stats.truncated,
    groups: stats.groups.map(({ key, count, min, max, avg, sum }) => ({
      key: {
        ...('sourceId' in key ? { source_id: Number(key.sourceId) } : {}),
        ...('companyId' in key ? { company_id: restId(key.companyId) } : {}),
        ...('personId' in key ? { person_id: restId(key.personId) } : {}),
        ...('period' in key && key.period ? { period: key.period } : {}),
        ...('periodStart' in key && key.periodStart ? { period_start: key.periodStart } : {}),
        ...('fieldValue' in key ? { field_value: key.fieldValue ?? null } : {}),
      },
      count,
      min,
      max,
      avg,
      sum,
    })),
  };
}

const statsDocs = docs.operations.getRecordStats;
const statsRoute = readRoute({
  summary: statsDocs.summary,
  description: statsDocs.description,
  tag: docs.tag,
  scope: 'records:read',
  errors: ['FEEDBACK_SOURCE_NOT_FOUND', 'PERSON_NOT_FOUND'],
  path: restPath('/records/stats', {}),
  query: statsQuery,
  document: GetRecordStats,
  variables: ({ query }) => {
    const groupBy = [...(query.groupBy ?? []), ...(query.period ? [query.period] : []), ...(query.groupField ? (['FIELD'] as const) : [])];
    const displayTs = query.since || query.until ? { ...(query.since ? { gte: query.since } : {}), ...(query.until ? { lt: query.until } : {}) } : null;
    const parts = {
      ...(displayTs ? { displayTs } : {}),
      ...query.field,
    };
    return {
      sourceId: query.sourceId ?? null,
      personId: query.personId ?? null,
      filter: Object.keys(parts).length === 0 ? null : parts,
      groupBy,
      field: query.valueField ?? null,
      groupField: query.groupField ?? null,
      timeZone: query.timeZone ?? null,
      bySource: groupBy.includes('SOURCE'),
      byCompany: groupBy.includes('COMPANY'),
      byPerson: groupBy.includes('PERSON'),
      byPeriod: groupBy.some((grouping) => grouping === 'DAY' || grouping === 'WEEK' || grouping === 'MONTH'),
      byField: groupBy.includes('FIELD'),
    };
  },
  respond: (stats) => ({ status: 200, body: toRestStats(stats) }),
  responses: { 200: { description: 'The groups of the records the filters match.', schema: RecordStatsSchema } },
});

export const recordQueryRoutes = restResource(docs, {
  scopes: { read: 'records:read', write: 'records:write' },
  paths: [restPath('/records', {}), restPath('/records/{record_id}', { record_id: idParam('The record id.') }, { record_id: 'id' })],
  item: [FeedbackRecordSchema, toRestRecord],
}).routes((records) => [
  records.list({ source_id: idParam('Only records of this source.').optional(), ...listFilters }, ListAllRecords, ['FEEDBACK_SOURCE_NOT_FOUND', 'PERSON_NOT_FOUND']),
  statsRoute,
]);
