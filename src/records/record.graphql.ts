import { ConflictError, NotFoundError, PermissionError, ValidationError } from '../errors/api-error.ts';
import { builder } from '../graphql/builder.ts';
import { authorize } from '../graphql/context.ts';
import { parseId, parseOptionalId } from '../graphql/ids.ts';
import { mutate } from '../graphql/mutation.ts';
import { readPage, toConnection } from '../graphql/pagination.ts';
import { DeleteSuccess, deleteSuccessType } from '../graphql/payloads.ts';
import { PersonRef } from '../people/person.graphql.ts';
import { findPersonOrFail } from '../people/person.queries.ts';
import { FeedbackSourceRef } from '../sources/source.graphql.ts';
import { findSourceOrFail } from '../sources/source.queries.ts';
import { isStorableInstant } from '../validation/values.ts';
import { fieldCategories, fieldTypes, type RecordField } from './record-fields.ts';
import { FeedbackRecord } from './record.entity.ts';
import { findRecordOrFail, listRecords, type RecordFilter } from './record.queries.ts';
import { deleteRecord, type IngestFailure, ingestRecords, MAX_BATCH } from './record.rules.ts';
import type { Context } from '../graphql/context.ts';

const RecordFieldCategory = builder.enumType('RecordFieldCategory', { values: fieldCategories });
const RecordFieldType = builder.enumType('RecordFieldType', { values: fieldTypes });

const RecordFieldRef = builder.objectRef<RecordField>('RecordField').implement({
  description: 'One typed piece of a feedback record.',
  fields: (t) => ({
    category: t.field({ type: RecordFieldCategory, resolve: (field) => field.category }),
    type: t.field({ type: RecordFieldType, resolve: (field) => field.type }),
    name: t.exposeString('name'),
    value: t.field({ type: 'JSON', nullable: true, resolve: (field) => field.value }),
  }),
});

export const FeedbackRecordRef = builder.objectRef<FeedbackRecord>('FeedbackRecord').implement({
  description: 'One piece of feedback: a list of typed fields from a source, optionally by a person.',
  isTypeOf: (value) => value instanceof FeedbackRecord,
  fields: (t) => ({
    id: t.exposeID('id'),
    sourceId: t.id({ resolve: (record) => record.source.id }),
    personId: t.id({ nullable: true, resolve: (record) => record.person?.id ?? null }),
    externalId: t.exposeString('externalId', { nullable: true }),
    displayTs: t.expose('displayTs', { type: 'DateTime', description: 'When the feedback was given; defaults to the time of ingestion.' }),
    fields: t.field({ type: [RecordFieldRef], resolve: (record) => record.fields }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    source: t.field({
      type: FeedbackSourceRef,
      resolve: (record, _args, ctx) => {
        authorize(ctx, 'sources:read');
        return record.source.id;
      },
    }),
    person: t.field({
      type: PersonRef,
      nullable: true,
      resolve: (record, _args, ctx) => {
        authorize(ctx, 'people:read');
        return record.person?.id ?? null;
      },
    }),
  }),
});

const FeedbackRecordConnection = builder.connectionObject({ type: FeedbackRecordRef, name: 'FeedbackRecordConnection' });

const recordFilterArgs = {
  since: { type: 'DateTime', description: 'Only records whose displayTs is at or after this instant.' },
  until: { type: 'DateTime', description: 'Only records whose displayTs is before this instant.' },
} as const;

async function recordConnection(ctx: Context, args: { first?: number | null; after?: string | null }, filter: RecordFilter) {
  const viewer = authorize(ctx, 'records:read');
  for (const [param, date] of [['since', filter.since], ['until', filter.until]] as const) {
    if (date && !isStorableInstant(date)) throw new ValidationError('INVALID_FIELD_VALUE', { param, message: `${param} must lie in years 0001–9999 UTC.` });
  }
  const page = readPage(args, 2);
  const rows = await listRecords(ctx.em, viewer.organizationId, page, filter);
  return toConnection(rows, page, (record) => [record.displayTs.toISOString(), record.id]);
}

builder.objectField(FeedbackSourceRef, 'records', (t) =>
  t.field({
    type: FeedbackRecordConnection,
    description: 'The source\'s records, newest displayTs first.',
    args: { since: t.arg(recordFilterArgs.since), until: t.arg(recordFilterArgs.until), first: t.arg.int(), after: t.arg.string() },
    resolve: (source, args, ctx) => recordConnection(ctx, args, { sourceId: source.id, since: args.since, until: args.until }),
  }),
);

builder.objectField(PersonRef, 'records', (t) =>
  t.field({
    type: FeedbackRecordConnection,
    description: 'The person\'s records, newest displayTs first.',
    args: { since: t.arg(recordFilterArgs.since), until: t.arg(recordFilterArgs.until), first: t.arg.int(), after: t.arg.string() },
    resolve: (person, args, ctx) => recordConnection(ctx, args, { personId: person.id, since: args.since, until: args.until }),
  }),
);

builder.queryFields((t) => ({
  records: t.field({
    type: FeedbackRecordConnection,
    description: 'Records of the organization, newest displayTs first, optionally of one source or person.',
    args: {
      sourceId: t.arg.id(),
      personId: t.arg.id(),
      since: t.arg(recordFilterArgs.since),
      until: t.arg(recordFilterArgs.until),
      first: t.arg.int(),
      after: t.arg.string(),
    },
    resolve: async (_root, args, ctx) => {
      const viewer = authorize(ctx, 'records:read');
      const filter = { sourceId: parseOptionalId(args.sourceId, 'sourceId'), personId: parseOptionalId(args.personId, 'personId'), since: args.since, until: args.until };
      const connection = await recordConnection(ctx, args, filter);
      // An empty page must still tell a missing source or person apart from one without records.
      if (connection.edges.length === 0 && filter.sourceId) await findSourceOrFail(ctx.em, viewer.organizationId, filter.sourceId, 'sourceId');
      if (connection.edges.length === 0 && filter.personId) await findPersonOrFail(ctx.em, viewer.organizationId, filter.personId, 'personId');
      return connection;
    },
  }),
  record: t.field({
    type: FeedbackRecordRef,
    nullable: true,
    args: { id: t.arg.id({ required: true }), sourceId: t.arg.id({ description: 'When given, the record must belong to this source.' }) },
    resolve: async (_root, args, ctx) => {
      const viewer = authorize(ctx, 'records:read');
      return await findRecordOrFail(ctx.em, viewer.organizationId, parseId(args.id, 'id'), parseOptionalId(args.sourceId, 'sourceId'));
    },
  }),
}));

const RecordFieldInput = builder.inputType('RecordFieldInput', {
  description: 'category, type and value are checked by the API (not by GraphQL) so that every failing field is reported at once.',
  fields: (t) => ({
    category: t.string({ required: true, description: `One of ${fieldCategories.join(', ')}.` }),
    type: t.string({ required: true, description: `One of ${fieldTypes.join(', ')}; value must match it.` }),
    name: t.string({ required: true, description: '1–255 characters, unique within the record.' }),
    value: t.field({ type: 'JSON', description: 'At most 10,240 bytes of JSON text.' }),
  }),
});

const IngestRecordInput = builder.inputType('IngestRecordInput', {
  fields: (t) => ({
    personId: t.id(),
    displayTs: t.string({ description: 'RFC 3339 with an offset; defaults to now.' }),
    externalId: t.string({ description: '1–255 characters, unique within the source.' }),
    fields: t.field({ type: [RecordFieldInput], required: true, description: '1 to 100 fields.' }),
  }),
});

class IngestRecordSuccess {
  readonly record: FeedbackRecord;
  constructor(record: FeedbackRecord) {
    this.record = record;
  }
}
builder.objectType(IngestRecordSuccess, {
  name: 'IngestRecordSuccess',
  isTypeOf: (value) => value instanceof IngestRecordSuccess,
  fields: (t) => ({ record: t.field({ type: FeedbackRecordRef, resolve: (result) => result.record }) }),
});

const IngestRecordPayload = builder.errorUnion('IngestRecordPayload', {
  types: [IngestRecordSuccess, ValidationError, NotFoundError, ConflictError, PermissionError],
});

type IngestRecordResult = IngestRecordSuccess | IngestFailure;

class IngestRecordsSuccess {
  readonly results: IngestRecordResult[];
  constructor(results: IngestRecordResult[]) {
    this.results = results;
  }
}
builder.objectType(IngestRecordsSuccess, {
  name: 'IngestRecordsSuccess',
  isTypeOf: (value) => value instanceof IngestRecordsSuccess,
  fields: (t) => ({
    results: t.field({ type: [IngestRecordPayload], description: 'One result per input record, in input order.', resolve: (batch) => batch.results }),
    ingestedCount: t.int({ resolve: (batch) => batch.results.filter((result) => result instanceof IngestRecordSuccess).length }),
    failedCount: t.int({ resolve: (batch) => batch.results.filter((result) => !(result instanceof IngestRecordSuccess)).length }),
  }),
});

const IngestRecordsPayload = builder.errorUnion('IngestRecordsPayload', {
  types: [IngestRecordsSuccess, ValidationError, NotFoundError, PermissionError],
});

class DeleteRecordSuccess extends DeleteSuccess {}
deleteSuccessType(DeleteRecordSuccess, 'DeleteRecordSuccess');
const DeleteRecordPayload = builder.errorUnion('DeleteRecordPayload', {
  types: [DeleteRecordSuccess, ValidationError, NotFoundError, PermissionError],
});

builder.mutationFields((t) => ({
  ingestRecord: t.field({
    type: IngestRecordPayload,
    args: { sourceId: t.arg.id({ required: true }), input: t.arg({ type: IngestRecordInput, required: true }) },
    resolve: (_root, args, ctx) =>
      mutate(ctx, 'records:write', async (em, viewer) => {
        const [result] = await ingestRecords(em, viewer.organizationId, parseId(args.sourceId, 'sourceId'), [args.input]);
        if (result instanceof Error) throw result;
        ctx.metrics.recordsIngested.inc();
        return new IngestRecordSuccess(result as FeedbackRecord);
      }),
  }),
  ingestRecords: t.field({
    type: IngestRecordsPayload,
    description: `Ingests up to ${MAX_BATCH} records into one source; each succeeds or fails on its own.`,
    args: { sourceId: t.arg.id({ required: true }), records: t.arg({ type: [IngestRecordInput], required: true }) },
    resolve: (_root, args, ctx) =>
      mutate(ctx, 'records:write', async (em, viewer) => {
        const results = await ingestRecords(em, viewer.organizationId, parseId(args.sourceId, 'sourceId'), args.records);
        ctx.metrics.recordsIngested.inc(results.filter((result) => !(result instanceof Error)).length);
        return new IngestRecordsSuccess(results.map((result) => (result instanceof Error ? result : new IngestRecordSuccess(result))));
      }),
  }),
  deleteRecord: t.field({
    type: DeleteRecordPayload,
    args: { id: t.arg.id({ required: true }), sourceId: t.arg.id({ description: 'When given, the record must belong to this source.' }) },
    resolve: (_root, args, ctx) =>
      mutate(ctx, 'records:write', async (em, viewer) => {
        const id = parseId(args.id, 'id');
        await deleteRecord(em, viewer.organizationId, id, parseOptionalId(args.sourceId, 'sourceId'));
        return new DeleteRecordSuccess(id);
      }),
  }),
}));
