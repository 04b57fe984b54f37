import { isDeepStrictEqual } from 'node:util';
import { ConflictError, FieldErrors, NotFoundError, PermissionError, ValidationError } from '../errors/api-error.ts';
import { type RecordSnapshot, recordCreated, recordDeleted } from '../events/domain-events.ts';
import { builder } from '../graphql/builder.ts';
import { authenticate, authorize } from '../graphql/context.ts';
import { parseId, parseOptionalId } from '../graphql/ids.ts';
import { mutate } from '../graphql/mutation.ts';
import { implementNode } from '../graphql/node.ts';
import { pageArgs, totalCountField } from '../graphql/connections.ts';
import { mapNodes, readPage, toConnection } from '../graphql/pagination.ts';
import { scopedKeyset } from '../database/keyset.ts';
import { DeleteSuccess, deleteSuccessType } from '../graphql/payloads.ts';
import { eventOf, subscribeToEvents } from '../graphql/subscriptions.ts';
import { PersonRef } from '../people/person.graphql.ts';
import { findPersonOrFail } from '../people/person.queries.ts';
import { FeedbackSourceRef } from '../sources/source.graphql.ts';
import { findSourceOrFail } from '../sources/source.queries.ts';
import { describeValue, isStorableInstant, isText, STORABLE_YEARS } from '../validation/values.ts';
import { type FieldCategory, type FieldType, fieldCategories, fieldTypes, MAX_FIELDS, MAX_NAME_LENGTH, MAX_VALUE_BYTES, type RecordField } from './record-fields.ts';
import { checkRecordFilter, digestOf, MAX_FILTER_DEPTH, MAX_FILTER_PREDICATES, MAX_IN_VALUES, MAX_SEARCH_LENGTH, type RecordFilterInput } from './record-filter.ts';
import {
  countRecords,
  DEFAULT_ORDER,
  type Direction,
  FeedbackRecordView,
  findRecordOrFail,
  findRecordsByIds,
  listRecords,
  type OrderKey,
  orderSignature,
  type RecordFilter,
  type RecordOrderTerm,
  recordKeyset,
} from './record.queries.ts';
import { deleteRecord, type IngestFailure, ingestRecords, MAX_BATCH, MAX_EXTERNAL_ID_LENGTH } from './record.rules.ts';
import type { Context } from '../graphql/context.ts';
import { grouped } from '../http/limits.ts';

const categoryMeanings: Record<FieldCategory, string> = {
  content: 'The feedback itself, e.g. a ticket\'s subject, a survey comment or a chat message.',
  created_at: 'When the feedback was first written in its own system, e.g. when the ticket was opened.',
  identifier: 'Where the feedback lives elsewhere, e.g. a ticket URL or a permalink.',
  identity: 'About who gave the feedback, e.g. the respondent\'s role.',
  metadata: 'Context for analysis, e.g. a score, tags, the channel or the priority.',
};

const typeMeanings: Record<FieldType, string> = {
  boolean: 'true or false.',
  date: 'A real calendar date as YYYY-MM-DD.',
  datetime: 'An RFC 3339 date-time with an offset, e.g. 2025-03-14T09:26:53Z.',
  float: 'A finite number.',
  integer: 'A whole number that JSON carries exactly (a safe integer).',
  json: 'Any JSON value, e.g. a list of tags.',
  string: 'Text.',
};

const RecordFieldCategory = builder.enumType('RecordFieldCategory', {
  description: 'What part of the feedback a record field holds.',
  values: Object.fromEntries(fieldCategories.map((category) => [category, { description: categoryMeanings[category] }])),
});
const RecordFieldType = builder.enumType('RecordFieldType', {
  description: 'The type of a record field\'s value; the value always matches it.',
  values: Object.fromEntries(fieldTypes.map((type) => [type, { description: typeMeanings[type] }])),
});

const RecordFieldRef = builder.objectRef<RecordField>('RecordField').implement({
  description: 'One typed piece of a feedback record.',
  fields: (t) => ({
    category: t.expose('category', { type: RecordFieldCategory, description: 'What part of the feedback the field holds.' }),
    type: t.expose('type', { type: RecordFieldType, description: 'The type the value has.' }),
    name: t.exposeString('name', { description: 'The field\'s name, unique within the record.' }),
    value: t.expose('value', { type: 'JSON', nullable: true, description: 'The value, as JSON of the field\'s type.' }),
  }),
});

export const FeedbackRecordRef = builder.objectRef<FeedbackRecordView>('FeedbackRecord').implement({
  description: 'One piece of feedback: a list of typed fields from a source, optionally by a person.',
  isTypeOf: (value) => value instanceof FeedbackRecordView,
  fields: (t) => ({
    id: t.exposeID('id', { description: 'The record\'s id, the same number as in the REST API.' }),
    sourceId: t.exposeID('sourceId', { description: 'The id of the source the record belongs to.' }),
    personId: t.exposeID('personId', { nullable: true, description: 'The id of the person who gave the feedback; null when unknown.' }),
    externalId: t.exposeString('externalId', { nullable: true, description: 'Your own id for the record, unique in its source.' }),
    displayTs: t.expose('displayTs', { type: 'DateTime', description: 'When the feedback was given; defaults to the time of ingestion.' }),
    fields: t.expose('fields', { type: [RecordFieldRef], description: 'The record\'s typed fields, in the order they were sent.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the record was ingested.' }),
    source: t.field({
      type: FeedbackSourceRef,
      nullable: true,
      description: 'The source the record belongs to. Needs sources:read; without it, null with INSUFFICIENT_SCOPE.',
      resolve: (record, _args, ctx) => {
        authorize(ctx, 'sources:read');
        // A record read with its source primes the source loader; one just ingested leaves it to the loader.
        return record.source ?? record.sourceId;
      },
    }),
    person: t.field({
      type: PersonRef,
      nullable: true,
      description: 'Who gave the feedback; null when unknown. Needs people:read; without it, null with INSUFFICIENT_SCOPE.',
      resolve: (record, _args, ctx) => {
        authorize(ctx, 'people:read');
        return record.personId;
      },
    }),
  }),
});

implementNode(FeedbackRecordRef, { scope: 'records:read', load: async (ids, ctx) => await findRecordsByIds(ctx.em, authenticate(ctx).organizationId, ids) });

const FeedbackRecordConnection = builder.connectionObject(
  {
    type: FeedbackRecordRef,
    name: 'FeedbackRecordConnection',
    description: 'One page of feedback records, in the order asked for (newest displayTs first by default).',
    edgesField: { description: 'The records on this page, each with its cursor.' },
    fields: (t) => ({ totalCount: totalCountField(t, 'records') }),
  },
  { description: 'One feedback record on a page, with its cursor.', nodeField: { description: 'The feedback record.' } },
);

const IdFilter = builder.inputType('IdFilter', {
  description: 'Matches an id: eq one id, or in a list of ids (both given: both must hold).',
  fields: (t) => ({
    eq: t.id({ description: 'Exactly this id.' }),
    in: t.idList({ description: `Any of these ids, 1 to ${MAX_IN_VALUES}.` }),
  }),
});

const DateTimeFilter = builder.inputType('DateTimeFilter', {
  description: 'A range of instants; every bound given must hold.',
  fields: (t) => ({
    gt: t.field({ type: 'DateTime', description: 'After this instant.' }),
    gte: t.field({ type: 'DateTime', description: 'At or after this instant.' }),
    lt: t.field({ type: 'DateTime', description: 'Before this instant.' }),
    lte: t.field({ type: 'DateTime', description: 'At or before this instant.' }),
  }),
});

const rangeDescription = (words: string) =>
  `${words} this bound: a number compares with integer and float fields, a date (YYYY-MM-DD) with date fields, an RFC 3339 date-time with datetime fields.`;

const RecordFieldPredicate = builder.inputType('RecordFieldPredicate', {
  description:
    'Matches records having a field of this name whose value satisfies every operator given (all on the same field). A value that does not fit its operator is INVALID_FIELD_VALUE naming it, e.g. filter.fields[0].gt.',
  fields: (t) => ({
    name: t.string({ required: true, description: `The field's name, 1–${MAX_NAME_LENGTH} characters.` }),
    eq: t.field({ type: 'JSON', description: 'The value equals this JSON value (same type, same value), for any field type.' }),
    ne: t.field({ type: 'JSON', description: 'The field is present with another value than this one.' }),
    in: t.field({ type: ['JSON'], description: `The value equals one of these, 1 to ${MAX_IN_VALUES} JSON values.` }),
    gt: t.field({ type: 'JSON', description: rangeDescription('The value is greater than') }),
    gte: t.field({ type: 'JSON', description: rangeDescription('The value is at least') }),
    lt: t.field({ type: 'JSON', description: rangeDescription('The value is less than') }),
    lte: t.field({ type: 'JSON', description: rangeDescription('The value is at most') }),
    contains: t.field({
      type: 'JSON',
      description: 'A string: a string field contains it, ignoring case, or a json field holds it (e.g. a tag in a list). Other JSON: a json field contains it, e.g. ["export"].',
    }),
    exists: t.boolean({ description: 'true: the record has a field of this name; false: it has none (alone in its predicate).' }),
  }),
});

export const FeedbackRecordFilter = builder.inputRef<RecordFilterInput>('FeedbackRecordFilter').implement({
  description: `Which records to list or count; every condition given must hold. At most ${MAX_FILTER_PREDICATES} predicates, nested at most ${MAX_FILTER_DEPTH} levels.`,
  fields: (t) => ({
    and: t.field({ type: [FeedbackRecordFilter], description: 'Every one of these filters holds.' }),
    or: t.field({ type: [FeedbackRecordFilter], description: 'At least one of these filters holds.' }),
    not: t.field({ type: FeedbackRecordFilter, description: 'This filter does not hold.' }),
    sourceId: t.field({ type: IdFilter, description: 'The record\'s source.' }),
    personId: t.field({ type: IdFilter, description: 'The person who gave the feedback; records without one never match.' }),
    companyId: t.field({ type: IdFilter, description: 'The company of the person who gave the feedback.' }),
    displayTs: t.field({ type: DateTimeFilter, description: 'When the feedback was given.' }),
    createdAt: t.field({ type: DateTimeFilter, description: 'When the record was ingested.' }),
    fields: t.field({ type: [RecordFieldPredicate], description: 'Predicates on the record\'s typed fields; every one must hold.' }),
  }),
});

const FeedbackRecordOrderField = builder.enumType('FeedbackRecordOrderField', {
  description: 'What records are ordered by; id breaks ties.',
  values: {
    DISPLAY_TS: { description: 'When the feedback was given.' },
    CREATED_AT: { description: 'When the record was ingested.' },
    FIELD: {
      description: 'The value of the field named by fieldName: a number of an integer or float field, a date or datetime field by its instant. Records without such a field are not listed.',
    },
    RELEVANCE: { description: 'How well the record matches search (only with search; the default order of a search, DESC).' },
  } as const,
});

const OrderDirection = builder.enumType('OrderDirection', {
  description: 'Ascending or descending.',
  values: { ASC: { description: 'Smallest or oldest first.' }, DESC: { description: 'Largest or newest first.' } } as const,
});

const FeedbackRecordOrder = builder.inputType('FeedbackRecordOrder', {
  description: 'One term of a records order.',
  fields: (t) => ({
    field: t.field({ type: FeedbackRecordOrderField, required: true, description: 'What to order by.' }),
    fieldName: t.string({ description: 'With FIELD: the name of the field whose value orders the records.' }),
    direction: t.field({ type: OrderDirection, description: 'DESC when omitted.' }),
  }),
});

const MAX_ORDER_TERMS = 3;

type OrderInput = { field: OrderKey; fieldName?: string | null; direction?: Direction | null };

/** Checks `orderBy`; every failure is named by its path (`orderBy[0].fieldName`). */
function checkOrder(input: readonly OrderInput[] | null | undefined, searching: boolean, errors: FieldErrors): RecordOrderTerm[] {
  if (!input || input.length === 0) return searching ? [{ key: 'RELEVANCE', field: null, direction: 'DESC' }] : [...DEFAULT_ORDER];
  if (input.length > MAX_ORDER_TERMS) {
    errors.add('orderBy', 'INVALID_FIELD_VALUE', (n) => `${n('orderBy')} must hold 1 to ${MAX_ORDER_TERMS} terms; got ${input.length}.`);
    return [...DEFAULT_ORDER];
  }
  return input.map((term, index) => {
    const param = `orderBy[${index}].fieldName`;
    if (term.field === 'RELEVANCE' && !searching) {
      const key = `orderBy[${index}].field`;
      errors.add(key, 'INVALID_FIELD_VALUE', (n) => `${n(key)} may be RELEVANCE only with search.`);
    }
    if (term.field === 'FIELD' && !isText(term.fieldName, MAX_NAME_LENGTH)) {
      errors.add(param, 'INVALID_FIELD_VALUE', (n) => `${n(param)} must name a field (1 to ${MAX_NAME_LENGTH} characters) when ordering by FIELD; got ${describeValue(term.fieldName)}.`);
    }
    if (term.field !== 'FIELD' && isPresent(term.fieldName)) {
      errors.add(param, 'INVALID_FIELD_VALUE', (n) => `${n(param)} is only for ordering by FIELD; got ${describeValue(term.fieldName)}.`);
    }
    return { key: term.field, field: term.field === 'FIELD' ? (term.fieldName ?? '') : null, direction: term.direction ?? 'DESC' };
  });
}

const isPresent = (value: unknown) => value !== undefined && value !== null;

interface ListArgs {
  first?: number | null;
  after?: string | null;
  filter?: RecordFilterInput | null;
  orderBy?: readonly OrderInput[] | null;
  search?: string | null;
}

async function recordConnection(ctx: Context, args: ListArgs, base: RecordFilter, checks: FieldErrors = new FieldErrors()) {
  const viewer = authorize(ctx, 'records:read');
  for (const [param, date] of [['since', base.since], ['until', base.until]] as const) {
    if (date && !isStorableInstant(date)) checks.add(param, 'INVALID_FIELD_VALUE', (n) => `${n(param)} must lie in years ${STORABLE_YEARS} UTC.`);
  }
  const condition = checkRecordFilter(args.filter, 'filter', checks);
  const search = args.search ?? null;
  if (search !== null && !isText(search, MAX_SEARCH_LENGTH)) {
    checks.add('search', 'INVALID_FIELD_VALUE', (n) => `${n('search')} must be 1 to ${MAX_SEARCH_LENGTH} characters without U+0000; got ${describeValue(search)}.`);
  }
  const order = checkOrder(args.orderBy, search !== null, checks);
  checks.throwIfAny();
  const chosen = isPresent(args.filter) || isPresent(search) || (isPresent(args.orderBy) && args.orderBy?.length !== 0);
  const keyset = scopedKeyset(recordKeyset(order), chosen ? `${orderSignature(order)}|${digestOf([args.filter ?? null, search])}` : null);
  const page = readPage(args, keyset);
  const filter = { ...base, condition, search };
  const rows = await listRecords(ctx.em, viewer.organizationId, page, filter, order);
  return mapNodes(
    toConnection(rows, page, keyset, () => countRecords(ctx.em, viewer.organizationId, filter, order)),
    (listed) => listed.record,
  );
}

const listArgs = builder.args((t) => ({
  filter: t.field({ type: FeedbackRecordFilter, description: 'Only the records matching this filter.' }),
  search: t.string({
    description: `Full-text search of the records' content fields (string fields of category content), in web-search syntax: words, "quoted phrases", -excluded words, or. Ordered by RELEVANCE unless orderBy says otherwise. 1 to ${MAX_SEARCH_LENGTH} characters.`,
  }),
  orderBy: t.field({
    type: [FeedbackRecordOrder],
    description: `The order, 1 to ${MAX_ORDER_TERMS} terms, then id; newest displayTs first when omitted. A cursor holds its order and filter: sent with others it is INVALID_CURSOR.`,
  }),
  since: t.field({ type: 'DateTime', description: 'Only records whose displayTs is at or after this instant.' }),
  until: t.field({ type: 'DateTime', description: 'Only records whose displayTs is before this instant.' }),
  ...pageArgs,
}));

builder.objectField(FeedbackSourceRef, 'records', (t) =>
  t.field({
    type: FeedbackRecordConnection,
    nullable: true,
    description: 'The source\'s records, newest displayTs first unless orderBy says otherwise. Needs records:read; without it, null with INSUFFICIENT_SCOPE.',
    args: listArgs,
    resolve: (source, args, ctx) => recordConnection(ctx, args, { sourceId: source.id, since: args.since, until: args.until }),
  }),
);

builder.objectField(PersonRef, 'records', (t) =>
  t.field({
    type: FeedbackRecordConnection,
    nullable: true,
    description: 'The person\'s records, newest displayTs first unless orderBy says otherwise. Needs records:read; without it, null with INSUFFICIENT_SCOPE.',
    args: listArgs,
    resolve: (person, args, ctx) => recordConnection(ctx, args, { personId: person.id, since: args.since, until: args.until }),
  }),
);

/** Reads an optional id argument, reporting a bad one with the others. */
export function optionalId(value: string | number | null | undefined, param: string, errors: FieldErrors): number | null {
  try {
    return parseOptionalId(value, param);
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    errors.list.push(...error.errors);
    return null;
  }
}

builder.queryFields((t) => ({
  records: t.field({
    type: FeedbackRecordConnection,
    nullable: true,
    description: 'Records of the organization, newest displayTs first unless orderBy says otherwise, optionally of one source or person. Needs records:read.',
    args: {
      sourceId: t.arg.id({ description: 'Only records of this source; an unknown one is FEEDBACK_SOURCE_NOT_FOUND.' }),
      personId: t.arg.id({ description: 'Only records of this person; an unknown one is PERSON_NOT_FOUND.' }),
      ...listArgs,
    },
    resolve: async (_root, args, ctx) => {
      const viewer = authorize(ctx, 'records:read');
      const errors = new FieldErrors();
      const base = { sourceId: optionalId(args.sourceId, 'sourceId', errors), personId: optionalId(args.personId, 'personId', errors), since: args.since, until: args.until };
      const connection = await recordConnection(ctx, args, base, errors);
      // An empty page must still tell a missing source or person apart from one without records.
      if (connection.edges.length === 0 && base.sourceId) await findSourceOrFail(ctx.em, viewer.organizationId, base.sourceId, 'sourceId');
      if (connection.edges.length === 0 && base.personId) await findPersonOrFail(ctx.em, viewer.organizationId, base.personId, 'personId');
      return connection;
    },
  }),
  record: t.field({
    type: FeedbackRecordRef,
    nullable: true,
    description: 'One feedback record by id; null with RECORD_NOT_FOUND when it does not exist. Needs records:read.',
    args: { id: t.arg.id({ required: true, description: 'The record\'s id.' }), sourceId: t.arg.id({ description: 'When given, the record must belong to this source.' }) },
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
    name: t.string({ required: true, description: `1–${MAX_NAME_LENGTH} characters, unique within the record.` }),
    value: t.field({ type: 'JSON', description: `At most ${grouped(MAX_VALUE_BYTES)} bytes of JSON text.` }),
  }),
});

const IngestRecordInput = builder.inputType('IngestRecordInput', {
  description: 'One piece of feedback to ingest: its fields, and optionally who gave it, when, and your id for it.',
  fields: (t) => ({
    personId: t.id({ description: 'The person who gave the feedback; an unknown one is PERSON_NOT_FOUND.' }),
    displayTs: t.string({ description: 'RFC 3339 with an offset; defaults to now.' }),
    externalId: t.string({ description: `Your own id for the record, 1–${MAX_EXTERNAL_ID_LENGTH} characters, unique within the source; a repeat is DUPLICATE_EXTERNAL_ID.` }),
    fields: t.field({ type: [RecordFieldInput], required: true, description: `1 to ${MAX_FIELDS} fields.` }),
  }),
});

class IngestRecordSuccess {
  readonly record: FeedbackRecordView;
  constructor(record: FeedbackRecordView) {
    this.record = record;
  }
}
builder.objectType(IngestRecordSuccess, {
  name: 'IngestRecordSuccess',
  description: 'The record was ingested.',
  isTypeOf: (value) => value instanceof IngestRecordSuccess,
  fields: (t) => ({ record: t.expose('record', { type: FeedbackRecordRef, description: 'The record as stored.' }) }),
});

const IngestRecordPayload = builder.errorUnion('IngestRecordPayload', {
  description: 'The ingested record, or why it was not ingested.',
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
  description: 'The batch ran; each record succeeded or failed on its own.',
  isTypeOf: (value) => value instanceof IngestRecordsSuccess,
  fields: (t) => ({
    results: t.expose('results', { type: [IngestRecordPayload], description: 'One result per input record, in input order.' }),
    ingestedCount: t.int({
      description: 'How many records were ingested.',
      resolve: (batch) => batch.results.filter((result) => result instanceof IngestRecordSuccess).length,
    }),
    failedCount: t.int({
      description: 'How many records failed; their results say why.',
      resolve: (batch) => batch.results.filter((result) => !(result instanceof IngestRecordSuccess)).length,
    }),
  }),
});

const IngestRecordsPayload = builder.errorUnion('IngestRecordsPayload', {
  description: 'The result of each record, or why the whole batch was refused.',
  types: [IngestRecordsSuccess, ValidationError, NotFoundError, PermissionError],
});

class DeleteRecordSuccess extends DeleteSuccess {}
deleteSuccessType(DeleteRecordSuccess, 'DeleteRecordSuccess', 'feedback record');
const DeleteRecordPayload = builder.errorUnion('DeleteRecordPayload', {
  description: 'The id of the deleted record, or why it was not deleted.',
  types: [DeleteRecordSuccess, ValidationError, NotFoundError, PermissionError],
});

builder.mutationFields((t) => ({
  ingestRecord: t.field({
    type: IngestRecordPayload,
    description: 'Ingests one record into a source. Needs records:write.',
    args: {
      sourceId: t.arg.id({ required: true, description: 'The source the feedback comes from.' }),
      input: t.arg({ type: IngestRecordInput, required: true, description: 'The record to ingest.' }),
    },
    resolve: (_root, args, ctx) =>
      mutate(ctx, 'records:write', async (em, viewer, emit) => {
        const [result] = await ingestRecords(em, viewer.organizationId, parseId(args.sourceId, 'sourceId'), [args.input]);
        if (result === undefined) throw new Error('ingestRecords answered no result for one input');
        if (result instanceof Error) throw result;
        emit(recordCreated(viewer.organizationId, result));
        ctx.metrics.recordsIngested.inc();
        return new IngestRecordSuccess(result);
      }, { oneStatement: true }),
  }),
  ingestRecords: t.field({
    type: IngestRecordsPayload,
    description: `Ingests up to ${MAX_BATCH} records into one source; each succeeds or fails on its own. Needs records:write.`,
    args: {
      sourceId: t.arg.id({ required: true, description: 'The source the feedback comes from.' }),
      records: t.arg({ type: [IngestRecordInput], required: true, description: `1 to ${MAX_BATCH} records, answered in the same order.` }),
    },
    resolve: (_root, args, ctx) =>
      mutate(ctx, 'records:write', async (em, viewer, emit) => {
        const results = await ingestRecords(em, viewer.organizationId, parseId(args.sourceId, 'sourceId'), args.records);
        for (const result of results) if (!(result instanceof Error)) emit(recordCreated(viewer.organizationId, result));
        ctx.metrics.recordsIngested.inc(results.filter((result) => !(result instanceof Error)).length);
        return new IngestRecordsSuccess(results.map((result) => (result instanceof Error ? result : new IngestRecordSuccess(result))));
      }, { oneStatement: true }),
  }),
  deleteRecord: t.field({
    type: DeleteRecordPayload,
    description: 'Deletes a feedback record. Needs records:write.',
    args: { id: t.arg.id({ required: true, description: 'The id of the record to delete.' }), sourceId: t.arg.id({ description: 'When given, the record must belong to this source.' }) },
    resolve: (_root, args, ctx) =>
      mutate(ctx, 'records:write', async (em, viewer, emit) => {
        const id = parseId(args.id, 'id');
        const sourceId = await deleteRecord(em, viewer.organizationId, id, parseOptionalId(args.sourceId, 'sourceId'));
        emit(recordDeleted(viewer.organizationId, { id, sourceId }));
        return new DeleteRecordSuccess(id);
      }, { oneStatement: true }),
  }),
}));

const RecordFieldEquals = builder.inputType('RecordFieldEquals', {
  description: 'Matches records having a field of this name whose value equals eq (JSON equality: same type, same value).',
  fields: (t) => ({
    name: t.string({ required: true, description: `The field's name, 1–${MAX_NAME_LENGTH} characters.` }),
    eq: t.field({ type: 'JSON', required: true, description: 'The value the field must have, e.g. true, 4 or "billing".' }),
  }),
});

const RecordIngestedFilter = builder.inputType('RecordIngestedFilter', {
  description:
    'Which ingested records a subscription receives; every condition given must hold. A small subset of the shape of the records query\'s filters: more conditions may be added.',
  fields: (t) => ({
    personId: t.id({ description: 'Only records of this person; an unknown one is PERSON_NOT_FOUND.' }),
    fields: t.field({ type: [RecordFieldEquals], description: `Only records having every one of these field values; at most ${MAX_FIELDS}.` }),
  }),
});

interface RecordCondition {
  sourceId: number | null;
  personId: number | null;
  fields: { name: string; eq?: unknown }[];
}

function checkIngestedFilter(sourceId: string | number | null | undefined, filter: { personId?: string | number | null; fields?: { name: string; eq?: unknown }[] | null } | null | undefined): RecordCondition {
  const errors = new FieldErrors();
  const condition: RecordCondition = { sourceId: null, personId: null, fields: filter?.fields ?? [] };
  for (const [param, value, set] of [
    ['sourceId', sourceId, (id: number) => (condition.sourceId = id)],
    ['filter.personId', filter?.personId, (id: number) => (condition.personId = id)],
  ] as const) {
    try {
      const id = parseOptionalId(value, param);
      if (id !== null) set(id);
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      errors.list.push(...error.errors);
    }
  }
  if (condition.fields.length > MAX_FIELDS) {
    errors.add('filter.fields', 'INVALID_FIELD_VALUE', (n) => `${n('filter.fields')} may hold at most ${MAX_FIELDS} conditions; got ${condition.fields.length}.`);
  }
  condition.fields.forEach(({ name }, index) => {
    const param = `filter.fields[${index}].name`;
    if (!isText(name, MAX_NAME_LENGTH)) errors.add(param, 'INVALID_FIELD_VALUE', (n) => `${n(param)} must be 1 to ${MAX_NAME_LENGTH} characters; got ${describeValue(name)}.`);
  });
  errors.throwIfAny();
  return condition;
}

function matches(record: RecordSnapshot, condition: RecordCondition): boolean {
  if (condition.sourceId !== null && record.sourceId !== condition.sourceId) return false;
  if (condition.personId !== null && record.personId !== condition.personId) return false;
  return condition.fields.every(({ name, eq }) => record.fields.some((field) => field.name === name && isDeepStrictEqual(field.value, eq)));
}

const viewOf = (record: RecordSnapshot) =>
  new FeedbackRecordView({ ...record, displayTs: new Date(record.displayTs), createdAt: new Date(record.createdAt) });

class DeletedFeedbackRecord {
  readonly id: number;
  readonly sourceId: number;
  constructor(record: { id: number; sourceId: number }) {
    this.id = record.id;
    this.sourceId = record.sourceId;
  }
}
builder.objectType(DeletedFeedbackRecord, {
  name: 'DeletedFeedbackRecord',
  description: 'A feedback record that was deleted.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'The id the record had.' }),
    sourceId: t.exposeID('sourceId', { description: 'The source the record belonged to.' }),
  }),
});

builder.subscriptionFields((t) => ({
  recordIngested: t.field({
    type: FeedbackRecordRef,
    nullable: true,
    description:
      'Each record ingested from now on (REST or GraphQL, one by one or in batches), once committed. Needs records:read; an unknown source or person is refused when subscribing. An event is null with an error when the token was revoked or expired meanwhile, and the subscription then ends.',
    args: {
      sourceId: t.arg.id({ description: 'Only records of this source; an unknown one is FEEDBACK_SOURCE_NOT_FOUND.' }),
      filter: t.arg({ type: RecordIngestedFilter, description: 'Only records matching every condition given.' }),
    },
    subscribe: async (_root, args, ctx) => {
      const viewer = authorize(ctx, 'records:read');
      const condition = checkIngestedFilter(args.sourceId, args.filter);
      if (condition.sourceId !== null) await findSourceOrFail(ctx.em, viewer.organizationId, condition.sourceId, 'sourceId');
      if (condition.personId !== null) await findPersonOrFail(ctx.em, viewer.organizationId, condition.personId, 'filter.personId');
      return subscribeToEvents(ctx, 'records:read', 'feedback_record.created', (event) => matches(event.record, condition));
    },
    resolve: (delivery) => viewOf(eventOf(delivery).record),
  }),
  recordDeleted: t.field({
    type: DeletedFeedbackRecord,
    nullable: true,
    description: 'Each record deleted from now on, once committed. Needs records:read. An event is null with an error when the token was revoked or expired meanwhile, and the subscription then ends.',
    args: { sourceId: t.arg.id({ description: 'Only records of this source; an unknown one is FEEDBACK_SOURCE_NOT_FOUND.' }) },
    subscribe: async (_root, args, ctx) => {
      const viewer = authorize(ctx, 'records:read');
      const sourceId = parseOptionalId(args.sourceId, 'sourceId');
      if (sourceId !== null) await findSourceOrFail(ctx.em, viewer.organizationId, sourceId, 'sourceId');
      return subscribeToEvents(ctx, 'records:read', 'feedback_record.deleted', (event) => sourceId === null || event.record.sourceId === sourceId);
    },
    resolve: (delivery) => new DeletedFeedbackRecord(eventOf(delivery).record),
  }),
}));
