import { randomUUID } from 'node:crypto';
import type { RecordField } from '../records/record-fields.ts';
import type { FeedbackRecordView } from '../records/record.queries.ts';

/**
 * What happened to an organization's records, as GraphQL subscriptions see it (webhooks read the
 * outbox their write filled, in SQL; their event types start with these). Events are plain JSON (timestamps as RFC 3339 text), so they cross Redis
 * and land in a delivery payload unchanged, and they are only ever published once their write has
 * committed.
 */
interface EventEnvelope<T extends string> {
  /** Unique per event (`evt_` + a UUID): a consumer that sees it twice has seen one event. */
  id: string;
  type: T;
  organizationId: number;
  /** When the write happened, RFC 3339 in UTC. */
  occurredAt: string;
}

/** A feedback record as events carry it: the REST resource's content in GraphQL's names. */
export interface RecordSnapshot {
  id: number;
  sourceId: number;
  personId: number | null;
  externalId: string | null;
  displayTs: string;
  fields: RecordField[];
  createdAt: string;
}

export interface FeedbackRecordCreated extends EventEnvelope<'feedback_record.created'> {
  record: RecordSnapshot;
}

export interface FeedbackRecordDeleted extends EventEnvelope<'feedback_record.deleted'> {
  record: { id: number; sourceId: number };
}

export type DomainEvent = FeedbackRecordCreated | FeedbackRecordDeleted;
export type DomainEventType = DomainEvent['type'];
export type EventOfType<T extends DomainEventType> = Extract<DomainEvent, { type: T }>;

export const domainEventTypes = ['feedback_record.created', 'feedback_record.deleted'] as const satisfies readonly DomainEventType[];

function envelope<T extends DomainEventType>(type: T, organizationId: number): EventEnvelope<T> {
  return { id: `evt_${randomUUID()}`, type, organizationId, occurredAt: new Date().toISOString() };
}

export function recordCreated(organizationId: number, record: FeedbackRecordView): FeedbackRecordCreated {
  const { id, sourceId, personId, externalId, displayTs, fields, createdAt } = record;
  return {
    ...envelope('feedback_record.created', organizationId),
    record: { id, sourceId, personId, externalId, displayTs: displayTs.toISOString(), fields, createdAt: createdAt.toISOString() },
  };
}

export function recordDeleted(organizationId: number, record: { id: number; sourceId: number }): FeedbackRecordDeleted {
  return { ...envelope('feedback_record.deleted', organizationId), record: { id: record.id, sourceId: record.sourceId } };
}
