import type { EntityManager } from '@mikro-orm/postgresql';
import type { RawBuilder } from 'kysely';
import type { Page } from '../database/keyset.ts';
import { query, readTimestamp, sql } from '../database/sql.ts';
import { NotFoundError } from '../errors/api-error.ts';
import type { WebhookEventType } from './webhook-event-types.ts';
import { noteQueuedMessages } from './outbox-signal.ts';

/** An endpoint's settings once checked (webhook.rules.ts), as they are written. */
export interface CheckedEndpoint {
  url?: string;
  eventTypes?: WebhookEventType[];
  /** null: every source. */
  sourceIds?: number[] | null;
  enabled?: boolean;
}

export function endpointNotFound(id: number, param = 'id'): NotFoundError {
  return new NotFoundError('WEBHOOK_ENDPOINT_NOT_FOUND', { param, message: `No webhook endpoint with id ${id}.` });
}

export function webhookEventNotFound(id: string, param = 'id'): NotFoundError {
  return new NotFoundError('WEBHOOK_EVENT_NOT_FOUND', { param, message: `No webhook event with id ${id}.` });
}

/** What GraphQL's WebhookEndpoint resolves from; the secret is never part of it. */
export class WebhookEndpointView {
  readonly id: number;
  readonly url: string;
  readonly eventTypes: string[];
  readonly sourceIds: number[] | null;
  readonly enabled: boolean;
  readonly consecutiveFailures: number;
  readonly disabledReason: string | null;
  readonly createdAt: Date;
  readonly updatedAt: Date;
  constructor(endpoint: WebhookEndpointView) {
    this.id = endpoint.id;
    this.url = endpoint.url;
    this.eventTypes = endpoint.eventTypes;
    this.sourceIds = endpoint.sourceIds;
    this.enabled = endpoint.enabled;
    this.consecutiveFailures = endpoint.consecutiveFailures;
    this.disabledReason = endpoint.disabledReason;
    this.createdAt = endpoint.createdAt;
    this.updatedAt = endpoint.updatedAt;
  }
}

interface EndpointRow {
  id: string;
  url: string;
  event_types: string[];
  source_ids: string[] | null;
  enabled: boolean;
  consecutive_failures: number;
  disabled_reason: string | null;
  created_at: string;
  updated_at: string;
}

const endpointColumns = sql`"id", "url", "event_types", "source_ids", "enabled", "consecutive_failures", "disabled_reason", "created_at", "updated_at"`;

function toEndpointView(em: EntityManager, row: EndpointRow): WebhookEndpointView {
  return new WebhookEndpointView({
    id: Number(row.id),
    url: row.url,
    eventTypes: row.event_types,
    sourceIds: row.source_ids === null ? null : row.source_ids.map(Number),
    enabled: row.enabled,
    consecutiveFailures: row.consecutive_failures,
    disabledReason: row.disabled_reason,
    createdAt: readTimestamp(em, row.created_at),
    updatedAt: readTimestamp(em, row.updated_at),
  });
}

/** Sources named by a filter that are not the organization's. */
export async function findMissingSources(em: EntityManager, organizationId: number, sourceIds: readonly number[]): Promise<number[]> {
  if (sourceIds.length === 0) return [];
  const rows = await query(
    em,
    sql<{ id: string }>`select u."id" from unnest(${sourceIds}::bigint[]) as u("id")
      where not exists (select 1 from "feedback_source" s where s."id" = u."id" and s."organization_id" = ${organizationId})`,
  );
  return rows.map((row) => Number(row.id));
}

export async function insertEndpoint(
  em: EntityManager,
  organizationId: number,
  endpoint: { url: string; eventTypes: WebhookEventType[]; sourceIds: number[] | null; secret: string },
): Promise<WebhookEndpointView> {
  const [row] = await query(
    em,
    sql<EndpointRow>`insert into "webhook_endpoint" ("organization_id", "url", "event_types", "source_ids", "secret", "enabled", "consecutive_failures", "created_at", "updated_at")
      values (${organizationId}, ${endpoint.url}, ${endpoint.eventTypes}::text[], ${endpoint.sourceIds}::bigint[], ${endpoint.secret}, true, 0, now(), now())
      returning ${endpointColumns}`,
  );
  if (!row) throw new Error('inserting a webhook endpoint returned no row');
  return toEndpointView(em, row);
}

/** Applies the given changes; enabling an endpoint again clears its failure count and makes its waiting messages due. */
export async function updateEndpoint(em: EntityManager, organizationId: number, id: number, changes: CheckedEndpoint): Promise<WebhookEndpointView> {
  const sets = [
    changes.url === undefined ? null : sql`"url" = ${changes.url}`,
    changes.eventTypes === undefined ? null : sql`"event_types" = ${changes.eventTypes}::text[]`,
    changes.sourceIds === undefined ? null : sql`"source_ids" = ${changes.sourceIds}::bigint[]`,
    changes.enabled === undefined ? null : sql`"enabled" = ${changes.enabled}`,
    changes.enabled === true ? sql`"consecutive_failures" = 0, "disabled_reason" = null` : null,
    sql`"updated_at" = now()`,
  ].filter((part) => part !== null);
  const [row] = await query(
    em,
    sql<EndpointRow>`update "webhook_endpoint" set ${sql.join(sets, sql`, `)} where "id" = ${id} and "organization_id" = ${organizationId} returning ${endpointColumns}`,
  );
  if (!row) throw endpointNotFound(id);
  if (changes.enabled === true) noteQueuedMessages();
  return toEndpointView(em, row);
}

export async function rotateEndpointSecret(em: EntityManager, organizationId: number, id: number, secret: string): Promise<WebhookEndpointView> {
  const [row] = await query(
    em,
    sql<EndpointRow>`update "webhook_endpoint" set "secret" = ${secret}, "updated_at" = now() where "id" = ${id} and "organization_id" = ${organizationId} returning ${endpointColumns}`,
  );
  if (!row) throw endpointNotFound(id);
  return toEndpointView(em, row);
}

export async function deleteEndpoint(em: EntityManager, organizationId: number, id: number): Promise<void> {
  const rows = await query(em, sql<{ id: string }>`delete from "webhook_endpoint" where "id" = ${id} and "organization_id" = ${organizationId} returning "id"`);
  if (rows.length === 0) throw endpointNotFound(id);
}

export async function findEndpointOrFail(em: EntityManager, organizationId: number, id: number, param = 'id'): Promise<WebhookEndpointView> {
  const [row] = await query(em, sql<EndpointRow>`select ${endpointColumns} from "webhook_endpoint" where "id" = ${id} and "organization_id" = ${organizationId}`);
  if (!row) throw endpointNotFound(id, param);
  return toEndpointView(em, row);
}

/** Newest first. */
export async function listEndpoints(em: EntityManager, organizationId: number, page: Page<number>): Promise<WebhookEndpointView[]> {
  const rows = await query(
    em,
    sql<EndpointRow>`select ${endpointColumns} from "webhook_endpoint" where "organization_id" = ${organizationId}
      ${page.after === null ? sql`` : sql`and "id" < ${page.after}`} order by "id" desc limit ${page.limit + 1}`,
  );
  return rows.map((row) => toEndpointView(em, row));
}

/** How many endpoints the organization has, for totalCount. */
export async function countEndpoints(em: EntityManager, organizationId: number): Promise<number> {
  const [row] = await query(em, sql<{ count: string }>`select count(*) as "count" from "webhook_endpoint" where "organization_id" = ${organizationId}`);
  return Number(row?.count ?? 0);
}

/** One message of the outbox to one endpoint, with its attempts so far. */
export class WebhookEventView {
  readonly id: string;
  readonly endpointId: number;
  readonly type: string;
  readonly status: string;
  readonly attempts: number;
  readonly nextAttemptAt: Date | null;
  readonly deliveredAt: Date | null;
  readonly createdAt: Date;
  readonly payload: unknown;
  constructor(event: WebhookEventView) {
    this.id = event.id;
    this.endpointId = event.endpointId;
    this.type = event.type;
    this.status = event.status;
    this.attempts = event.attempts;
    this.nextAttemptAt = event.nextAttemptAt;
    this.deliveredAt = event.deliveredAt;
    this.createdAt = event.createdAt;
    this.payload = event.payload;
  }
}

interface EventRow {
  id: string;
  endpoint_id: string;
  type: string;
  status: string;
  attempts: number;
  next_attempt_at: string | null;
  delivered_at: string | null;
  created_at: string;
  payload: unknown;
}

function toEventView(em: EntityManager, row: EventRow): WebhookEventView {
  return new WebhookEventView({
    id: row.id,
    endpointId: Number(row.endpoint_id),
    type: row.type,
    status: row.status,
    attempts: row.attempts,
    nextAttemptAt: row.next_attempt_at === null ? null : readTimestamp(em, row.next_attempt_at),
    deliveredAt: row.delivered_at === null ? null : readTimestamp(em, row.delivered_at),
    createdAt: readTimestamp(em, row.created_at),
    payload: row.payload,
  });
}

const eventColumns = sql`e."id", e."endpoint_id", e."type", e."status", e."attempts", e."next_attempt_at", e."delivered_at", e."created_at", e."payload"`;

/** An endpoint's messages, newest first; the position is (created_at, id) of the last one read. */
export async function listEndpointEvents(em: EntityManager, organizationId: number, endpointId: number, page: Page<{ createdAt: string; id: string }>): Promise<WebhookEventView[]> {
  const rows = await query(
    em,
    sql<EventRow>`select ${eventColumns} from "webhook_event" e where e."endpoint_id" = ${endpointId} and e."organization_id" = ${organizationId}
      ${page.after === null ? sql`` : sql`and (e."created_at", e."id") < (${page.after.createdAt}::timestamptz, ${page.after.id})`}
      order by e."created_at" desc, e."id" desc limit ${page.limit + 1}`,
  );
  return rows.map((row) => toEventView(em, row));
}

/** How many events an endpoint has, for totalCount. */
export async function countEndpointEvents(em: EntityManager, organizationId: number, endpointId: number): Promise<number> {
  const [row] = await query(
    em,
    sql<{ count: string }>`select count(*) as "count" from "webhook_event" e where e."endpoint_id" = ${endpointId} and e."organization_id" = ${organizationId}`,
  );
  return Number(row?.count ?? 0);
}

/** One attempt to deliver a message. */
export interface WebhookAttemptView {
  id: number;
  eventId: string;
  attempt: number;
  status: string;
  responseStatus: number | null;
  latencyMs: number;
  error: string | null;
  createdAt: Date;
}

/** The attempts of the given messages, oldest first, grouped by message in key order. */
export async function findAttemptsByEvents(em: EntityManager, organizationId: number, eventIds: readonly string[]): Promise<WebhookAttemptView[][]> {
  const rows = await query(
    em,
    sql<{ id: string; event_id: string; attempt: number; status: string; response_status: number | null; latency_ms: number; error: string | null; created_at: string }>`
      select "id", "event_id", "attempt", "status", "response_status", "latency_ms", "error", "created_at" from "webhook_delivery"
      where "event_id" = any(${eventIds}::text[]) and "organization_id" = ${organizationId} order by "event_id", "id"`,
  );
  const byEvent = new Map<string, WebhookAttemptView[]>(eventIds.map((id) => [id, []]));
  for (const row of rows) {
    byEvent.get(row.event_id)?.push({
      id: Number(row.id),
      eventId: row.event_id,
      attempt: row.attempt,
      status: row.status,
      responseStatus: row.response_status,
      latencyMs: row.latency_ms,
      error: row.error,
      createdAt: readTimestamp(em, row.created_at),
    });
  }
  return eventIds.map((id) => byEvent.get(id) ?? []);
}

/**
 * Queues a message again for delivery now, with the same id (receivers deduplicate by webhook-id):
 * a failed or delivered message, or a pending one sooner than its backoff.
 */
export async function replayEvent(em: EntityManager, organizationId: number, id: string, endpointId: number | null): Promise<WebhookEventView> {
  const [row] = await query(
    em,
    sql<EventRow>`update "webhook_event" e set "status" = 'pending', "next_attempt_at" = now(), "attempts" = 0, "delivered_at" = null
      where e."id" = ${id} and e."organization_id" = ${organizationId} ${endpointId === null ? sql`` : sql`and e."endpoint_id" = ${endpointId}`}
      returning ${eventColumns}`,
  );
  if (!row) throw webhookEventNotFound(id);
  noteQueuedMessages();
  return toEventView(em, row);
}

/** What an event's outbox rows are made of (see outboxInsert). */
export interface OutboxEvent {
  type: WebhookEventType;
  /** The message's data, as SQL over the rows of `about` when given. */
  data: RawBuilder<unknown>;
  /** The rows the event is about, with their joins (`"deleted" d`): a message per row and endpoint. Absent: one per endpoint. */
  about?: RawBuilder<unknown>;
  /** A record event's source, as SQL: an endpoint with a source filter gets only its sources' record events. */
  sourceId?: RawBuilder<unknown>;
  /** When the event happened, and the message first falls due; now() unless given. */
  createdAt?: RawBuilder<unknown>;
  /** An endpoint not told (the one whose disabling the event is). */
  exceptEndpoint?: number;
}

/**
 * The one statement text that writes the outbox: a message of the event to every enabled endpoint
 * of the organization that wants its type, written by the statement (or in the transaction) of the
 * change it describes. A source filter narrows record events only: other events go to every
 * endpoint subscribed to their type. `data` is evaluated only for the endpoints that want the event.
 */
export function outboxInsert(organizationId: number, event: OutboxEvent): RawBuilder<unknown> {
  const createdAt = event.createdAt ?? sql`now()`;
  const wanted = sql.join(
    [
      sql`w."organization_id" = ${organizationId} and w."enabled" and ${event.type} = any(w."event_types")`,
      ...(event.sourceId === undefined ? [] : [sql`(w."source_ids" is null or ${event.sourceId} = any(w."source_ids"))`]),
      ...(event.exceptEndpoint === undefined ? [] : [sql`w."id" <> ${event.exceptEndpoint}`]),
    ],
    sql` and `,
  );
  return sql`insert into "webhook_event" ("id", "organization_id", "endpoint_id", "type", "payload", "created_at", "next_attempt_at", "status", "attempts")
    select 'msg_' || replace(gen_random_uuid()::text, '-', ''), ${organizationId}, w."id", ${event.type}, ${event.data}, ${createdAt}, ${createdAt}, 'pending', 0
    from ${event.about === undefined ? sql`"webhook_endpoint" w where ${wanted}` : sql`${event.about} join "webhook_endpoint" w on ${wanted}`}`;
}

/** An instant as the REST API writes it (RFC 3339, UTC, milliseconds), in SQL. */
export const restInstant = (column: RawBuilder<unknown>) => sql`to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
