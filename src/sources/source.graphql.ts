import { ConflictError, NotFoundError, PermissionError, ValidationError } from '../errors/api-error.ts';
import { builder } from '../graphql/builder.ts';
import { authenticate, authorize } from '../graphql/context.ts';
import { parseId, parseTextFilter } from '../graphql/ids.ts';
import { mutate } from '../graphql/mutation.ts';
import { implementNode } from '../graphql/node.ts';
import { pageArgs, totalCountField } from '../graphql/connections.ts';
import { readPage, toConnection } from '../graphql/pagination.ts';
import { DeleteSuccess, deleteSuccessType } from '../graphql/payloads.ts';
import { countRecordsBySources, countSources, FeedbackSourceView, findSourceOrFail, findSourcesByIds, listSources, sourceKeyset } from './source.queries.ts';
import { createSource, DEFAULT_SOURCE_TYPE, deleteSource, MAX_DESCRIPTION_LENGTH, MAX_SOURCE_NAME_LENGTH, MAX_SOURCE_TYPE_LENGTH, updateSource } from './source.rules.ts';
import { grouped } from '../http/limits.ts';

export const FeedbackSourceRef = builder.loadableObjectRef<FeedbackSourceView, number>('FeedbackSource', {
  load: async (ids, ctx) => await findSourcesByIds(ctx.em, authorize(ctx, 'sources:read').organizationId, ids),
  toKey: (source) => source.id,
  sort: true,
  cacheResolved: true,
});
implementNode(FeedbackSourceRef, { scope: 'sources:read', loader: FeedbackSourceRef.getDataloader });

FeedbackSourceRef.implement({
  description: 'Where feedback comes from: a survey, a ticketing system, a chat channel.',
  isTypeOf: (value) => value instanceof FeedbackSourceView,
  fields: (t) => ({
    id: t.exposeID('id', { description: 'The source\'s id, the same number as in the REST API.' }),
    name: t.exposeString('name', { description: 'The source\'s name, unique in the organization.' }),
    type: t.exposeString('type', { description: 'Free-form kind, e.g. api, support_tickets, survey, chat.' }),
    description: t.exposeString('description', { nullable: true, description: 'Notes about the source for people, e.g. how it is synced.' }),
    recordCount: t.loadable({
      type: 'Int',
      description: 'How many records the source holds.',
      load: async (ids: number[], ctx) => await countRecordsBySources(ctx.em, authenticate(ctx).organizationId, ids),
      resolve: (source) => source.id,
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the source was created.' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime', description: 'When the source was last changed.' }),
  }),
});

const FeedbackSourceConnection = builder.connectionObject(
  {
    type: FeedbackSourceRef,
    name: 'FeedbackSourceConnection',
    description: 'One page of feedback sources, newest first.',
    edgesField: { description: 'The sources on this page, each with its cursor.' },
    fields: (t) => ({ totalCount: totalCountField(t, 'sources') }),
  },
  { description: 'One feedback source on a page, with its cursor.', nodeField: { description: 'The feedback source.' } },
);

builder.queryFields((t) => ({
  feedbackSources: t.field({
    type: FeedbackSourceConnection,
    nullable: true,
    description: 'The organization\'s feedback sources, newest first. Needs sources:read.',
    args: { name: t.arg.string({ description: 'Only the source with exactly this name.' }), ...pageArgs },
    resolve: async (_root, args, ctx) => {
      const viewer = authorize(ctx, 'sources:read');
      const page = readPage(args, sourceKeyset);
      const filter = { name: parseTextFilter(args.name, 'name') };
      const rows = await listSources(ctx.em, viewer.organizationId, page, filter);
      return toConnection(rows, page, sourceKeyset, () => countSources(ctx.em, viewer.organizationId, filter));
    },
  }),
  feedbackSource: t.field({
    type: FeedbackSourceRef,
    nullable: true,
    description: 'One feedback source by id; null with FEEDBACK_SOURCE_NOT_FOUND when it does not exist. Needs sources:read.',
    args: { id: t.arg.id({ required: true, description: 'The source\'s id.' }) },
    resolve: async (_root, args, ctx) => {
      const viewer = authorize(ctx, 'sources:read');
      return await findSourceOrFail(ctx.em, viewer.organizationId, parseId(args.id, 'id'));
    },
  }),
}));

const FeedbackSourceInput = builder.inputType('FeedbackSourceInput', {
  description: 'A feedback source to create, or the changes to one; omitted fields keep their value.',
  fields: (t) => ({
    name: t.string({ description: `1–${MAX_SOURCE_NAME_LENGTH} characters, not only spaces, unique in the organization. Required when creating.` }),
    type: t.string({ description: `1–${MAX_SOURCE_TYPE_LENGTH} characters of a-z, 0-9 and _, e.g. support_tickets; defaults to "${DEFAULT_SOURCE_TYPE}".` }),
    description: t.string({ description: `Up to ${grouped(MAX_DESCRIPTION_LENGTH)} characters of notes for people; null clears them.` }),
  }),
});

class FeedbackSourceSuccess {
  readonly feedbackSource: FeedbackSourceView;
  constructor(feedbackSource: FeedbackSourceView) {
    this.feedbackSource = feedbackSource;
  }
}

class CreateFeedbackSourceSuccess extends FeedbackSourceSuccess {}
class UpdateFeedbackSourceSuccess extends FeedbackSourceSuccess {}

class DeleteFeedbackSourceSuccess extends DeleteSuccess {}

for (const [Success, name, verb] of [
  [CreateFeedbackSourceSuccess, 'CreateFeedbackSourceSuccess', 'created'],
  [UpdateFeedbackSourceSuccess, 'UpdateFeedbackSourceSuccess', 'updated'],
] as const) {
  builder.objectType(Success, {
    name,
    description: `The feedback source was ${verb}.`,
    isTypeOf: (value) => value instanceof Success,
    fields: (t) => ({
      feedbackSource: t.expose('feedbackSource', { type: FeedbackSourceRef, description: `The source as ${verb}.` }),
    }),
  });
}
deleteSuccessType(DeleteFeedbackSourceSuccess, 'DeleteFeedbackSourceSuccess', 'feedback source');

const CreateFeedbackSourcePayload = builder.errorUnion('CreateFeedbackSourcePayload', {
  description: 'The created source, or why it was not created.',
  types: [CreateFeedbackSourceSuccess, ValidationError, ConflictError, PermissionError],
});
const UpdateFeedbackSourcePayload = builder.errorUnion('UpdateFeedbackSourcePayload', {
  description: 'The updated source, or why it was not updated.',
  types: [UpdateFeedbackSourceSuccess, ValidationError, NotFoundError, ConflictError, PermissionError],
});
const DeleteFeedbackSourcePayload = builder.errorUnion('DeleteFeedbackSourcePayload', {
  description: 'The id of the deleted source, or why it was not deleted.',
  types: [DeleteFeedbackSourceSuccess, ValidationError, NotFoundError, ConflictError, PermissionError],
});

builder.mutationFields((t) => ({
  createFeedbackSource: t.field({
    type: CreateFeedbackSourcePayload,
    description: 'Creates a feedback source. Needs sources:write.',
    args: { input: t.arg({ type: FeedbackSourceInput, required: true, description: 'The new source; name is required.' }) },
    resolve: (_root, { input }, ctx) =>
      mutate(ctx, 'sources:write', async (em, viewer) => new CreateFeedbackSourceSuccess(await createSource(em, viewer.organizationId, input))),
  }),
  updateFeedbackSource: t.field({
    type: UpdateFeedbackSourcePayload,
    description: 'Changes the fields given of a feedback source. Needs sources:write.',
    args: {
      id: t.arg.id({ required: true, description: 'The id of the source to change.' }),
      input: t.arg({ type: FeedbackSourceInput, required: true, description: 'The fields to change; omitted ones keep their value.' }),
    },
    resolve: (_root, { id, input }, ctx) =>
      mutate(ctx, 'sources:write', async (em, viewer) => new UpdateFeedbackSourceSuccess(await updateSource(em, viewer.organizationId, parseId(id, 'id'), input))),
  }),
  deleteFeedbackSource: t.field({
    type: DeleteFeedbackSourcePayload,
    description: 'Deletes a feedback source; one with records is refused with FEEDBACK_SOURCE_NOT_EMPTY unless cascade is true. Needs sources:write.',
    args: {
      id: t.arg.id({ required: true, description: 'The id of the source to delete.' }),
      cascade: t.arg.boolean({ defaultValue: false, description: 'Also delete the source\'s records.' }),
    },
    resolve: (_root, { id, cascade }, ctx) =>
      mutate(ctx, 'sources:write', async (em, viewer) => {
        const sourceId = parseId(id, 'id');
        await deleteSource(em, viewer.organizationId, sourceId, cascade ?? false);
        return new DeleteFeedbackSourceSuccess(sourceId);
      }),
  }),
}));
