import { z } from 'zod';
import type { oas31, ZodOpenApiOverrideMetaContext } from 'zod-openapi';
import { operation } from '../rest/operation.ts';
import { camelCaseKeys, type ConnectionData, pageVariables, toPage } from '../rest/params.ts';
import { defineRoute } from '../rest/route.ts';
import { dateTimeQuery, DeletedSchema, id, idParam, listOf, listQuery, textConstraints, timestamp } from '../rest/schemas.ts';
import { DATE_TIME, MAX_JSON_DEPTH, parseDateTime } from '../validation/values.ts';
import { type FieldType, fieldCategories, fieldTypes, MAX_FIELDS, MAX_NAME_LENGTH, MAX_VALUE_BYTES } from './record-fields.ts';
import { MAX_EXTERNAL_ID_LENGTH } from './record.rules.ts';

export const RecordFieldSchema = z
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

const RECORD_FIELDS = `fragment RecordFields on FeedbackRecord {
  id sourceId personId externalId displayTs fields { category type name value } createdAt
}`;

interface RecordNode {
  id: string;
  sourceId: string;
  personId: string | null;
  externalId: string | null;
  displayTs: string;
  fields: z.output<typeof RecordFieldSchema>[];
  createdAt: string;
}

export function toRestRecord(node: RecordNode): z.output<typeof FeedbackRecordSchema> {
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
  `The value's JSON text is at most ${MAX_VALUE_BYTES.toLocaleString('en-US')} bytes of UTF-8 (else FIELD_VALUE_TOO_LARGE), ` +
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
      .meta({ description: 'RFC 3339 with an offset, in years 0001–9999 UTC; defaults to now.', format: 'date-time', pattern: DATE_TIME.source }),
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

const sourcePath = { id: idParam('The feedback source id.') };
const recordPath = { ...sourcePath, record_id: idParam('The record id.') };
const tag = 'Feedback records';
const toIso = (value: string | undefined) => (value === undefined ? undefined : parseDateTime(value)?.toISOString());

export const recordRoutes = [
  defineRoute({
    method: 'POST',
    path: '/feedback-sources/{id}/records',
    operationId: 'ingestRecord',
    summary: 'Ingest one feedback record',
    description:
      'Stores one piece of feedback in the source: typed fields, optionally the person who gave it, when (display_ts, default now) ' +
      'and your own external_id, which is unique in the source.',
    tag,
    scope: 'records:write',
    params: sourcePath,
    body: IngestRecordBody,
    document: operation(`mutation ($sourceId: ID!, $input: IngestRecordInput!) {
      ingestRecord(sourceId: $sourceId, input: $input) { __typename ...ErrorFields ... on IngestRecordSuccess { record { ...RecordFields } } }
    } ${RECORD_FIELDS}`),
    variables: ({ params, body }) => ({ sourceId: params.id, input: camelCaseKeys(body) }),
    paramNames: { sourceId: 'id' },
    respond: (data: { ingestRecord: { record: RecordNode } }) => ({ status: 201, body: toRestRecord(data.ingestRecord.record) }),
    responses: { 201: { description: 'The ingested record.', schema: FeedbackRecordSchema } },
    errors: ['FIELD_VALUE_TOO_LARGE', 'FEEDBACK_SOURCE_NOT_FOUND', 'PERSON_NOT_FOUND', 'DUPLICATE_EXTERNAL_ID'],
  }),
  defineRoute({
    method: 'GET',
    path: '/feedback-sources/{id}/records',
    operationId: 'listRecords',
    summary: 'List a source\'s records, newest display_ts first',
    description: 'Lists the records of one source, newest display_ts first, a page at a time; optionally only one person\'s, or only those in a time range.',
    tag,
    scope: 'records:read',
    params: sourcePath,
    query: {
      ...listQuery,
      person_id: idParam('Only records of this person.').optional(),
      since: dateTimeQuery('Only records with display_ts at or after this instant.').optional(),
      until: dateTimeQuery('Only records with display_ts before this instant.').optional(),
    },
    document: operation(`query ($sourceId: ID, $personId: ID, $since: DateTime, $until: DateTime, $first: Int, $after: String) {
      records(sourceId: $sourceId, personId: $personId, since: $since, until: $until, first: $first, after: $after) {
        edges { node { ...RecordFields } } pageInfo { hasNextPage endCursor }
      }
    } ${RECORD_FIELDS}`),
    variables: ({ params, query }) => ({ ...pageVariables(query), sourceId: params.id, personId: query.person_id, since: toIso(query.since), until: toIso(query.until) }),
    paramNames: { sourceId: 'id' },
    respond: (data: { records: ConnectionData<RecordNode> }) => ({ status: 200, body: toPage(data.records, toRestRecord) }),
    responses: { 200: { description: 'A page of records.', schema: listOf(FeedbackRecordSchema, 'FeedbackRecordList') } },
    errors: ['INVALID_CURSOR', 'FEEDBACK_SOURCE_NOT_FOUND', 'PERSON_NOT_FOUND'],
  }),
  defineRoute({
    method: 'GET',
    path: '/feedback-sources/{id}/records/{record_id}',
    operationId: 'getRecord',
    summary: 'Get a record',
    description: 'Returns one record of the source with its fields. A record of another source is RECORD_NOT_FOUND.',
    tag,
    scope: 'records:read',
    params: recordPath,
    document: operation(`query ($id: ID!, $sourceId: ID) { record(id: $id, sourceId: $sourceId) { ...RecordFields } } ${RECORD_FIELDS}`),
    variables: ({ params }) => ({ id: params.record_id, sourceId: params.id }),
    paramNames: { id: 'record_id', sourceId: 'id' },
    respond: (data: { record: RecordNode }) => ({ status: 200, body: toRestRecord(data.record) }),
    responses: { 200: { description: 'The record.', schema: FeedbackRecordSchema } },
    errors: ['FEEDBACK_SOURCE_NOT_FOUND', 'RECORD_NOT_FOUND'],
  }),
  defineRoute({
    method: 'DELETE',
    path: '/feedback-sources/{id}/records/{record_id}',
    operationId: 'deleteRecord',
    summary: 'Delete a record',
    description: 'Deletes one record of the source.',
    tag,
    scope: 'records:write',
    params: recordPath,
    document: operation(`mutation ($id: ID!, $sourceId: ID) { deleteRecord(id: $id, sourceId: $sourceId) { __typename ...ErrorFields ... on DeleteRecordSuccess { id } } }`),
    variables: ({ params }) => ({ id: params.record_id, sourceId: params.id }),
    paramNames: { id: 'record_id', sourceId: 'id' },
    respond: (data: { deleteRecord: { id: string } }) => ({ status: 200, body: { id: Number(data.deleteRecord.id), deleted: true } }),
    responses: { 200: { description: 'The record is deleted.', schema: DeletedSchema } },
    errors: ['FEEDBACK_SOURCE_NOT_FOUND', 'RECORD_NOT_FOUND'],
  }),
];
