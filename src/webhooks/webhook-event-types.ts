import { domainEventTypes } from '../events/domain-events.ts';

/** What a webhook endpoint may subscribe to: the domain events and more; each is the `type` of the deliveries it gets. */
export const webhookEventTypes = [
  ...domainEventTypes,
  'person.upserted',
  'feedback_source.created',
  'feedback_source.updated',
  'feedback_source.deleted',
  'webhook_endpoint.disabled',
] as const;
export type WebhookEventType = (typeof webhookEventTypes)[number];

export const isEventType = (value: string): value is WebhookEventType => webhookEventTypes.some((type) => type === value);
