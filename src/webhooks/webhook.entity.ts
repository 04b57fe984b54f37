import { defineEntity, p } from '@mikro-orm/core';
import { Organization } from '../organizations/organization.entity.ts';

/** Where an organization wants its events delivered, and which ones. */
const WebhookEndpointSchema = defineEntity({
  name: 'WebhookEndpoint',
  // Serves the newest-first listing of an organization's endpoints and the outbox writes' lookup of its enabled ones.
  indexes: [{ name: 'webhook_endpoint_organization_id_index', properties: ['organization', 'id'] }],
  properties: {
    id: p.bigint('number').primary(),
    organization: () => p.manyToOne(Organization).deleteRule('cascade'),
    url: p.text(),
    eventTypes: p.array().columnType('text[]'),
    /** Only events of these sources; null: every source. */
    sourceIds: p.array().columnType('bigint[]').nullable(),
    /** `whsec_` + base64 of the signing key. */
    secret: p.text(),
    enabled: p.boolean().default(true),
    consecutiveFailures: p.integer().default(0),
    /** Why it was disabled, when the gateway disabled it after failed deliveries. */
    disabledReason: p.text().nullable(),
    createdAt: p.datetime().onCreate(() => new Date()),
    updatedAt: p.datetime().onCreate(() => new Date()).onUpdate(() => new Date()),
  },
});

export class WebhookEndpoint extends WebhookEndpointSchema.class {}
WebhookEndpointSchema.setClass(WebhookEndpoint);

/**
 * The outbox: one message per event and endpoint, written in the statement (or transaction) of the
 * change it describes. Its id is the `webhook-id` of every delivery attempt of the message.
 */
const WebhookEventSchema = defineEntity({
  name: 'WebhookEvent',
  indexes: [
    { name: 'webhook_event_endpoint_id_index', properties: ['endpoint', 'createdAt', 'id'] },
    // The worker's queue: only messages still to deliver, by when they are due.
    { name: 'webhook_event_due_index', expression: 'create index "webhook_event_due_index" on "webhook_event" ("next_attempt_at") where "status" = \'pending\'' },
  ],
  properties: {
    id: p.string().length(40).primary(),
    organization: () => p.manyToOne(Organization).deleteRule('cascade'),
    endpoint: () => p.manyToOne(WebhookEndpoint).deleteRule('cascade'),
    type: p.string().length(64),
    payload: p.json(),
    createdAt: p.datetime(),
    /** pending, delivered, or failed (every attempt failed). */
    status: p.string().length(16).default('pending'),
    attempts: p.integer().default(0),
    nextAttemptAt: p.datetime().nullable(),
    /** A worker is delivering it until then; a worker that died leaves it to the next after that. */
    lockedUntil: p.datetime().nullable(),
    deliveredAt: p.datetime().nullable(),
  },
});

export class WebhookEvent extends WebhookEventSchema.class {}
WebhookEventSchema.setClass(WebhookEvent);

/** One attempt to deliver a message: its outcome, the receiver's status code and how long it took. */
const WebhookDeliverySchema = defineEntity({
  name: 'WebhookDelivery',
  indexes: [
    { name: 'webhook_delivery_event_id_index', properties: ['event', 'id'] },
    { name: 'webhook_delivery_organization_id_index', properties: ['organization', 'id'] },
  ],
  properties: {
    id: p.bigint('number').primary(),
    organization: () => p.manyToOne(Organization).deleteRule('cascade'),
    event: () => p.manyToOne(WebhookEvent).deleteRule('cascade'),
    attempt: p.integer(),
    /** succeeded or failed. */
    status: p.string().length(16),
    responseStatus: p.smallint().nullable(),
    latencyMs: p.integer(),
    error: p.text().nullable(),
    createdAt: p.datetime(),
  },
});

export class WebhookDelivery extends WebhookDeliverySchema.class {}
WebhookDeliverySchema.setClass(WebhookDelivery);

export { WebhookDeliverySchema, WebhookEndpointSchema, WebhookEventSchema };
