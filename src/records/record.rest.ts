import { z } from 'zod';
import { operation } from '../rest/operation.ts';
import { camelCaseKeys, type ConnectionData, pageVariables, toPage } from '../rest/params.ts';
import { defineRoute } from '../rest/route.ts';
import { dateTimeQuery, DeletedSchema, id, idParam, listOf, listQuery, timestamp } from '../rest/schemas.ts';
import { parseDateTime } from '../validation/values.ts';
import { fieldCategories, fieldTypes, MAX_FIELDS, MAX_VALUE_BYTES } from './record-fields.ts';

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

// Only the shape is checked here; the record rules check categories, types and values, so that one
// response lists every failing field.
const IngestRecordBody = z
  .strictObject({
    // Any string passes here so that a bad id is reported together with every other failing field.
    person_id: z
      .union([z.int(), z.string()])
      .nullable()
      .optional()
      .meta({ description: 'The person who gave the feedback.', override: { type: ['integer', 'null'], minimum: 1 } }),
    display_ts: z.string().nullable().optional().meta({ description: 'RFC 3339 with an offset; defaults to now.', format: 'date-time' }),
    external_id: z.string().nullable().optional().meta({ description: 'Your id for the record, unique in the source; 1–255 characters.' }),
    fields: z
      .array(
        z.strictObject({
          category: z.string().meta({ enum: [...fieldCategories] }),
          type: z.string().meta({ enum: [...fieldTypes] }),
          name: z.string().meta({ description: '1–255 characters, unique in the record.' }),
          value: z.unknown().meta({ description: `JSON matching type; at most ${MAX_VALUE_BYTES} bytes of JSON text.` }),
        }),
      )
      .meta({ description: `1 to ${MAX_FIELDS} fields.` }),
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
    tag,
    params: sourcePath,
    body: IngestRecordBody,
    document: operation(`mutation ($sourceId: ID!, $input: IngestRecordInput!) {
      ingestRecord(sourceId: $sourceId, input: $input) { __typename ...ErrorFields ... on IngestRecordSuccess { record { ...RecordFields } } }
    } ${RECORD_FIELDS}`),
    variables: ({ params, body }) => ({ sourceId: params.id, input: camelCaseKeys(body) }),
    paramNames: { sourceId: 'id' },
    respond: (data: { ingestRecord: { record: RecordNode } }) => ({ status: 201, body: toRestRecord(data.ingestRecord.record) }),
    responses: { 201: { description: 'The ingested record.', schema: FeedbackRecordSchema } },
    errors: ['VALIDATION_FAILED', 'INVALID_FIELD_VALUE', 'FIELD_VALUE_TOO_LARGE', 'INVALID_ID', 'FEEDBACK_SOURCE_NOT_FOUND', 'PERSON_NOT_FOUND', 'DUPLICATE_EXTERNAL_ID'],
  }),
  defineRoute({
    method: 'GET',
    path: '/feedback-sources/{id}/records',
    operationId: 'listRecords',
    summary: 'List a source\'s records, newest display_ts first',
    tag,
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
    errors: ['INVALID_FIELD_VALUE', 'INVALID_ID', 'INVALID_CURSOR', 'FEEDBACK_SOURCE_NOT_FOUND', 'PERSON_NOT_FOUND'],
  }),
  defineRoute({
    method: 'GET',
    path: '/feedback-sources/{id}/records/{record_id}',
    operationId: 'getRecord',
    summary: 'Get a record',
    tag,
    params: recordPath,
    document: operation(`query ($id: ID!, $sourceId: ID) { record(id: $id, sourceId: $sourceId) { ...RecordFields } } ${RECORD_FIELDS}`),
    variables: ({ params }) => ({ id: params.record_id, sourceId: params.id }),
    paramNames: { id: 'record_id', sourceId: 'id' },
    respond: (data: { record: RecordNode }) => ({ status: 200, body: toRestRecord(data.record) }),
    responses: { 200: { description: 'The record.', schema: FeedbackRecordSchema } },
    errors: ['INVALID_ID', 'FEEDBACK_SOURCE_NOT_FOUND', 'RECORD_NOT_FOUND'],
  }),
  defineRoute({
    method: 'DELETE',
    path: '/feedback-sources/{id}/records/{record_id}',
    operationId: 'deleteRecord',
    summary: 'Delete a record',
    tag,
    params: recordPath,
    document: operation(`mutation ($id: ID!, $sourceId: ID) { deleteRecord(id: $id, sourceId: $sourceId) { __typename ...ErrorFields ... on DeleteRecordSuccess { id } } }`),
    variables: ({ params }) => ({ id: params.record_id, sourceId: params.id }),
    paramNames: { id: 'record_id', sourceId: 'id' },
    respond: (data: { deleteRecord: { id: string } }) => ({ status: 200, body: { id: Number(data.deleteRecord.id), deleted: true } }),
    responses: { 200: { description: 'The record is deleted.', schema: DeletedSchema } },
    errors: ['INVALID_ID', 'FEEDBACK_SOURCE_NOT_FOUND', 'RECORD_NOT_FOUND'],
  }),
];
