import { NotFoundError, PermissionError, ValidationError } from '../errors/api-error.ts';
import { byId, type Keyset } from '../database/keyset.ts';
import { builder } from '../graphql/builder.ts';
import { pageArgs, totalCountField } from '../graphql/connections.ts';
import { authenticate, authorize, type Context } from '../graphql/context.ts';
import { parseId, parseOptionalId } from '../graphql/ids.ts';
import { mutate } from '../graphql/mutation.ts';
import { readPage, toConnection } from '../graphql/pagination.ts';
import { DeleteSuccess, deleteSuccessType } from '../graphql/payloads.ts';
import {
  findAttemptsByEvents,
  findEndpointOrFail,
  countEndpointEvents,
  countEndpoints,
  listEndpointEvents,
  deleteEndpoint,
  listEndpoints,
  replayEvent,
  type WebhookAttemptView,
  WebhookEndpointView,
  WebhookEventView,
} from './webhook.queries.ts';
import {
  createEndpoint,
  MAX_ATTEMPTS,
  MAX_CONSECUTIVE_FAILURES,
  MAX_SOURCE_FILTER,
  MAX_URL_LENGTH,
  rotateSecret,
  type UrlPolicy,
  updateWebhookEndpoint,
} from './webhook.rules.ts';
import { webhookEventTypes } from './webhook-event-types.ts';

const urlPolicy = (ctx: Context): UrlPolicy => ({ allowPrivate: ctx.allowPrivateWebhookUrls, hosts: ctx.ahead?.webhookHosts });

const eventKeyset: Keyset<WebhookEventView, { createdAt: string; id: string }> = {
  keyOf: (event) => [event.createdAt.toISOString(), event.id],
  positionOf: (key) => {
    const [createdAt, id] = key;
    const valid = key.length === 2 && typeof createdAt === 'string' && !Number.isNaN(Date.parse(createdAt)) && typeof id === 'string';
    return valid ? { createdAt, id } : null;
  },
};

const WebhookAttemptRef = builder.objectRef<WebhookAttemptView>('WebhookDeliveryAttempt').implement({
  description: 'One attempt to deliver a webhook event to its endpoint.',
  fields: (t) => ({
    attempt: t.exposeInt('attempt', { description: 'Which attempt this was, from 1.' }),
    status: t.exposeString('status', { description: 'succeeded (the receiver answered 2xx) or failed.' }),
    responseStatus: t.exposeInt('responseStatus', { nullable: true, description: 'The HTTP status the receiver answered; null when it did not answer.' }),
    latencyMs: t.exposeInt('latencyMs', { description: 'How long the attempt took, in milliseconds.' }),
    error: t.exposeString('error', { nullable: true, description: 'Why it failed: the status, a timeout, a refused connection or a refused address.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the attempt ended.' }),
  }),
});

export const WebhookEventRef = builder.objectRef<WebhookEventView>('WebhookEvent').implement({
  description: 'One event for one endpoint, delivered at least once; its id is the webhook-id header of every attempt.',
  isTypeOf: (value) => value instanceof WebhookEventView,
  fields: (t) => ({
    id: t.exposeString('id', { description: 'The event\'s id (msg_…), sent as webhook-id; the same on every attempt and replay.' }),
    endpointId: t.exposeID('endpointId', { description: 'The endpoint it is for.' }),
    type: t.exposeString('type', { description: `The event type, one of ${webhookEventTypes.join(', ')}.` }),
    status: t.exposeString('status', { description: `pending (to be delivered), delivered, or failed (${MAX_ATTEMPTS} attempts failed).` }),
    attempts: t.exposeInt('attempts', { description: 'Attempts made so far.' }),
    nextAttemptAt: t.expose('nextAttemptAt', { type: 'DateTime', nullable: true, description: 'When a pending event is tried next.' }),
    deliveredAt: t.expose('deliveredAt', { type: 'DateTime', nullable: true, description: 'When a receiver acknowledged it.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the event happened.' }),
    data: t.field({ type: 'JSON', nullable: true, description: 'The data the delivery body carries.', resolve: (event) => event.payload }),
    deliveryAttempts: t.loadableList({
      type: WebhookAttemptRef,
      description: 'Every attempt so far, oldest first.',
      // Async, so that a refusal rejects with its own error: DataLoader replaces an error thrown
      // synchronously by its batch function with a TypeError, which every API answers as a 500.
      load: async (ids: string[], ctx) => await findAttemptsByEvents(ctx.em, authenticate(ctx).organizationId, ids),
      resolve: (event) => event.id,
    }),
  }),
});

const WebhookEventConnection = builder.connectionObject(
  {
    type: WebhookEventRef,
    name: 'WebhookEventConnection',
    description: 'One page of an endpoint\'s events, newest first.',
    edgesField: { description: 'The events on this page.' },
    fields: (t) => ({ totalCount: totalCountField(t, 'events') }),
  },
  { description: 'One webhook event on a page, with its cursor.', nodeField: { description: 'The event.' } },
);

export const WebhookEndpointRef = builder.objectRef<WebhookEndpointView>('WebhookEndpoint').implement({
  description: 'Where the organization\'s events are delivered, signed with the endpoint\'s secret (shown only when created or rotated).',
  isTypeOf: (value) => value instanceof WebhookEndpointView,
  fields: (t) => ({
    id: t.exposeID('id', { description: 'The endpoint\'s id, the same number as in the REST API.' }),
    url: t.exposeString('url', { description: 'The https URL events are POSTed to.' }),
    eventTypes: t.exposeStringList('eventTypes', { description: 'The event types delivered to it.' }),
    sourceIds: t.expose('sourceIds', { type: ['ID'], nullable: true, description: 'Only record events of these sources; null for every source.' }),
    enabled: t.exposeBoolean('enabled', { description: `Whether events are delivered; the gateway disables an endpoint after ${MAX_CONSECUTIVE_FAILURES} failed attempts in a row.` }),
    consecutiveFailures: t.exposeInt('consecutiveFailures', { description: 'Failed attempts since the last success.' }),
    disabledReason: t.exposeString('disabledReason', { nullable: true, description: 'Why the gateway disabled it, if it did.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the endpoint was created.' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime', description: 'When the endpoint was last changed.' }),
    events: t.field({
      type: WebhookEventConnection,
      nullable: true,
      description: 'The events for this endpoint with their delivery attempts, newest first. Needs webhooks:read.',
      args: { ...pageArgs },
      resolve: async (endpoint, args, ctx) => {
        const viewer = authorize(ctx, 'webhooks:read');
        const page = readPage(args, eventKeyset);
        const rows = await listEndpointEvents(ctx.em, viewer.organizationId, endpoint.id, page);
        return toConnection(rows, page, eventKeyset, () => countEndpointEvents(ctx.em, viewer.organizationId, endpoint.id));
      },
    }),
  }),
});

const WebhookEndpointConnection = builder.connectionObject(
  {
    type: WebhookEndpointRef,
    name: 'WebhookEndpointConnection',
    description: 'One page of webhook endpoints, newest first.',
    edgesField: { description: 'The endpoints on this page.' },
    fields: (t) => ({ totalCount: totalCountField(t, 'endpoints') }),
  },
  { description: 'One webhook endpoint on a page, with its cursor.', nodeField: { description: 'The endpoint.' } },
);

builder.queryFields((t) => ({
  webhookEndpoints: t.field({
    type: WebhookEndpointConnection,
    nullable: true,
    description: 'The organization\'s webhook endpoints, newest first. Needs webhooks:read.',
    args: { ...pageArgs },
    resolve: async (_root, args, ctx) => {
      const viewer = authorize(ctx, 'webhooks:read');
      const page = readPage(args, byId);
      return toConnection<WebhookEndpointView, number>(await listEndpoints(ctx.em, viewer.organizationId, page), page, byId, () => countEndpoints(ctx.em, viewer.organizationId));
    },
  }),
  webhookEndpoint: t.field({
    type: WebhookEndpointRef,
    nullable: true,
    description: 'One webhook endpoint by id; null with WEBHOOK_ENDPOINT_NOT_FOUND when it does not exist. Needs webhooks:read.',
    args: { id: t.arg.id({ required: true, description: 'The endpoint\'s id.' }) },
    resolve: async (_root, args, ctx) => await findEndpointOrFail(ctx.em, authorize(ctx, 'webhooks:read').organizationId, parseId(args.id, 'id')),
  }),
}));

const WebhookEndpointInput = builder.inputType('WebhookEndpointInput', {
  description: 'A webhook endpoint to create, or the changes to one; omitted fields keep their value.',
  fields: (t) => ({
    url: t.string({ description: `An https URL of at most ${MAX_URL_LENGTH} characters whose host resolves only to public addresses. Required when creating.` }),
    eventTypes: t.stringList({ description: `One or more of ${webhookEventTypes.join(', ')}. Required when creating.` }),
    sourceIds: t.idList({ description: `Only record events of these sources (1 to ${MAX_SOURCE_FILTER}); null for every source.` }),
    enabled: t.boolean({ description: 'false pauses deliveries (events still queue); true resumes them and clears the failure count.' }),
  }),
});

class UpdateWebhookEndpointSuccess {
  readonly endpoint: WebhookEndpointView;
  constructor(endpoint: WebhookEndpointView) {
    this.endpoint = endpoint;
  }
}
/** An endpoint with its secret, which only the mutation that made the secret answers. */
class WebhookEndpointWithSecret {
  readonly endpoint: WebhookEndpointView;
  readonly secret: string;
  constructor(endpoint: WebhookEndpointView, secret: string) {
    this.endpoint = endpoint;
    this.secret = secret;
  }
}
class CreateWebhookEndpointSuccess extends WebhookEndpointWithSecret {}
class RotateWebhookEndpointSecretSuccess extends WebhookEndpointWithSecret {}
class DeleteWebhookEndpointSuccess extends DeleteSuccess {}

function endpointWithSecretType(
  Success: new (endpoint: WebhookEndpointView, secret: string) => WebhookEndpointWithSecret,
  name: string,
  descriptions: { type: string; endpoint: string; secret: string },
) {
  return builder.objectType(Success, {
    name,
    description: descriptions.type,
    isTypeOf: (value) => value instanceof Success,
    fields: (t) => ({
      webhookEndpoint: t.field({ type: WebhookEndpointRef, description: descriptions.endpoint, resolve: (result) => result.endpoint }),
      secret: t.exposeString('secret', { description: descriptions.secret }),
    }),
  });
}

endpointWithSecretType(CreateWebhookEndpointSuccess, 'CreateWebhookEndpointSuccess', {
  type: 'The endpoint was created; keep its secret, it is not shown again.',
  endpoint: 'The endpoint as created.',
  secret: 'The signing secret (whsec_ and base64), shown only now.',
});
endpointWithSecretType(RotateWebhookEndpointSecretSuccess, 'RotateWebhookEndpointSecretSuccess', {
  type: 'The endpoint has a new secret; deliveries from now on are signed with it.',
  endpoint: 'The endpoint.',
  secret: 'The new signing secret, shown only now.',
});
builder.objectType(UpdateWebhookEndpointSuccess, {
  name: 'UpdateWebhookEndpointSuccess',
  description: 'The endpoint was updated.',
  isTypeOf: (value) => value instanceof UpdateWebhookEndpointSuccess,
  fields: (t) => ({ webhookEndpoint: t.field({ type: WebhookEndpointRef, description: 'The endpoint as updated.', resolve: (result) => result.endpoint }) }),
});
deleteSuccessType(DeleteWebhookEndpointSuccess, 'DeleteWebhookEndpointSuccess', 'webhook endpoint');

class ReplayWebhookEventSuccess {
  readonly event: WebhookEventView;
  constructor(event: WebhookEventView) {
    this.event = event;
  }
}
builder.objectType(ReplayWebhookEventSuccess, {
  name: 'ReplayWebhookEventSuccess',
  description: 'The event is queued for delivery now, with the same id.',
  isTypeOf: (value) => value instanceof ReplayWebhookEventSuccess,
  fields: (t) => ({ webhookEvent: t.field({ type: WebhookEventRef, description: 'The event, pending again.', resolve: (result) => result.event }) }),
});

const CreateWebhookEndpointPayload = builder.errorUnion('CreateWebhookEndpointPayload', {
  description: 'The created endpoint and its secret, or why it was not created.',
  types: [CreateWebhookEndpointSuccess, ValidationError, NotFoundError, PermissionError],
});
const UpdateWebhookEndpointPayload = builder.errorUnion('UpdateWebhookEndpointPayload', {
  description: 'The updated endpoint, or why it was not updated.',
  types: [UpdateWebhookEndpointSuccess, ValidationError, NotFoundError, PermissionError],
});
const RotateWebhookEndpointSecretPayload = builder.errorUnion('RotateWebhookEndpointSecretPayload', {
  description: 'The endpoint and its new secret, or why the secret was not rotated.',
  types: [RotateWebhookEndpointSecretSuccess, ValidationError, NotFoundError, PermissionError],
});
const DeleteWebhookEndpointPayload = builder.errorUnion('DeleteWebhookEndpointPayload', {
  description: 'The id of the deleted endpoint, or why it was not deleted.',
  types: [DeleteWebhookEndpointSuccess, ValidationError, NotFoundError, PermissionError],
});
const ReplayWebhookEventPayload = builder.errorUnion('ReplayWebhookEventPayload', {
  description: 'The event queued again, or why it was not.',
  types: [ReplayWebhookEventSuccess, ValidationError, NotFoundError, PermissionError],
});

builder.mutationFields((t) => ({
  createWebhookEndpoint: t.field({
    type: CreateWebhookEndpointPayload,
    description: 'Creates a webhook endpoint and answers its signing secret, once. Needs webhooks:write.',
    args: { input: t.arg({ type: WebhookEndpointInput, required: true, description: 'The endpoint; url and eventTypes are required.' }) },
    resolve: (_root, { input }, ctx) =>
      mutate(ctx, 'webhooks:write', async (em, viewer) => {
        const { endpoint, secret } = await createEndpoint(em, viewer.organizationId, input, urlPolicy(ctx));
        return new CreateWebhookEndpointSuccess(endpoint, secret);
      }, { oneStatement: true }),
  }),
  updateWebhookEndpoint: t.field({
    type: UpdateWebhookEndpointPayload,
    description: 'Changes the fields given of a webhook endpoint. Needs webhooks:write.',
    args: {
      id: t.arg.id({ required: true, description: 'The endpoint\'s id.' }),
      input: t.arg({ type: WebhookEndpointInput, required: true, description: 'The fields to change.' }),
    },
    resolve: (_root, { id, input }, ctx) =>
      mutate(ctx, 'webhooks:write', async (em, viewer) => new UpdateWebhookEndpointSuccess(await updateWebhookEndpoint(em, viewer.organizationId, parseId(id, 'id'), input, urlPolicy(ctx))), {
        oneStatement: true,
      }),
  }),
  rotateWebhookEndpointSecret: t.field({
    type: RotateWebhookEndpointSecretPayload,
    description: 'Gives the endpoint a new signing secret and answers it, once; the old one stops signing at once. Needs webhooks:write.',
    args: { id: t.arg.id({ required: true, description: 'The endpoint\'s id.' }) },
    resolve: (_root, { id }, ctx) =>
      mutate(ctx, 'webhooks:write', async (em, viewer) => {
        const { endpoint, secret } = await rotateSecret(em, viewer.organizationId, parseId(id, 'id'));
        return new RotateWebhookEndpointSecretSuccess(endpoint, secret);
      }, { oneStatement: true }),
  }),
  deleteWebhookEndpoint: t.field({
    type: DeleteWebhookEndpointPayload,
    description: 'Deletes a webhook endpoint with its undelivered events. Needs webhooks:write.',
    args: { id: t.arg.id({ required: true, description: 'The endpoint\'s id.' }) },
    resolve: (_root, { id }, ctx) =>
      mutate(ctx, 'webhooks:write', async (em, viewer) => {
        const endpointId = parseId(id, 'id');
        await deleteEndpoint(em, viewer.organizationId, endpointId);
        return new DeleteWebhookEndpointSuccess(endpointId);
      }, { oneStatement: true }),
  }),
  replayWebhookEvent: t.field({
    type: ReplayWebhookEventPayload,
    description: 'Delivers an event again now, with the same id (webhook-id), whatever became of it. Needs webhooks:write.',
    args: {
      id: t.arg.id({ required: true, description: 'The event\'s id (msg_…).' }),
      endpointId: t.arg.id({ description: 'When given, the event must be this endpoint\'s.' }),
    },
    resolve: (_root, args, ctx) =>
      mutate(
        ctx,
        'webhooks:write',
        async (em, viewer) => new ReplayWebhookEventSuccess(await replayEvent(em, viewer.organizationId, String(args.id), parseOptionalId(args.endpointId, 'endpointId'))),
        { oneStatement: true },
      ),
  }),
}));
