import type { EntityManager } from '@mikro-orm/postgresql';
import { query, sql } from '../database/sql.ts';
import { NotFoundError } from '../errors/api-error.ts';
import type { Page } from '../graphql/pagination.ts';
import { findSourceOrFail } from '../sources/source.queries.ts';
import { FeedbackRecord } from './record.entity.ts';
import type { RecordField } from './record-fields.ts';

export function recordNotFound(id: number, param = 'id'): NotFoundError {
  return new NotFoundError('RECORD_NOT_FOUND', { param, message: `No feedback record with id ${id}.` });
}

/**
 * With `sourceId`, a record of another source is as missing as one that never existed, and a
 * missing source is named as such.
 */
export async function findRecordOrFail(em: EntityManager, organizationId: number, id: number, sourceId: number | null): Promise<FeedbackRecord> {
  const record = await em.findOne(FeedbackRecord, { id, organization: organizationId, ...(sourceId === null ? {} : { source: sourceId }) });
  if (record) return record;
  if (sourceId !== null) await findSourceOrFail(em, organizationId, sourceId, 'sourceId');
  throw recordNotFound(id);
}

/** Whether the source exists and which of the people do, in the organization: one statement before a batch. */
export async function findIngestTargets(em: EntityManager, organizationId: number, sourceId: number, personIds: number[]): Promise<{ sourceExists: boolean; people: Set<number> }> {
  const [row] = await query(
    em,
    sql<{ source_exists: boolean; people: string[] }>`select
      exists (select 1 from "feedback_source" where "id" = ${sourceId} and "organization_id" = ${organizationId}) as "source_exists",
      array(select "id" from "person" where "organization_id" = ${organizationId} and "id" = any(${personIds}::bigint[])) as "people"`,
  );
  return { sourceExists: row?.source_exists ?? false, people: new Set((row?.people ?? []).map(Number)) };
}

/** A checked record, ready to be inserted. */
export interface RecordDraft {
  personId: number | null;
  displayTs: Date;
  externalId: string | null;
  fields: RecordField[];
}

export interface InsertOutcome {
  /** The stored record, or null when its external_id already existed in the source. */
  record: FeedbackRecord | null;
  /** For a skipped row: the id of the record that holds its external_id, when this statement could see it. */
  existingId: number | null;
}

/**
 * One statement for the whole batch, whose result keeps the input order: ids are drawn per input row
 * (WITH ORDINALITY), a row whose external_id already exists in the source is skipped (ON CONFLICT DO
 * NOTHING) and answered with the id of the record that has it.
 */
export async function insertRecords(em: EntityManager, organizationId: number, sourceId: number, drafts: RecordDraft[]): Promise<InsertOutcome[]> {
  if (drafts.length === 0) return [];
  const column = <T>(pick: (draft: RecordDraft) => T) => drafts.map(pick);
  const rows = await query(
    em,
    sql<{ ord: string; id: string; created_at: Date | null; existing_id: string | null }>`
      with "input" as (
        select nextval(pg_get_serial_sequence('feedback_record', 'id')) as "id", u.*
        from unnest(${column((draft) => draft.personId)}::bigint[], ${column((draft) => draft.externalId)}::text[],
          ${column((draft) => draft.displayTs.toISOString())}::timestamptz[], ${column((draft) => JSON.stringify(draft.fields))}::jsonb[])
          with ordinality as u("person_id", "external_id", "display_ts", "fields", "ord")
      ), "inserted" as (
        insert into "feedback_record" ("id", "organization_id", "source_id", "person_id", "external_id", "display_ts", "fields", "created_at")
        select "id", ${organizationId}, ${sourceId}, "person_id", "external_id", "display_ts", "fields", now() from "input" order by "ord"
        on conflict ("organization_id", "source_id", "external_id") do nothing
        returning "id", "created_at"
      )
      select i."ord", i."id", n."created_at", e."id" as "existing_id"
      from "input" i
      left join "inserted" n on n."id" = i."id"
      left join "feedback_record" e on n."id" is null and e."organization_id" = ${organizationId} and e."source_id" = ${sourceId} and e."external_id" = i."external_id"
      order by i."ord"`,
  );
  const factory = em.getEntityFactory();
  return rows.map((row, index) => {
    const draft = drafts[index] as RecordDraft;
    if (row.created_at === null) return { record: null, existingId: row.existing_id === null ? null : Number(row.existing_id) };
    // Built from what was written rather than hydrated from the rows: the caller only reads it.
    const record = factory.create(
      FeedbackRecord,
      { id: Number(row.id), organization: organizationId, source: sourceId, person: draft.personId, externalId: draft.externalId, displayTs: draft.displayTs, fields: draft.fields, createdAt: new Date(row.created_at) },
      { merge: false, newEntity: false, initialized: true },
    );
    return { record, existingId: null };
  });
}

export async function findRecordIdsByExternalIds(em: EntityManager, organizationId: number, sourceId: number, externalIds: string[]): Promise<Map<string, number>> {
  if (externalIds.length === 0) return new Map();
  const rows = await query(
    em,
    sql<{ id: string; external_id: string }>`select "id", "external_id" from "feedback_record"
      where "organization_id" = ${organizationId} and "source_id" = ${sourceId} and "external_id" = any(${externalIds}::text[])`,
  );
  return new Map(rows.map((row) => [row.external_id, Number(row.id)]));
}

export interface RecordFilter {
  sourceId?: number | null;
  personId?: number | null;
  since?: Date | null;
  until?: Date | null;
}

/** Newest first by display_ts, then id; `since` is inclusive, `until` exclusive. */
export async function listRecords(em: EntityManager, organizationId: number, page: Page, filter: RecordFilter): Promise<FeedbackRecord[]> {
  const after = page.after ? { ts: new Date(String(page.after[0])), id: Number(page.after[1]) } : null;
  return await em.find(
    FeedbackRecord,
    {
      organization: organizationId,
      ...(filter.sourceId ? { source: filter.sourceId } : {}),
      ...(filter.personId ? { person: filter.personId } : {}),
      ...(filter.since || filter.until ? { displayTs: { ...(filter.since ? { $gte: filter.since } : {}), ...(filter.until ? { $lt: filter.until } : {}) } } : {}),
      ...(after ? { $or: [{ displayTs: { $lt: after.ts } }, { displayTs: after.ts, id: { $lt: after.id } }] } : {}),
    },
    { orderBy: [{ displayTs: 'desc' }, { id: 'desc' }], limit: page.limit + 1 },
  );
}
