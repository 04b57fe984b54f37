import type { EntityManager } from '@mikro-orm/postgresql';
import type { RawBuilder } from 'kysely';
import { query, readTimestamp, sql } from '../database/sql.ts';
import { NotFoundError } from '../errors/api-error.ts';
import { byId, type Keyset, type Page } from '../database/keyset.ts';
import { outboxInsert, restInstant } from '../webhooks/webhook.queries.ts';
import { noteQueuedMessages } from '../webhooks/outbox-signal.ts';
import { FeedbackSource } from './source.entity.ts';

export function sourceNotFound(id: number, param = 'id'): NotFoundError {
  return new NotFoundError('FEEDBACK_SOURCE_NOT_FOUND', { param, message: `No feedback source with id ${id}.` });
}

/** What GraphQL's FeedbackSource resolves from: a plain copy of the row, never a managed entity. */
export class FeedbackSourceView {
  readonly id: number;
  readonly name: string;
  readonly type: string;
  readonly description: string | null;
  readonly createdAt: Date;
  readonly updatedAt: Date;
  /** Copies the fields it needs from a row's values or from an entity the unit of work just wrote. */
  constructor(source: Omit<FeedbackSourceView, 'description'> & { description?: string | null }) {
    this.id = source.id;
    this.name = source.name;
    this.type = source.type;
    this.description = source.description ?? null;
    this.createdAt = source.createdAt;
    this.updatedAt = source.updatedAt;
  }
}

export interface SourceRow {
  source_id: string;
  source_name: string;
  source_type: string;
  source_description: string | null;
  source_created_at: string;
  source_updated_at: string;
}

/** A source's columns from the table aliased `s`, named so that they can sit beside a record's. */
export const sourceColumns = sql`s."id" as "source_id", s."name" as "source_name", s."type" as "source_type", s."description" as "source_description",
  s."created_at" as "source_created_at", s."updated_at" as "source_updated_at"`;

export function toSourceView(em: EntityManager, row: SourceRow): FeedbackSourceView {
  return new FeedbackSourceView({
    id: Number(row.source_id),
    name: row.source_name,
    type: row.source_type,
    description: row.source_description,
    createdAt: readTimestamp(em, row.source_created_at),
    updatedAt: readTimestamp(em, row.source_updated_at),
  });
}

export async function findSourceOrFail(em: EntityManager, organizationId: number, id: number, param = 'id'): Promise<FeedbackSourceView> {
  const [row] = await query(em, sql<SourceRow>`select ${sourceColumns} from "feedback_source" s where s."id" = ${id} and s."organization_id" = ${organizationId}`);
  if (!row) throw sourceNotFound(id, param);
  return toSourceView(em, row);
}

/** The managed entity, for the writes that go through the unit of work. */
export async function findSourceEntityOrFail(em: EntityManager, organizationId: number, id: number): Promise<FeedbackSource> {
  const source = await em.findOne(FeedbackSource, { id, organization: organizationId });
  if (!source) throw sourceNotFound(id);
  return source;
}

/** Loader batch: the sources among `ids` that belong to the organization, in any order. */
export async function findSourcesByIds(em: EntityManager, organizationId: number, ids: readonly number[]): Promise<FeedbackSourceView[]> {
  const rows = await query(
    em,
    sql<SourceRow>`select ${sourceColumns} from "feedback_source" s where s."organization_id" = ${organizationId} and s."id" = any(${[...ids]}::bigint[])`,
    { prepared: true },
  );
  return rows.map((row) => toSourceView(em, row));
}

/** Sources are listed newest first by id. */
export const sourceKeyset: Keyset<FeedbackSourceView, number> = byId;

/** The condition a listing of sources filtered by name adds, for its pages and its count alike. */
const nameCondition = (filter: { name?: string | null }) => (typeof filter.name === 'string' ? sql`and s."name" = ${filter.name}` : sql``);

/** Newest first; one row more than the page so the caller knows whether another page follows. */
export async function listSources(em: EntityManager, organizationId: number, page: Page<number>, filter: { name?: string | null }): Promise<FeedbackSourceView[]> {
  const rows = await query(
    em,
    sql<SourceRow>`select ${sourceColumns} from "feedback_source" s
      where s."organization_id" = ${organizationId}
        ${nameCondition(filter)}
        ${page.after === null ? sql`` : sql`and s."id" < ${page.after}`}
      order by s."id" desc limit ${page.limit + 1}`,
  );
  return rows.map((row) => toSourceView(em, row));
}

/** How many sources the listing holds, for totalCount. */
export async function countSources(em: EntityManager, organizationId: number, filter: { name?: string | null }): Promise<number> {
  const [row] = await query(
    em,
    sql<{ count: string }>`select count(*) as "count" from "feedback_source" s
      where s."organization_id" = ${organizationId} ${nameCondition(filter)}`,
  );
  return Number(row?.count ?? 0);
}

/**
 * Loader batch: record counts per source id, in the order of `ids`. Counted per source of the
 * organization, so each count reads only the source's own index entries.
 */
export async function countRecordsBySources(em: EntityManager, organizationId: number, ids: readonly number[]): Promise<number[]> {
  const rows = await query(
    em,
    sql<{ id: string; count: string }>`select s."id", (select count(*) from "feedback_record" r where r."source_id" = s."id") as "count"
      from "feedback_source" s where s."organization_id" = ${organizationId} and s."id" = any(${[...ids]}::bigint[])`,
  );
  const counts = new Map(rows.map((row) => [Number(row.id), Number(row.count)]));
  return ids.map((id) => counts.get(id) ?? 0);
}

/**
 * Whether the source holds a record. Asked in the order of the source's index, so the plan reads that
 * index and stops at its first entry; a bare EXISTS lets the planner bet on a sequential scan meeting
 * one soon, which reads the whole table when the source is empty.
 */
export async function existsRecordInSource(em: EntityManager, organizationId: number, sourceId: number): Promise<boolean> {
  const rows = await query(
    em,
    sql`select 1 from "feedback_record" where "source_id" = ${sourceId} and "organization_id" = ${organizationId} order by "display_ts", "id" limit 1`,
  );
  return rows.length > 0;
}

/** The source of the row aliased `s` as the REST API shows it, with the record count given. */
const restSource = (recordCount: RawBuilder<unknown>) =>
  sql`jsonb_build_object('id', s."id", 'name', s."name", 'type', s."type", 'description', s."description", 'record_count', ${recordCount},
    'created_at', ${restInstant(sql`s."created_at"`)}, 'updated_at', ${restInstant(sql`s."updated_at"`)})`;

/** The outbox rows of a source event, written by the statement of the change: the source the CTE `written` wrote. */
const sourceOutbox = (organizationId: number, type: 'feedback_source.created' | 'feedback_source.deleted', written: string) =>
  sql`${outboxInsert(organizationId, { type, about: sql`${sql.table(written)} s`, data: restSource(sql`0`) })} returning 1`;

/**
 * Inserts a source and queues its feedback_source.created in one statement; null when the
 * organization already has a source of that name (the unique index decides, so two concurrent
 * creations with one name leave exactly one row).
 */
export async function insertSource(
  em: EntityManager,
  organizationId: number,
  source: { name: string; type: string; description: string | null },
): Promise<FeedbackSourceView | null> {
  const [row] = await query(
    em,
    sql<SourceRow & { queued: boolean }>`with "inserted" as (
        insert into "feedback_source" ("organization_id", "name", "type", "description", "created_at", "updated_at")
        values (${organizationId}, ${source.name}, ${source.type}, ${source.description}, now(), now())
        on conflict ("organization_id", "name") do nothing
        returning *
      ), "outbox" as (
        ${sourceOutbox(organizationId, 'feedback_source.created', 'inserted')}
      )
      select ${sourceColumns}, exists (select 1 from "outbox") as "queued" from "inserted" s`,
  );
  if (row?.queued) noteQueuedMessages();
  return row ? toSourceView(em, row) : null;
}

/**
 * Deletes a source and queues its feedback_source.deleted (the source as it was, emptied) in one
 * statement; false when the organization has no such source.
 */
export async function deleteSourceRow(em: EntityManager, organizationId: number, id: number): Promise<boolean> {
  const [row] = await query(
    em,
    sql<{ deleted: boolean; queued: boolean }>`with "deleted" as (
        delete from "feedback_source" where "id" = ${id} and "organization_id" = ${organizationId} returning *
      ), "outbox" as (
        ${sourceOutbox(organizationId, 'feedback_source.deleted', 'deleted')}
      )
      select exists (select 1 from "deleted") as "deleted", exists (select 1 from "outbox") as "queued"`,
  );
  if (row?.queued) noteQueuedMessages();
  return row?.deleted ?? false;
}

/**
 * Queues feedback_source.updated in the update's transaction, after the unit of work wrote only the
 * columns that changed: the source as the REST API shows it, read from its row, only when an endpoint
 * wants the event.
 */
export async function queueSourceUpdated(em: EntityManager, organizationId: number, sourceId: number): Promise<void> {
  const data = sql`(select ${restSource(sql`(select count(*) from "feedback_record" r where r."source_id" = s."id")`)}
    from "feedback_source" s where s."id" = ${sourceId} and s."organization_id" = ${organizationId})`;
  const queued = await query(em, sql`${outboxInsert(organizationId, { type: 'feedback_source.updated', data })} returning 1`);
  if (queued.length > 0) noteQueuedMessages();
}
