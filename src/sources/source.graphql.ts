import { ConflictError, NotFoundError, PermissionError, ValidationError } from '../errors/api-error.ts';
import { builder } from '../graphql/builder.ts';
import { authorize } from '../graphql/context.ts';
import { parseId, parseTextFilter } from '../graphql/ids.ts';
import { mutate } from '../graphql/mutation.ts';
import { readPage, toConnection } from '../graphql/pagination.ts';
import { DeleteSuccess, deleteSuccessType } from '../graphql/payloads.ts';
import { FeedbackSource } from './source.entity.ts';
import { countRecordsBySources, findSourceOrFail, findSourcesByIds, listSources } from './source.queries.ts';
import { createSource, deleteSource, updateSource } from './source.rules.ts';

export const FeedbackSourceRef = builder.loadableObjectRef<FeedbackSource, number>('FeedbackSource', {
  load: (ids, ctx) => findSourcesByIds(ctx.em, authorize(ctx, 'sources:read').organizationId, ids),
  toKey: (source) => source.id,
  sort: true,
  cacheResolved: true,
});

FeedbackSourceRef.implement({
  description: 'Where feedback comes from: a survey, a ticketing system, a chat channel.',
  isTypeOf: (value) => value instanceof FeedbackSource,
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    type: t.exposeString('type', { description: 'Free-form kind, e.g. api, support_tickets, survey, chat.' }),
    description: t.exposeString('description', { nullable: true }),
    recordCount: t.loadable({
      type: 'Int',
      load: (ids: number[], ctx) => countRecordsBySources(ctx.em, ids),
      resolve: (source) => source.id,
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
  }),
});

const FeedbackSourceConnection = builder.connectionObject({ type: FeedbackSourceRef, name: 'FeedbackSourceConnection' });

builder.queryFields((t) => ({
  feedbackSources: t.field({
    type: FeedbackSourceConnection,
    description: 'The organization\'s feedback sources, newest first.',
    args: { name: t.arg.string({ description: 'Only the source with exactly this name.' }), first: t.arg.int(), after: t.arg.string() },
    resolve: async (_root, args, ctx) => {
      const viewer = authorize(ctx, 'sources:read');
      const page = readPage(args, 1);
      const rows = await listSources(ctx.em, viewer.organizationId, page, { name: parseTextFilter(args.name, 'name') });
      return toConnection(rows, page, (source) => [source.id]);
    },
  }),
  feedbackSource: t.field({
    type: FeedbackSourceRef,
    nullable: true,
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_root, args, ctx) => {
      const viewer = authorize(ctx, 'sources:read');
      return await findSourceOrFail(ctx.em, viewer.organizationId, parseId(args.id, 'id'));
    },
  }),
}));

const FeedbackSourceInput = builder.inputType('FeedbackSourceInput', {
  fields: (t) => ({
    name: t.string({ description: '1–255 characters, unique in the organization. Required when creating.' }),
    type: t.string({ description: '1–64 characters of a-z, 0-9 and _; defaults to "api".' }),
    description: t.string({ description: 'Up to 2,000 characters.' }),
  }),
});

class FeedbackSourceSuccess {
  readonly feedbackSource: FeedbackSource;
  constructor(feedbackSource: FeedbackSource) {
    this.feedbackSource = feedbackSource;
  }
}

class CreateFeedbackSourceSuccess extends FeedbackSourceSuccess {}
class UpdateFeedbackSourceSuccess extends FeedbackSourceSuccess {}

class DeleteFeedbackSourceSuccess extends DeleteSuccess {}

for (const [Success, name] of [
  [CreateFeedbackSourceSuccess, 'CreateFeedbackSourceSuccess'],
  [UpdateFeedbackSourceSuccess, 'UpdateFeedbackSourceSuccess'],
] as const) {
  builder.objectType(Success, { name, isTypeOf: (value) => value instanceof Success, fields: (t) => ({ feedbackSource: t.field({ type: FeedbackSourceRef, resolve: (result) => result.feedbackSource }) }) });
}
deleteSuccessType(DeleteFeedbackSourceSuccess, 'DeleteFeedbackSourceSuccess');

const CreateFeedbackSourcePayload = builder.errorUnion('CreateFeedbackSourcePayload', {
  types: [CreateFeedbackSourceSuccess, ValidationError, ConflictError, PermissionError],
});
const UpdateFeedbackSourcePayload = builder.errorUnion('UpdateFeedbackSourcePayload', {
  types: [UpdateFeedbackSourceSuccess, ValidationError, NotFoundError, ConflictError, PermissionError],
});
const DeleteFeedbackSourcePayload = builder.errorUnion('DeleteFeedbackSourcePayload', {
  types: [DeleteFeedbackSourceSuccess, ValidationError, NotFoundError, ConflictError, PermissionError],
});

builder.mutationFields((t) => ({
  createFeedbackSource: t.field({
    type: CreateFeedbackSourcePayload,
    args: { input: t.arg({ type: FeedbackSourceInput, required: true }) },
    resolve: (_root, { input }, ctx) =>
      mutate(ctx, 'sources:write', async (em, viewer) => new CreateFeedbackSourceSuccess(await createSource(em, viewer.organizationId, input))),
  }),
  updateFeedbackSource: t.field({
    type: UpdateFeedbackSourcePayload,
    args: { id: t.arg.id({ required: true }), input: t.arg({ type: FeedbackSourceInput, required: true }) },
    resolve: (_root, { id, input }, ctx) =>
      mutate(ctx, 'sources:write', async (em, viewer) => new UpdateFeedbackSourceSuccess(await updateSource(em, viewer.organizationId, parseId(id, 'id'), input))),
  }),
  deleteFeedbackSource: t.field({
    type: DeleteFeedbackSourcePayload,
    args: {
      id: t.arg.id({ required: true }),
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
