import { FieldErrors } from '../errors/api-error.ts';
import { builder } from '../graphql/builder.ts';
import { authorize } from '../graphql/context.ts';
import { describeValue, isText } from '../validation/values.ts';
import { MAX_NAME_LENGTH } from './record-fields.ts';
import { checkRecordFilter, type RecordCondition } from './record-filter.ts';
import { FeedbackRecordFilter, optionalId } from './record.graphql.ts';
import { findPersonOrFail } from '../people/person.queries.ts';
import { findSourceOrFail } from '../sources/source.queries.ts';
import { MAX_STATS_GROUPS, recordStats, type StatsGroup, type StatsGrouping, statsGroupings } from './record-stats.queries.ts';

// recordStats: the records a filter matches, grouped and counted, with min/max/avg/sum of a numeric field.

const groupingMeanings: Record<StatsGrouping, string> = {
  SOURCE: 'By source: key.sourceId.',
  COMPANY: 'By the company of the record\'s person: key.companyId (null: no person or no company).',
  PERSON: 'By person: key.personId (null: no person).',
  DAY: 'By day of displayTs in timeZone: key.period (YYYY-MM-DD) and key.periodStart.',
  WEEK: 'By week of displayTs in timeZone, from Monday: key.period is the Monday, key.periodStart its first instant.',
  MONTH: 'By month of displayTs in timeZone: key.period is its first day, key.periodStart its first instant.',
  FIELD: 'By the value of the field named groupField: key.fieldValue (null: records without it).',
};

const RecordStatsGrouping = builder.enumType('RecordStatsGrouping', {
  description: 'What records are grouped by; one time bucket (DAY, WEEK or MONTH) at most.',
  values: Object.fromEntries(statsGroupings.map((grouping) => [grouping, { description: groupingMeanings[grouping] }])),
});

const RecordStatsKey = builder.objectRef<StatsGroup>('RecordStatsKey').implement({
  description: 'What the records of a group share; only the keys grouped by are set.',
  fields: (t) => ({
    sourceId: t.exposeID('sourceId', { nullable: true, description: 'With SOURCE: the source.' }),
    companyId: t.exposeID('companyId', { nullable: true, description: 'With COMPANY: the company of the records\' person.' }),
    personId: t.exposeID('personId', { nullable: true, description: 'With PERSON: the person.' }),
    period: t.exposeString('period', { nullable: true, description: 'With DAY, WEEK or MONTH: the first day of the bucket in timeZone, YYYY-MM-DD.' }),
    periodStart: t.expose('periodStart', { type: 'DateTime', nullable: true, description: 'With DAY, WEEK or MONTH: the first instant of the bucket.' }),
    fieldValue: t.expose('fieldValue', { type: 'JSON', nullable: true, description: 'With FIELD: the value of groupField.' }),
  }),
});

const RecordStatsGroup = builder.objectRef<StatsGroup>('RecordStatsGroup').implement({
  description: 'One group of records: its key, how many records it holds, and the aggregates of the numeric field asked for.',
  fields: (t) => ({
    key: t.field({ type: RecordStatsKey, description: 'What the group\'s records share.', resolve: (group) => group }),
    count: t.exposeInt('count', { description: 'How many records the group holds.' }),
    min: t.exposeFloat('min', { nullable: true, description: 'The smallest value of field; null without field or when no record of the group has it as a number.' }),
    max: t.exposeFloat('max', { nullable: true, description: 'The largest value of field.' }),
    avg: t.exposeFloat('avg', { nullable: true, description: 'The mean value of field, over the records that have it.' }),
    sum: t.exposeFloat('sum', { nullable: true, description: 'The sum of field.' }),
  }),
});

interface StatsResult {
  groups: StatsGroup[];
  truncated: boolean;
}

const RecordStats = builder.objectRef<StatsResult>('RecordStats').implement({
  description: 'Grouped statistics of the records a filter matches.',
  fields: (t) => ({
    groups: t.expose('groups', { type: [RecordStatsGroup], description: `The groups, ordered by their keys (times ascending); at most ${MAX_STATS_GROUPS}.` }),
    truncated: t.exposeBoolean('truncated', { description: `True when more than ${MAX_STATS_GROUPS} groups exist: narrow the filter or group more coarsely.` }),
  }),
});

const isGrouping = (value: string): value is StatsGrouping => (statsGroupings as readonly string[]).includes(value);

/** IANA names only: an offset such as +01:00 means the opposite direction to PostgreSQL (POSIX). */
const ZONE_NAME = /^[A-Za-z][A-Za-z0-9_+-]*(\/[A-Za-z0-9_+-]+)*$/;

export function isTimeZoneName(zone: string): boolean {
  if (!ZONE_NAME.test(zone)) return false;
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

builder.queryFields((t) => ({
  recordStats: t.field({
    type: RecordStats,
    nullable: true,
    description: 'Counts the records a filter matches, grouped by source, company, person, a time bucket or a field\'s value, with min, max, avg and sum of a numeric field. Needs records:read.',
    args: {
      sourceId: t.arg.id({ description: 'Only records of this source; an unknown one is FEEDBACK_SOURCE_NOT_FOUND.' }),
      personId: t.arg.id({ description: 'Only records of this person; an unknown one is PERSON_NOT_FOUND.' }),
      filter: t.arg({ type: FeedbackRecordFilter, description: 'Only the records matching this filter.' }),
      groupBy: t.arg({ type: [RecordStatsGrouping], description: 'The keys to group by; none: one group of every record.' }),
      field: t.arg.string({ description: 'The integer or float field whose min, max, avg and sum each group answers.' }),
      groupField: t.arg.string({ description: 'With FIELD: the field whose value groups the records.' }),
      timeZone: t.arg.string({ description: 'The IANA time zone DAY, WEEK and MONTH are cut in, e.g. Europe/Berlin; UTC when omitted.' }),
    },
    resolve: async (_root, args, ctx) => {
      const viewer = authorize(ctx, 'records:read');
      const errors = new FieldErrors();
      const filtered = checkRecordFilter(args.filter, 'filter', errors);
      const sourceId = optionalId(args.sourceId, 'sourceId', errors);
      const personId = optionalId(args.personId, 'personId', errors);
      const groupBy = [...new Set(args.groupBy ?? [])].filter(isGrouping);
      if (groupBy.filter((grouping) => grouping === 'DAY' || grouping === 'WEEK' || grouping === 'MONTH').length > 1) {
        errors.add('groupBy', 'INVALID_FIELD_VALUE', (n) => `${n('groupBy')} may hold one of DAY, WEEK and MONTH; got ${groupBy.join(', ')}.`);
      }
      for (const [param, name, needed] of [['field', args.field, false], ['groupField', args.groupField, groupBy.includes('FIELD')]] as const) {
        if ((needed || (name !== null && name !== undefined)) && !isText(name, MAX_NAME_LENGTH)) {
          errors.add(param, 'INVALID_FIELD_VALUE', (n) => `${n(param)} must name a field (1 to ${MAX_NAME_LENGTH} characters)${needed ? ' when grouping by FIELD' : ''}; got ${describeValue(name)}.`);
        }
      }
      const timeZone = args.timeZone ?? 'UTC';
      if (!isTimeZoneName(timeZone)) errors.add('timeZone', 'INVALID_FIELD_VALUE', (n) => `${n('timeZone')} must be an IANA time zone name such as Europe/Berlin; got ${describeValue(args.timeZone)}.`);
      errors.throwIfAny();
      const scoped: RecordCondition[] = [
        ...(sourceId === null ? [] : [{ kind: 'ids' as const, column: 'source_id' as const, ids: [sourceId] }]),
        ...(personId === null ? [] : [{ kind: 'ids' as const, column: 'person_id' as const, ids: [personId] }]),
        ...(filtered === null ? [] : [filtered]),
      ];
      const condition: RecordCondition | null = scoped.length === 0 ? null : scoped.length === 1 ? (scoped[0] ?? null) : { kind: 'and', of: scoped };
      const stats = await recordStats(ctx.em, viewer.organizationId, { condition, groupBy, valueField: args.field ?? null, groupField: args.groupField ?? null, timeZone });
      // No record counted must still tell a missing source or person apart from one without records.
      const none = stats.groups.every((group) => group.count === 0);
      if (none && sourceId !== null) await findSourceOrFail(ctx.em, viewer.organizationId, sourceId, 'sourceId');
      if (none && personId !== null) await findPersonOrFail(ctx.em, viewer.organizationId, personId, 'personId');
      return stats;
    },
  }),
}));
