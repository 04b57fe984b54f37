import { z } from 'zod';
import type { oas31, ZodOpenApiOverrideMetaContext } from 'zod-openapi';
import { statusOfCode } from '../errors/catalog.ts';
import { graphql, type ResultOf } from '../graphql/typed-document.ts';
import { toGraphQLNames } from '../rest/names.ts';
import { restResource } from '../rest/resource.ts';
import { restPath } from '../rest/route.ts';
import { dateTimeQuery, ErrorSchema, id, idParam, textConstraints, timestamp } from '../rest/schemas.ts';
import { DATE_TIME, MAX_JSON_DEPTH, STORABLE_YEARS } from '../validation/values.ts';
import { type FieldType, fieldCategories, fieldTypes, MAX_FIELDS, MAX_NAME_LENGTH, MAX_VALUE_BYTES } from './record-fields.ts';
import { recordListQuery } from './record-filter.rest.ts';
import docs from './record.openapi.json' with { type: 'json' };
import { MAX_BATCH, MAX_EXTERNAL_ID_LENGTH } from './record.rules.ts';
import { grouped } from '../http/limits.ts';

const RecordFieldSchema = z
  .object({
    category: z.enum(fieldCategories),
    type: z.enum(fieldTypes),
    name: z.string(),
    value: z.unknown().meta({ description: `JSON matching type; at most ${MAX_VALUE_BYTES} bytes of JSON text.` }),
  })
  .meta({ id: 'RecordField' });

export const FeedbackRecordSchema = z
  .object({
    id,
    source_id: id,
    person_id: id.nullable(),
    external_id: z.string().nullable(),
    display_ts: timestamp,
    fields: z.array(RecordFieldSchema),
    created_at: timestamp,
  })
  .meta({ id: 'FeedbackRecord', description: 'One piece of feedback: typed fields from a source.' });

export const RecordFields = graphql(`fragment RecordFields on FeedbackRecord {
  id sourceId personId externalId displayTs fields { category type name value } createdAt
}`);

export function toRestRecord(node: ResultOf<typeof RecordFields>): z.output<typeof FeedbackRecordSchema> {
  return {
    id: Number(node.id),
    source_id: Number(node.sourceId),
    person_id: node.personId === null ? null : Number(node.personId),
    external_id: node.externalId,
    display_ts: node.displayTs,
    fields: node.fields,
    created_at: node.createdAt,
  };
}

const VALUE_LIMITS =
  `The value's JSON text is at most ${grouped(MAX_VALUE_BYTES)} bytes of UTF-8 (else FIELD_VALUE_TOO_LARGE), ` +
  `nests at most ${MAX_JSON_DEPTH} levels, and no string in it holds U+0000 or an unpaired surrogate.`;

/** What a value must be for each field type, as the record rules check it (record-fields.ts). */
const VALUE_SCHEMAS: Record<FieldType, oas31.SchemaObject> = {
  boolean: { type: 'boolean' },
  date: { type: 'string', format: 'date', description: 'A real date, YYYY-MM-DD.' },
  datetime: { type: 'string', format: 'date-time', pattern: DATE_TIME.source, description: 'RFC 3339 with an offset, e.g. 2025-03-14T09:26:53Z.' },
  float: { type: 'number', description: 'A finite number.' },
  integer: { type: 'integer', minimum: Number.MIN_SAFE_INTEGER, maximum: Number.MAX_SAFE_INTEGER, description: 'A safe integer.' },
  json: { description: 'Any JSON value.' },
  // The longest string whose JSON text can fit: two quotes and one byte a character.
  string: { type: 'string', ...textConstraints(MAX_VALUE_BYTES - 2, { min: 0 }) },
};

/**
 * A record field as JSON Schema: one variant per type, each with the value schema of its type. The
 * request schema only checks the shape and the record rules check the rest, so this is documented
 * rather than parsed.
 */
const RECORD_FIELD_VARIANTS: oas31.SchemaObject = {
  description: `One typed field. Names are unique within the record. ${VALUE_LIMITS}`,
  oneOf: fieldTypes.map((type) => ({
    title: `A ${type} field`,
    type: 'object',
    additionalProperties: false,
    required: ['category', 'type', 'name', 'value'],
    properties: {
      category: { type: 'string', enum: [...fieldCategories] },
      type: { type: 'string', const: type },
      name: { description: `1–${MAX_NAME_LENGTH} characters, unique within the record.`, type: 'string', ...textConstraints(MAX_NAME_LENGTH) },
      value: VALUE_SCHEMAS[type],
    },
  })),
};

/** Documents a schema as `documented` instead of the loose shape that parses it. */
const replaceWith =
  (documented: oas31.SchemaObject) =>
  ({ jsonSchema }: ZodOpenApiOverrideMetaContext) => {
    const { description } = jsonSchema;
    for (const key of Object.keys(jsonSchema)) delete jsonSchema[key];
    Object.assign(jsonSchema, description === undefined ? {} : { description }, structuredClone(documented));
  };

// Only the shape is checked here; the record rules check categories, types and values, so that one
// response lists every failing field.
const IngestRecordBody = z
  .strictObject({
    // Any string passes here so that a bad id is reported together with every other failing field.
    person_id: z
      .union([z.int(), z.string()])
      .nullable()
      .optional()
      .meta({ description: 'The person who gave the feedback.', override: replaceWith({ type: ['integer', 'null'], minimum: 1, maximum: Number.MAX_SAFE_INTEGER }) }),
    display_ts: z
      .string()
      .nullable()
      .optional()
      .meta({ description: `RFC 3339 with an offset, in years ${STORABLE_YEARS} UTC; defaults to now.`, format: 'date-time', pattern: DATE_TIME.source }),
    external_id: z
      .string()
      .nullable()
      .optional()
      .meta({
        description: `Your id for the record, unique in the source; 1–${MAX_EXTERNAL_ID_LENGTH} characters, no U+0000 or unpaired surrogates.`,
        ...textConstraints(MAX_EXTERNAL_ID_LENGTH),
      }),
    fields: z
      .array(
        z
          .strictObject({ category: z.string(), type: z.string(), name: z.string(), value: z.unknown() })
          .meta({ override: replaceWith(RECORD_FIELD_VARIANTS) }),
      )
      .meta({ description: `1 to ${MAX_FIELDS} fields with unique names.`, minItems: 1, maxItems: MAX_FIELDS }),
  })
  .meta({ id: 'FeedbackRecordIngest' });

const sourceId = { id: idParam('The feedback source id.') };

const IngestRecord = graphql(`mutation ingestRecord($sourceId: ID!, $input: IngestRecordInput!) {
  ingestRecord(sourceId: $sourceId, input: $input) { __typename ... on IngestRecordSuccess { item: record { ...RecordFields } } }
}`, [RecordFields]);
const ListRecords = graphql(`query listRecords($sourceId: ID, $personId: ID, $since: DateTime, $until: DateTime, $first: Int, $after: String,
  $field: FeedbackRecordFilter, $q: String, $order: [FeedbackRecordOrder!], $includeTotal: Boolean = false) {
  records(sourceId: $sourceId, personId: $personId, since: $since, until: $until, filter: $field, search: $q, orderBy: $order, first: $first, after: $after) {
    totalCount @include(if: $includeTotal) edges { node { ...RecordFields } } pageInfo { hasNextPage endCursor }
  }
}`, [RecordFields]);
const GetRecord = graphql(`query getRecord($id: ID!, $sourceId: ID) { record(id: $id, sourceId: $sourceId) { ...RecordFields } }`, [RecordFields]);
const DeleteRecord = graphql(`mutation deleteRecord($id: ID!, $sourceId: ID) {
  deleteRecord(id: $id, sourceId: $sourceId) { __typename ... on DeleteRecordSuccess { id } }
}`);

export const listFilters = {
  person_id: idParam('Only records of this person.').optional(),
  since: dateTimeQuery('Only records with display_ts at or after this instant.').optional(),
  until: dateTimeQuery('Only records with display_ts before this instant.').optional(),
  ...recordListQuery,
};

// A backfill: the single-record body, many at once. The example holds records of two of the
// integrations (test/fixtures/examples).
const IngestRecordsBody = z
  .strictObject({
    records: z.array(IngestRecordBody).meta({
      description: `1 to ${MAX_BATCH} records, each as the single-record route takes it; each is ingested or fails on its own and is answered in the same place.`,
      minItems: 1,
      maxItems: MAX_BATCH,
    }),
  })
  .meta({
    id: 'FeedbackRecordBatchIngest',
    example: {
      records: [
        {
          external_id: 'zendesk-48213',
          display_ts: '2025-03-14T09:26:53Z',
          fields: [
            { category: 'content', type: 'string', name: 'subject', value: 'Export to CSV times out for large workspaces' },
            { category: 'metadata', type: 'json', name: 'tags', value: ['export', 'performance', 'enterprise'] },
            { category: 'metadata', type: 'boolean', name: 'escalated', value: true },
          ],
        },
        {
          external_id: 'nps-2025q1-000981',
          display_ts: '2025-02-03T17:04:00Z',
          fields: [
            { category: 'metadata', type: 'integer', name: 'nps_score', value: 6 },
            { category: 'content', type: 'string', name: 'comment', value: 'Great product, but onboarding new teammates takes too long. SSO would help a lot.' },
          ],
        },
      ],
    },
  });

const index = z.int().min(0).meta({ description: 'The position of the record in the request, from 0.' });
const FeedbackRecordBatchSchema = z
  .object({
    results: z
      .array(
        z.union([
          z.object({ index, status: z.literal(201).meta({ description: 'Ingested.' }), record: FeedbackRecordSchema }).meta({ id: 'FeedbackRecordBatchIngested' }),
          z
            .object({
              index,
              status: z.int().min(400).max(499).meta({ description: 'The status the single-record route would have answered: 400, 404 or 409.' }),
              error: ErrorSchema,
            })
            .meta({ id: 'FeedbackRecordBatchFailed' }),
        ]),
      )
      .meta({ description: 'One result per record sent, in the same order.' }),
    ingested_count: z.int().min(0).meta({ description: 'How many records were ingested.' }),
    failed_count: z.int().min(0).meta({ description: 'How many records failed; their results say why.' }),
  })
  .meta({ id: 'FeedbackRecordBatch', description: 'What became of each record of a batch.' });

const IngestRecords = graphql(`mutation ingestRecords($sourceId: ID!, $records: [IngestRecordInput!]!) {
  ingestRecords(sourceId: $sourceId, records: $records) {
    __typename
    ... on IngestRecordsSuccess {
      ingestedCount failedCount
      results {
        __typename
        ... on IngestRecordSuccess { record { ...RecordFields } }
        ... on Error { type code message retryable requestId docUrl param suggestion }
        ... on ValidationError { errors { param code message } }
      }
    }
  }
}`, [RecordFields]);

type BatchSuccess = Extract<ResultOf<typeof IngestRecords>['ingestRecords'], { __typename: 'IngestRecordsSuccess' }>;
type BatchResult = BatchSuccess['results'][number];

/** One item's result: the record, or the error envelope the single-record route would have answered with. */
function toBatchItem(result: BatchResult, index: number): z.output<typeof FeedbackRecordBatchSchema>['results'][number] {
  if (result.__typename === 'IngestRecordSuccess') return { index, status: 201, record: toRestRecord(result.record) };
  const error = {
    type: result.type,
    code: result.code,
    message: result.message,
    retryable: result.retryable,
    request_id: result.requestId,
    doc_url: result.docUrl,
    param: result.param,
    suggestion: result.suggestion,
    ...(result.__typename === 'ValidationError' ? { errors: result.errors } : {}),
  };
  return { index, status: statusOfCode(result.code), error };
}

export const recordRoutes = restResource(docs, {
  scopes: { read: 'records:read', write: 'records:write' },
  paths: [
    restPath('/feedback-sources/{id}/records', sourceId, { id: 'sourceId' }),
    restPath('/feedback-sources/{id}/records/{record_id}', { ...sourceId, record_id: idParam('The record id.') }, { id: 'sourceId', record_id: 'id' }),
  ],
  item: [FeedbackRecordSchema, toRestRecord],
  limits: { maxBatch: MAX_BATCH },
}).routes((records) => [
  records.create(IngestRecordBody, IngestRecord, ['FIELD_VALUE_TOO_LARGE', 'FEEDBACK_SOURCE_NOT_FOUND', 'PERSON_NOT_FOUND', 'DUPLICATE_EXTERNAL_ID']),
  records.list(listFilters, ListRecords, ['FEEDBACK_SOURCE_NOT_FOUND', 'PERSON_NOT_FOUND']),
  records.get(GetRecord, ['FEEDBACK_SOURCE_NOT_FOUND', 'RECORD_NOT_FOUND']),
  records.delete({}, DeleteRecord, ['FEEDBACK_SOURCE_NOT_FOUND', 'RECORD_NOT_FOUND']),
  records.write(
    {
      path: restPath('/feedback-sources/{id}/records/batch', sourceId, { id: 'sourceId' }),
      body: IngestRecordsBody,
      document: IngestRecords,
      variables: ({ params, body }) => ({ ...params, records: body.records.map((record) => toGraphQLNames(record)) }),
    },
    [200, FeedbackRecordBatchSchema, (success: BatchSuccess) => ({ results: success.results.map(toBatchItem), ingested_count: success.ingestedCount, failed_count: success.failedCount })],
    ['FEEDBACK_SOURCE_NOT_FOUND'],
  ),
]);
