import { z } from 'zod';
import { operation } from '../rest/operation.ts';
import { type ConnectionData, pageVariables, toPage } from '../rest/params.ts';
import { defineRoute } from '../rest/route.ts';
import { booleanQuery, DeletedSchema, id, idParam, listOf, listQuery, textConstraints, textFilterQuery, timestamp } from '../rest/schemas.ts';
import { DEFAULT_SOURCE_TYPE, MAX_DESCRIPTION_LENGTH, MAX_SOURCE_NAME_LENGTH, MAX_SOURCE_TYPE_LENGTH, SOURCE_TYPE } from './source.rules.ts';

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

const name = z.string().meta({
  description: `1–${MAX_SOURCE_NAME_LENGTH} characters, not only spaces, no U+0000 or unpaired surrogates; unique in the organization.`,
  example: 'Zendesk Support Tickets',
  ...textConstraints(MAX_SOURCE_NAME_LENGTH, { blank: false }),
});
const type = z.string().meta({
  description: `1–${MAX_SOURCE_TYPE_LENGTH} characters of a-z, 0-9 and _.`,
  example: 'support_tickets',
  minLength: 1,
  maxLength: MAX_SOURCE_TYPE_LENGTH,
  pattern: SOURCE_TYPE.source,
});
const description = z
  .string()
  .nullable()
  .meta({ description: `Up to ${MAX_DESCRIPTION_LENGTH.toLocaleString('en-US')} characters, no U+0000 or unpaired surrogates; null clears it.`, ...textConstraints(MAX_DESCRIPTION_LENGTH, { min: 0 }) });

const CreateSourceBody = z.strictObject({ name, type: type.optional().meta({ default: DEFAULT_SOURCE_TYPE }), description: description.optional() }).meta({ id: 'FeedbackSourceCreate' });
const UpdateSourceBody = z.strictObject({ name: name.optional(), type: type.optional(), description: description.optional() }).meta({ id: 'FeedbackSourceUpdate' });

const sourceId = { id: idParam('The feedback source id.') };
const tag = 'Feedback sources';

export const sourceRoutes = [
  defineRoute({
    method: 'POST',
    path: '/feedback-sources',
    operationId: 'createFeedbackSource',
    summary: 'Create a feedback source',
    description: 'Creates a source that records can be ingested into. Its name must be unique in the organization; type defaults to api.',
    tag,
    scope: 'sources:write',
    body: CreateSourceBody,
    document: operation(`mutation ($input: FeedbackSourceInput!) {
      createFeedbackSource(input: $input) { __typename ...ErrorFields ... on CreateFeedbackSourceSuccess { feedbackSource { ...SourceFields } } }
    } ${SOURCE_FIELDS}`),
    variables: ({ body }) => ({ input: body }),
    respond: (data: { createFeedbackSource: { feedbackSource: SourceNode } }) => ({ status: 201, body: toRestSource(data.createFeedbackSource.feedbackSource) }),
    responses: { 201: { description: 'The created source.', schema: FeedbackSourceSchema } },
    errors: ['FEEDBACK_SOURCE_NAME_TAKEN'],
  }),
  defineRoute({
    method: 'GET',
    path: '/feedback-sources',
    operationId: 'listFeedbackSources',
    summary: 'List feedback sources, newest first',
    description: 'Lists the organization\'s sources, newest first, a page at a time; with name, only the source of exactly that name.',
    tag,
    scope: 'sources:read',
    query: { ...listQuery, name: textFilterQuery('Only the source with exactly this name.') },
    document: operation(`query ($first: Int, $after: String, $name: String) {
      feedbackSources(first: $first, after: $after, name: $name) { edges { node { ...SourceFields } } pageInfo { hasNextPage endCursor } }
    } ${SOURCE_FIELDS}`),
    variables: ({ query }) => ({ ...pageVariables(query), name: query.name }),
    respond: (data: { feedbackSources: ConnectionData<SourceNode> }) => ({ status: 200, body: toPage(data.feedbackSources, toRestSource) }),
    responses: { 200: { description: 'A page of sources.', schema: listOf(FeedbackSourceSchema, 'FeedbackSourceList') } },
    errors: ['INVALID_CURSOR'],
  }),
  defineRoute({
    method: 'GET',
    path: '/feedback-sources/{id}',
    operationId: 'getFeedbackSource',
    summary: 'Get a feedback source',
    description: 'Returns one source with its record count.',
    tag,
    scope: 'sources:read',
    params: sourceId,
    document: operation(`query ($id: ID!) { feedbackSource(id: $id) { ...SourceFields } } ${SOURCE_FIELDS}`),
    variables: ({ params }) => ({ id: params.id }),
    respond: (data: { feedbackSource: SourceNode }) => ({ status: 200, body: toRestSource(data.feedbackSource) }),
    responses: { 200: { description: 'The source.', schema: FeedbackSourceSchema } },
    errors: ['FEEDBACK_SOURCE_NOT_FOUND'],
  }),
  defineRoute({
    method: 'PATCH',
    path: '/feedback-sources/{id}',
    operationId: 'updateFeedbackSource',
    summary: 'Update a feedback source; absent keys keep their value',
    description: 'Changes the name, type or description of a source. Keys left out keep their value; a null description clears it.',
    tag,
    scope: 'sources:write',
    params: sourceId,
    body: UpdateSourceBody,
    document: operation(`mutation ($id: ID!, $input: FeedbackSourceInput!) {
      updateFeedbackSource(id: $id, input: $input) { __typename ...ErrorFields ... on UpdateFeedbackSourceSuccess { feedbackSource { ...SourceFields } } }
    } ${SOURCE_FIELDS}`),
    variables: ({ params, body }) => ({ id: params.id, input: body }),
    respond: (data: { updateFeedbackSource: { feedbackSource: SourceNode } }) => ({ status: 200, body: toRestSource(data.updateFeedbackSource.feedbackSource) }),
    responses: { 200: { description: 'The updated source.', schema: FeedbackSourceSchema } },
    errors: ['FEEDBACK_SOURCE_NOT_FOUND', 'FEEDBACK_SOURCE_NAME_TAKEN'],
  }),
  defineRoute({
    method: 'DELETE',
    path: '/feedback-sources/{id}',
    operationId: 'deleteFeedbackSource',
    summary: 'Delete a feedback source (with ?cascade=true, also its records)',
    description: 'Deletes a source. While it has records the delete is refused with FEEDBACK_SOURCE_NOT_EMPTY, unless cascade=true deletes them with it.',
    tag,
    scope: 'sources:write',
    params: sourceId,
    query: { cascade: booleanQuery('Also delete the source\'s records.') },
    document: operation(`mutation ($id: ID!, $cascade: Boolean) {
      deleteFeedbackSource(id: $id, cascade: $cascade) { __typename ...ErrorFields ... on DeleteFeedbackSourceSuccess { id } }
    }`),
    variables: ({ params, query }) => ({ id: params.id, cascade: query.cascade === 'true' }),
    respond: (data: { deleteFeedbackSource: { id: string } }) => ({ status: 200, body: { id: Number(data.deleteFeedbackSource.id), deleted: true } }),
    responses: { 200: { description: 'The source is deleted.', schema: DeletedSchema } },
    errors: ['FEEDBACK_SOURCE_NOT_FOUND', 'FEEDBACK_SOURCE_NOT_EMPTY'],
  }),
];
