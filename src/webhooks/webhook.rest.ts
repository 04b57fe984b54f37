import { z } from 'zod';
import { graphql, type ResultOf } from '../graphql/typed-document.ts';
import { restResource } from '../rest/resource.ts';
import { NO_BODY, readRoute, restPath, writeRoute } from '../rest/route.ts';
import { id, idParam, listOf, listQuery, textConstraints, timestamp } from '../rest/schemas.ts';
import docs from './webhook.openapi.json' with { type: 'json' };
import { isEventType, webhookEventTypes } from './webhook-event-types.ts';
import { MAX_SOURCE_FILTER, MAX_URL_LENGTH } from './webhook.rules.ts';

export const WebhookEndpointSchema = z
  .object({
    id,
    url: z.string(),
    event_types: z.array(z.enum(webhookEventTypes)),
    source_ids: z.array(id).nullable().meta({ description: 'Only record events of these sources; null for every source.' }),
    enabled: z.boolean(),
    consecutive_failures: z.int().min(0),
    disabled_reason: z.string().nullable(),
    created_at: timestamp,
    updated_at: timestamp,
  })
  .meta({ id: 'WebhookEndpoint', description: 'Where events are delivered; its secret is shown only when it is created or rotated.' });

const WebhookEndpointWithSecretSchema = WebhookEndpointSchema.extend({
  secret: z.string().meta({ description: 'The signing secret: whsec_ and base64. Shown only in this answer.', example: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' }),
}).meta({ id: 'WebhookEndpointWithSecret' });

const EndpointFields = graphql(`fragment EndpointFields on WebhookEndpoint { id url eventTypes sourceIds enabled consecutiveFailures disabledReason createdAt updatedAt }`);

function toRestEndpoint(node: ResultOf<typeof EndpointFields>): z.output<typeof WebhookEndpointSchema> {
  return {
    id: Number(node.id),
    url: node.url,
    event_types: node.eventTypes.filter(isEventType),
    source_ids: node.sourceIds === null ? null : node.sourceIds.map(Number),
    enabled: node.enabled,
    consecutive_failures: node.consecutiveFailures,
    disabled_reason: node.disabledReason,
    created_at: node.createdAt,
    updated_at: node.updatedAt,
  };
}

const WebhookAttemptSchema = z
  .object({
    attempt: z.int().min(1),
    status: z.enum(['succeeded', 'failed']),
    response_status: z.int().nullable().meta({ description: 'The receiver\'s HTTP status; null when it did not answer.' }),
    latency_ms: z.int().min(0),
    error: z.string().nullable(),
    created_at: timestamp,
  })
  .meta({ id: 'WebhookDeliveryAttempt' });

const WebhookEventSchema = z
  .object({
    id: z.string().meta({ description: 'The webhook-id of every attempt, e.g. msg_2f1c….' }),
    type: z.enum(webhookEventTypes),
    status: z.enum(['pending', 'delivered', 'failed']),
    attempts: z.int().min(0),
    next_attempt_at: timestamp.nullable(),
    delivered_at: timestamp.nullable(),
    created_at: timestamp,
    data: z.unknown().meta({ description: 'The data of the delivered body.' }),
    deliveries: z.array(WebhookAttemptSchema).meta({ description: 'Every attempt so far, oldest first.' }),
  })
  .meta({ id: 'WebhookEvent', description: 'One event for one endpoint, with its delivery attempts.' });

const EventFields = graphql(`fragment EventFields on WebhookEvent {
  id type status attempts nextAttemptAt deliveredAt createdAt data
  deliveryAttempts { attempt status responseStatus latencyMs error createdAt }
}`);

function toRestEvent(node: ResultOf<typeof EventFields>): z.output<typeof WebhookEventSchema> {
  const parsed = WebhookEventSchema.pick({ type: true, status: true }).parse({ type: node.type, status: node.status });
  return {
    id: node.id,
    type: parsed.type,
    status: parsed.status,
    attempts: node.attempts,
    next_attempt_at: node.nextAttemptAt,
    delivered_at: node.deliveredAt,
    created_at: node.createdAt,
    data: node.data,
    deliveries: node.deliveryAttempts.map((attempt) => ({
      attempt: attempt.attempt,
      status: attempt.status === 'succeeded' ? 'succeeded' : 'failed',
      response_status: attempt.responseStatus,
      latency_ms: attempt.latencyMs,
      error: attempt.error,
      created_at: attempt.createdAt,
    })),
  };
}

const url = z.string().meta({
  description: `An https URL (at most ${MAX_URL_LENGTH} characters) whose host resolves only to public addresses.`,
  example: 'https://hooks.example.com/feedback',
  format: 'uri',
  ...textConstraints(MAX_URL_LENGTH),
});
const eventTypes = z.array(z.string()).meta({ description: 'The event types to deliver.', minItems: 1, items: { type: 'string', enum: [...webhookEventTypes] }, example: ['feedback_record.created'] });
const sourceIds = z
  .array(z.union([z.int(), z.string()]))
  .nullable()
  .meta({ description: `Only record events of these sources (1 to ${MAX_SOURCE_FILTER}); null or absent for every source.`, minItems: 1, maxItems: MAX_SOURCE_FILTER, override: { type: ['array', 'null'], items: { type: 'integer', minimum: 1 } } });

const CreateEndpointBody = z.strictObject({ url, event_types: eventTypes, source_ids: sourceIds.optional() }).meta({ id: 'WebhookEndpointCreate' });
const UpdateEndpointBody = z
  .strictObject({
    url: url.optional(),
    event_types: eventTypes.optional(),
    source_ids: sourceIds.optional(),
    enabled: z.boolean().optional().meta({ description: 'false pauses deliveries (events still queue); true resumes them and clears the failure count.' }),
  })
  .meta({ id: 'WebhookEndpointUpdate' });

const CreateWebhookEndpoint = graphql(`mutation createWebhookEndpoint($input: WebhookEndpointInput!) {
  createWebhookEndpoint(input: $input) { __typename ... on CreateWebhookEndpointSuccess { secret item: webhookEndpoint { ...EndpointFields } } }
}`, [EndpointFields]);
const ListWebhookEndpoints = graphql(`query listWebhookEndpoints($first: Int, $after: String) {
  webhookEndpoints(first: $first, after: $after) { edges { node { ...EndpointFields } } pageInfo { hasNextPage endCursor } }
}`, [EndpointFields]);
const GetWebhookEndpoint = graphql(`query getWebhookEndpoint($id: ID!) { webhookEndpoint(id: $id) { ...EndpointFields } }`, [EndpointFields]);
const UpdateWebhookEndpoint = graphql(`mutation updateWebhookEndpoint($id: ID!, $input: WebhookEndpointInput!) {
  updateWebhookEndpoint(id: $id, input: $input) { __typename ... on UpdateWebhookEndpointSuccess { item: webhookEndpoint { ...EndpointFields } } }
}`, [EndpointFields]);
const DeleteWebhookEndpoint = graphql(`mutation deleteWebhookEndpoint($id: ID!) {
  deleteWebhookEndpoint(id: $id) { __typename ... on DeleteWebhookEndpointSuccess { id } }
}`);
const RotateWebhookEndpointSecret = graphql(`mutation rotateWebhookEndpointSecret($id: ID!) {
  rotateWebhookEndpointSecret(id: $id) { __typename ... on RotateWebhookEndpointSecretSuccess { secret item: webhookEndpoint { ...EndpointFields } } }
}`, [EndpointFields]);
const ListWebhookEvents = graphql(`query listWebhookEvents($id: ID!, $first: Int, $after: String) {
  webhookEndpoint(id: $id) { events(first: $first, after: $after) { edges { node { ...EventFields } } pageInfo { hasNextPage endCursor } } }
}`, [EventFields]);
const ReplayWebhookEvent = graphql(`mutation replayWebhookEvent($endpointId: ID!, $id: ID!) {
  replayWebhookEvent(endpointId: $endpointId, id: $id) { __typename ... on ReplayWebhookEventSuccess { webhookEvent { ...EventFields } } }
}`, [EventFields]);

type SuccessOf<R, K extends keyof R> = Extract<R[K], { __typename: `${string}Success` }>;
type Created = SuccessOf<ResultOf<typeof CreateWebhookEndpoint>, 'createWebhookEndpoint'>;
type Rotated = SuccessOf<ResultOf<typeof RotateWebhookEndpointSecret>, 'rotateWebhookEndpointSecret'>;
type Replayed = SuccessOf<ResultOf<typeof ReplayWebhookEvent>, 'replayWebhookEvent'>;

const endpointId = { id: idParam('The webhook endpoint id.') };
const replayParams = { ...endpointId, event_id: z.string().meta({ description: 'The event id, msg_…', pattern: '^msg_[0-9a-f]{32}$' }) };
const collection = restPath('/webhooks', {});
const member = restPath('/webhooks/{id}', endpointId);
const errors = ['WEBHOOK_ENDPOINT_NOT_FOUND'] as const;
const scopes = { read: 'webhooks:read', write: 'webhooks:write' } as const;

/** A route of this resource not made by a factory: its prose comes from the same docs file. */
const about = (operationId: keyof typeof docs.operations, scope: 'webhooks:read' | 'webhooks:write') => {
  const text = docs.operations[operationId];
  return { summary: text.summary, description: text.description, tag: docs.tag, scope };
};

export const webhookRoutes = restResource(docs, {
  scopes,
  paths: [collection, member],
  item: [WebhookEndpointSchema, toRestEndpoint],
}).routes((endpoints) => [
  writeRoute({
    ...about('createWebhookEndpoint', scopes.write),
    errors: ['FEEDBACK_SOURCE_NOT_FOUND'],
    method: 'POST',
    path: collection,
    query: {},
    body: CreateEndpointBody,
    document: CreateWebhookEndpoint,
    variables: ({ body }) => ({ input: body }),
    respond: (success: Created) => ({ status: 201, body: { ...toRestEndpoint(success.item), secret: success.secret } }),
    responses: { 201: { description: docs.operations.createWebhookEndpoint.response, schema: WebhookEndpointWithSecretSchema } },
  }),
  endpoints.list({}, ListWebhookEndpoints),
  endpoints.get(GetWebhookEndpoint, [...errors]),
  endpoints.update(UpdateEndpointBody, UpdateWebhookEndpoint, [...errors, 'FEEDBACK_SOURCE_NOT_FOUND']),
  endpoints.delete({}, DeleteWebhookEndpoint, [...errors]),
  writeRoute({
    ...about('rotateWebhookEndpointSecret', scopes.write),
    errors: [...errors],
    method: 'POST',
    path: restPath('/webhooks/{id}/rotate-secret', endpointId),
    query: {},
    body: NO_BODY,
    document: RotateWebhookEndpointSecret,
    variables: ({ params }) => params,
    respond: (success: Rotated) => ({ status: 200, body: { ...toRestEndpoint(success.item), secret: success.secret } }),
    responses: { 200: { description: docs.operations.rotateWebhookEndpointSecret.response, schema: WebhookEndpointWithSecretSchema } },
  }),
  readRoute({
    ...about('listWebhookEvents', scopes.read),
    errors: ['INVALID_CURSOR', ...errors],
    path: restPath('/webhooks/{id}/events', endpointId),
    query: listQuery,
    document: ListWebhookEvents,
    variables: ({ params, query }) => ({ ...params, ...query }),
    respond: (endpoint) => {
      const connection = endpoint.events;
      if (!connection) throw new Error('listWebhookEvents answered no events without an error');
      return {
        status: 200,
        body: { data: connection.edges.map((edge) => toRestEvent(edge.node)), next_cursor: connection.pageInfo.hasNextPage ? connection.pageInfo.endCursor : null },
      };
    },
    responses: { 200: { description: 'A page of the endpoint\'s events.', schema: listOf(WebhookEventSchema, 'WebhookEventList') } },
  }),
  writeRoute({
    ...about('replayWebhookEvent', scopes.write),
    errors: [...errors, 'WEBHOOK_EVENT_NOT_FOUND'],
    method: 'POST',
    path: restPath('/webhooks/{id}/events/{event_id}/replay', replayParams, { id: 'endpointId', event_id: 'id' }),
    query: {},
    body: NO_BODY,
    document: ReplayWebhookEvent,
    variables: ({ params }) => params,
    respond: (success: Replayed) => ({ status: 200, body: toRestEvent(success.webhookEvent) }),
    responses: { 200: { description: docs.operations.replayWebhookEvent.response, schema: WebhookEventSchema } },
  }),
]);

