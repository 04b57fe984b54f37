import { z } from 'zod';
import { operation } from '../rest/operation.ts';
import { type ConnectionData, pageVariables, toPage } from '../rest/params.ts';
import { defineRoute } from '../rest/route.ts';
import { booleanQuery, DeletedSchema, id, idParam, listOf, listQuery, timestamp } from '../rest/schemas.ts';

export const FeedbackSourceSchema = z
  .object({
    id,
    name: z.string(),
    type: z.string(),
    description: z.string().nullable(),
    record_count: z.int().min(0),
    created_at: timestamp,
    updated_at: timestamp,
  })
  .meta({ id: 'FeedbackSource', description: 'Where feedback comes from.' });

const SOURCE_FIELDS = 'fragment SourceFields on FeedbackSource { id name type description recordCount createdAt updatedAt }';

interface SourceNode {
  id: string;
  name: string;
  type: string;
  description: string | null;
  recordCount: number;
  createdAt: string;
  updatedAt: string;
}

export function toRestSource(node: SourceNode): z.output<typeof FeedbackSourceSchema> {
  return { id: Number(node.id), name: node.name, type: node.type, description: node.description, record_count: node.recordCount, created_at: node.createdAt, updated_at: node.updatedAt };
}

const name = z.string().meta({ description: '1–255 characters, unique in the organization.', example: 'Zendesk Support Tickets' });
const type = z.string().meta({ description: '1–64 characters of a-z, 0-9 and _.', example: 'support_tickets' });
const description = z.string().nullable().meta({ description: 'Up to 2,000 characters.' });

const CreateSourceBody = z.strictObject({ name, type: type.optional().meta({ default: 'api' }), description: description.optional() }).meta({ id: 'FeedbackSourceCreate' });
const UpdateSourceBody = z.strictObject({ name: name.optional(), type: type.optional(), description: description.optional() }).meta({ id: 'FeedbackSourceUpdate' });

const sourceId = { id: idParam('The feedback source id.') };
const tag = 'Feedback sources';

export const sourceRoutes = [
  defineRoute({
    method: 'POST',
    path: '/feedback-sources',
    operationId: 'createFeedbackSource',
    summary: 'Create a feedback source',
    tag,
    body: CreateSourceBody,
    document: operation(`mutation ($input: FeedbackSourceInput!) {
      createFeedbackSource(input: $input) { __typename ...ErrorFields ... on CreateFeedbackSourceSuccess { feedbackSource { ...SourceFields } } }
    } ${SOURCE_FIELDS}`),
    variables: ({ body }) => ({ input: body }),
    respond: (data: { createFeedbackSource: { feedbackSource: SourceNode } }) => ({ status: 201, body: toRestSource(data.createFeedbackSource.feedbackSource) }),
    responses: { 201: { description: 'The created source.', schema: FeedbackSourceSchema } },
    errors: ['VALIDATION_FAILED', 'INVALID_FIELD_VALUE', 'FEEDBACK_SOURCE_NAME_TAKEN'],
  }),
  defineRoute({
    method: 'GET',
    path: '/feedback-sources',
    operationId: 'listFeedbackSources',
    summary: 'List feedback sources, newest first',
    tag,
    query: { ...listQuery, name: z.string().optional().meta({ description: 'Only the source with exactly this name.' }) },
    document: operation(`query ($first: Int, $after: String, $name: String) {
      feedbackSources(first: $first, after: $after, name: $name) { edges { node { ...SourceFields } } pageInfo { hasNextPage endCursor } }
    } ${SOURCE_FIELDS}`),
    variables: ({ query }) => ({ ...pageVariables(query), name: query.name }),
    respond: (data: { feedbackSources: ConnectionData<SourceNode> }) => ({ status: 200, body: toPage(data.feedbackSources, toRestSource) }),
    responses: { 200: { description: 'A page of sources.', schema: listOf(FeedbackSourceSchema, 'FeedbackSourceList') } },
    errors: ['INVALID_FIELD_VALUE', 'INVALID_CURSOR'],
  }),
  defineRoute({
    method: 'GET',
    path: '/feedback-sources/{id}',
    operationId: 'getFeedbackSource',
    summary: 'Get a feedback source',
    tag,
    params: sourceId,
    document: operation(`query ($id: ID!) { feedbackSource(id: $id) { ...SourceFields } } ${SOURCE_FIELDS}`),
    variables: ({ params }) => ({ id: params.id }),
    respond: (data: { feedbackSource: SourceNode }) => ({ status: 200, body: toRestSource(data.feedbackSource) }),
    responses: { 200: { description: 'The source.', schema: FeedbackSourceSchema } },
    errors: ['INVALID_ID', 'FEEDBACK_SOURCE_NOT_FOUND'],
  }),
  defineRoute({
    method: 'PATCH',
    path: '/feedback-sources/{id}',
    operationId: 'updateFeedbackSource',
    summary: 'Update a feedback source; absent keys keep their value',
    tag,
    params: sourceId,
    body: UpdateSourceBody,
    document: operation(`mutation ($id: ID!, $input: FeedbackSourceInput!) {
      updateFeedbackSource(id: $id, input: $input) { __typename ...ErrorFields ... on UpdateFeedbackSourceSuccess { feedbackSource { ...SourceFields } } }
    } ${SOURCE_FIELDS}`),
    variables: ({ params, body }) => ({ id: params.id, input: body }),
    respond: (data: { updateFeedbackSource: { feedbackSource: SourceNode } }) => ({ status: 200, body: toRestSource(data.updateFeedbackSource.feedbackSource) }),
    responses: { 200: { description: 'The updated source.', schema: FeedbackSourceSchema } },
    errors: ['VALIDATION_FAILED', 'INVALID_FIELD_VALUE', 'INVALID_ID', 'FEEDBACK_SOURCE_NOT_FOUND', 'FEEDBACK_SOURCE_NAME_TAKEN'],
  }),
  defineRoute({
    method: 'DELETE',
    path: '/feedback-sources/{id}',
    operationId: 'deleteFeedbackSource',
    summary: 'Delete a feedback source (with ?cascade=true, also its records)',
    tag,
    params: sourceId,
    query: { cascade: booleanQuery('Also delete the source\'s records.') },
    document: operation(`mutation ($id: ID!, $cascade: Boolean) {
      deleteFeedbackSource(id: $id, cascade: $cascade) { __typename ...ErrorFields ... on DeleteFeedbackSourceSuccess { id } }
    }`),
    variables: ({ params, query }) => ({ id: params.id, cascade: query.cascade === 'true' }),
    respond: (data: { deleteFeedbackSource: { id: string } }) => ({ status: 200, body: { id: Number(data.deleteFeedbackSource.id), deleted: true } }),
    responses: { 200: { description: 'The source is deleted.', schema: DeletedSchema } },
    errors: ['INVALID_ID', 'FEEDBACK_SOURCE_NOT_FOUND', 'FEEDBACK_SOURCE_NOT_EMPTY'],
  }),
];
