import { z } from 'zod';
import { graphql, type ResultOf } from '../graphql/typed-document.ts';
import { restResource } from '../rest/resource.ts';
import { restPath } from '../rest/route.ts';
import { booleanQuery, id, idParam, textConstraints, textFilterQuery, timestamp } from '../rest/schemas.ts';
import docs from './source.openapi.json' with { type: 'json' };
import { DEFAULT_SOURCE_TYPE, MAX_DESCRIPTION_LENGTH, MAX_SOURCE_NAME_LENGTH, MAX_SOURCE_TYPE_LENGTH, SOURCE_TYPE } from './source.rules.ts';
import { grouped } from '../http/limits.ts';

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

const SourceFields = graphql(`fragment SourceFields on FeedbackSource { id name type description recordCount createdAt updatedAt }`);

export function toRestSource(node: ResultOf<typeof SourceFields>): z.output<typeof FeedbackSourceSchema> {
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
  .meta({ description: `Up to ${grouped(MAX_DESCRIPTION_LENGTH)} characters, no U+0000 or unpaired surrogates; null clears it.`, ...textConstraints(MAX_DESCRIPTION_LENGTH, { min: 0 }) });

const CreateSourceBody = z.strictObject({ name, type: type.optional().meta({ default: DEFAULT_SOURCE_TYPE }), description: description.optional() }).meta({ id: 'FeedbackSourceCreate' });
const UpdateSourceBody = z.strictObject({ name: name.optional(), type: type.optional(), description: description.optional() }).meta({ id: 'FeedbackSourceUpdate' });


const CreateFeedbackSource = graphql(`mutation createFeedbackSource($input: FeedbackSourceInput!) {
  createFeedbackSource(input: $input) { __typename ... on CreateFeedbackSourceSuccess { item: feedbackSource { ...SourceFields } } }
}`, [SourceFields]);
const ListFeedbackSources = graphql(`query listFeedbackSources($first: Int, $after: String, $name: String) {
  feedbackSources(first: $first, after: $after, name: $name) { edges { node { ...SourceFields } } pageInfo { hasNextPage endCursor } }
}`, [SourceFields]);
const GetFeedbackSource = graphql(`query getFeedbackSource($id: ID!) { feedbackSource(id: $id) { ...SourceFields } }`, [SourceFields]);
const UpdateFeedbackSource = graphql(`mutation updateFeedbackSource($id: ID!, $input: FeedbackSourceInput!) {
  updateFeedbackSource(id: $id, input: $input) { __typename ... on UpdateFeedbackSourceSuccess { item: feedbackSource { ...SourceFields } } }
}`, [SourceFields]);
const DeleteFeedbackSource = graphql(`mutation deleteFeedbackSource($id: ID!, $cascade: Boolean) {
  deleteFeedbackSource(id: $id, cascade: $cascade) { __typename ... on DeleteFeedbackSourceSuccess { id } }
}`);

export const sourceRoutes = restResource(docs, {
  scopes: { read: 'sources:read', write: 'sources:write' },
  paths: [restPath('/feedback-sources', {}), restPath('/feedback-sources/{id}', { id: idParam('The feedback source id.') })],
  item: [FeedbackSourceSchema, toRestSource],
}).routes((sources) => [
  sources.create(CreateSourceBody, CreateFeedbackSource, ['FEEDBACK_SOURCE_NAME_TAKEN']),
  sources.list({ name: textFilterQuery('Only the source with exactly this name.') }, ListFeedbackSources),
  sources.get(GetFeedbackSource, ['FEEDBACK_SOURCE_NOT_FOUND']),
  sources.update(UpdateSourceBody, UpdateFeedbackSource, ['FEEDBACK_SOURCE_NOT_FOUND', 'FEEDBACK_SOURCE_NAME_TAKEN']),
  sources.delete({ cascade: booleanQuery('Also delete the source\'s records.') }, DeleteFeedbackSource, ['FEEDBACK_SOURCE_NOT_FOUND', 'FEEDBACK_SOURCE_NOT_EMPTY']),
]);
