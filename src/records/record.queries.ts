import type { EntityManager } from '@mikro-orm/postgresql';
import type { Keyset, Page } from '../database/keyset.ts';
import { query, readTimestamp, sql } from '../database/sql.ts';
import { NotFoundError } from '../errors/api-error.ts';
import { type FeedbackSourceView, findSourceOrFail, type SourceRow, sourceColumns, toSourceView } from '../sources/source.queries.ts';
import type { RecordField } from './record-fields.ts';

export function recordNotFound(id: number, param = 'id'): NotFoundError {
  return new NotFoundError('RECORD_NOT_FOUND', { param, message: `No feedback record with id ${id}.` });
}

/** What GraphQL's FeedbackRecord resolves from: a plain copy of the row, never a managed entity. */
export class FeedbackRecordView {
  readonly id: number;
  readonly sourceId: number;
  readonly personId: number | null;
  readonly externalId: string | null;
  readonly displayTs: Date;
  readonly fields: RecordField[];
  readonly createdAt: Date;
  /** The record's source when it was read in the same statement; undefined when it was not. */
  readonly source: FeedbackSourceView | undefined;
  constructor(record: Omit<FeedbackRecordView, 'source'>, source?: FeedbackSourceView) {
    this.id = record.id;
    this.sourceId = record.sourceId;
    this.personId = record.personId;
    this.externalId = record.externalId;
    this.displayTs = record.displayTs;
    this.fields = record.fields;
    this.createdAt = record.createdAt;
    this.source = source;
  }
}

interface RecordRow extends SourceRow {
  id: string;
  person_id: string | null;
  external_id: string | null;
  display_ts: string;
  fields: RecordField[];
  created_at: string;
}

/** A record (`r`) with its source (`s`), joined by primary key in the record's organization. */
const recordWithSource = sql`select r."id", r."person_id", r."external_id", r."display_ts", r."fields", r."created_at", ${sourceColumns}
  from "feedback_record" r join "feedback_source" s on s."id" = r."source_id" and s."organization_id" = r."organization_id"`;

/** Rows of one statement share one view of each source, as a loader would. */
function toRecordViews(em: EntityManager, rows: RecordRow[]): FeedbackRecordView[] {
  const sources = new Map<string, FeedbackSourceView>();
  return rows.map((row) => {
    const source = sources.get(row.source_id) ?? toSourceView(em, row);
    sources.set(row.source_id, source);
    return new FeedbackRecordView(
      {
        id: Number(row.id),
        sourceId: source.id,
        personId: row.person_id === null ? null : Number(row.person_id),
        externalId: row.external_id,
        displayTs: readTimestamp(em, row.display_ts),
        fields: row.fields,
        createdAt: readTimestamp(em, row.created_at),
      },
      source,
    );
  });
}

/**
 * With `sourceId`, a record of another source is as missing as one that never existed, and a
 * missing source is named as such.
 */
export async function findRecordOrFail(em: EntityManager, organizationId: number, id: number, sourceId: number | null): Promise<FeedbackRecordView> {
  const rows = await query(
    em,
    sql<RecordRow>`${recordWithSource} where r."id" = ${id} and r."organization_id" = ${organizationId} ${sourceId === null ? sql`` : sql`and r."source_id" = ${sourceId}`}`,
  );
  const [record] = toRecordViews(em, rows);
  if (record) return record;
  if (sourceId !== null) await findSourceOrFail(em, organizationId, sourceId, 'sourceId');
  throw recordNotFound(id);
}

export interface RecordFilter {
  sourceId?: number | null;
  personId?: number | null;
  since?: Date | null;
  until?: Date | null;
}

/** Where a page starts: after the record with this displayTs and id. */
export interface RecordPosition {
  displayTs: Date;
  id: number;
}

/** Records are listed newest displayTs first, then by id; a cursor holds the displayTs as this API writes it. */
export const recordKeyset: Keyset<FeedbackRecordView, RecordPosition> = {
  keyOf: (record) => [record.displayTs.toISOString(), record.id],
  positionOf: (key) => {
    const [displayTs, id] = key;
    const date = typeof displayTs === 'string' ? new Date(displayTs) : null;
    const valid = key.length === 2 && date !== null && !Number.isNaN(date.getTime()) && date.toISOString() === displayTs && typeof id === 'number';
    return valid ? { displayTs: date, id } : null;
  },
};

/**
 * Newest first by display_ts, then id; `since` is inclusive, `until` exclusive. Each filter leads an
 * index (source, person or organization, then display_ts and id), so a page reads only its own rows.
 */
export async function listRecords(em: EntityManager, organizationId: number, page: Page<RecordPosition>, filter: RecordFilter): Promise<FeedbackRecordView[]> {
  const conditions = [
    sql`r."organization_id" = ${organizationId}`,
    filter.sourceId ? sql`r."source_id" = ${filter.sourceId}` : null,
    filter.personId ? sql`r."person_id" = ${filter.personId}` : null,
    filter.since ? sql`r."display_ts" >= ${filter.since.toISOString()}::timestamptz` : null,
    filter.until ? sql`r."display_ts" < ${filter.until.toISOString()}::timestamptz` : null,
    page.after ? sql`(r."display_ts", r."id") < (${page.after.displayTs.toISOString()}::timestamptz, ${page.after.id}::bigint)` : null,
  ].filter((condition) => condition !== null);
  const rows = await query(
    em,
    sql<RecordRow>`${recordWithSource} where ${sql.join(conditions, sql` and `)} order by r."display_ts" desc, r."id" desc limit ${page.limit + 1}`,
  );
  return toRecordViews(em, rows);
}

/** A checked record, ready to be inserted. */
export interface RecordDraft {
  personId: number | null;
  displayTs: Date;
  externalId: string | null;
  fields: RecordField[];
}

export interface InsertedDraft {
  /** The stored record; null when the person is unknown or the external_id is already held. */
  record: FeedbackRecordView | null;
  personKnown: boolean;
  /** For a draft skipped as a duplicate: the id of the record holding its external_id, when this statement could see it. */
  existingId: number | null;
}

/**
 * Ingests a batch in one statement, without a transaction of its own: it checks that the source and
 * the people belong to the organization, inserts the drafts whose person is known (or absent), skips
 * those whose external_id the source already holds (ON CONFLICT on the unique index, which also
 * settles concurrent batches and repeats within this one: the first in input order wins), and answers
 * per draft in input order (ids are drawn per input row, WITH ORDINALITY keeps the order). The holder
 * of a skipped external_id is looked up by equality on the unique index's columns.
 */
export async function insertRecords(
  em: EntityManager,
  organizationId: number,
  sourceId: number,
  drafts: readonly RecordDraft[],
): Promise<{ sourceExists: boolean; drafts: InsertedDraft[] }> {
  const column = <T>(pick: (draft: RecordDraft) => T) => drafts.map(pick);
  const personIds = [...new Set(drafts.flatMap((draft) => (draft.personId === null ? [] : [draft.personId])))];
  const rows = await query(
    em,
    sql<{ source_exists: boolean; id: string; person_known: boolean; created_at: string | null; existing_id: string | null }>`
      with "source" as (
        select "id" from "feedback_source" where "id" = ${sourceId} and "organization_id" = ${organizationId}
      ), "person" as (
        select "id" from "person" where "organization_id" = ${organizationId} and "id" = any(${personIds}::bigint[])
      ), "input" as (
        select nextval(pg_get_serial_sequence('feedback_record', 'id')) as "id", u.*,
          u."person_id" is null or u."person_id" in (select "id" from "person") as "person_known"
        from unnest(${column((draft) => draft.personId)}::bigint[], ${column((draft) => draft.externalId)}::text[],
          ${column((draft) => draft.displayTs.toISOString())}::timestamptz[], ${column((draft) => JSON.stringify(draft.fields))}::jsonb[])
          with ordinality as u("person_id", "external_id", "display_ts", "fields", "ord")
      ), "inserted" as (
        insert into "feedback_record" ("id", "organization_id", "source_id", "person_id", "external_id", "display_ts", "fields", "created_at")
        select i."id", ${organizationId}, s."id", i."person_id", i."external_id", i."display_ts", i."fields", now()
        from "input" i cross join "source" s where i."person_known" order by i."ord"
        on conflict ("organization_id", "source_id", "external_id") do nothing
        returning "id", "created_at"
      )
      select exists (select 1 from "source") as "source_exists", i."id", i."person_known", n."created_at",
        (select e."id" from "feedback_record" e
          where n."id" is null and e."organization_id" = ${organizationId} and e."source_id" = ${sourceId} and e."external_id" = i."external_id") as "existing_id"
      from "input" i left join "inserted" n on n."id" = i."id"
      order by i."ord"`,
  );
  const sourceExists = rows[0]?.source_exists ?? false;
  return {
    sourceExists,
    drafts: rows.map((row, index) => {
      const draft = drafts[index] as RecordDraft;
      const existingId = row.existing_id === null ? null : Number(row.existing_id);
      if (row.created_at === null) return { record: null, personKnown: row.person_known, existingId };
      const record = new FeedbackRecordView({
        id: Number(row.id),
        sourceId,
        personId: draft.personId,
        externalId: draft.externalId,
        displayTs: draft.displayTs,
        fields: draft.fields,
        createdAt: readTimestamp(em, row.created_at),
      });
      return { record, personKnown: true, existingId: null };
    }),
  };
}

/** For duplicates a concurrent request stored after `insertRecords` took its snapshot. */
export async function findRecordIdsByExternalIds(em: EntityManager, organizationId: number, sourceId: number, externalIds: string[]): Promise<Map<string, number>> {
  if (externalIds.length === 0) return new Map();
  const rows = await query(
    em,
    sql<{ id: string; external_id: string }>`select "id", "external_id" from "feedback_record"
      where "organization_id" = ${organizationId} and "source_id" = ${sourceId} and "external_id" = any(${externalIds}::text[])`,
  );
  return new Map(rows.map((row) => [row.external_id, Number(row.id)]));
}

/**
 * One statement: deletes the record and answers the source it belonged to, or, when nothing was
 * deleted under `sourceId`, whether that source exists, so the caller can name what is missing.
 */
export async function deleteRecordById(em: EntityManager, organizationId: number, id: number, sourceId: number | null): Promise<{ deletedFrom: number | null; sourceExists: boolean }> {
  const [row] = await query(
    em,
    sql<{ deleted_from: string | null; source_exists: boolean }>`with "deleted" as (
        delete from "feedback_record" where "id" = ${id} and "organization_id" = ${organizationId} ${sourceId === null ? sql`` : sql`and "source_id" = ${sourceId}`}
        returning "source_id"
      )
      select (select "source_id" from "deleted") as "deleted_from",
        ${sourceId === null ? sql`true` : sql`exists (select 1 from "feedback_source" where "id" = ${sourceId} and "organization_id" = ${organizationId})`} as "source_exists"`,
  );
  const deletedFrom = row?.deleted_from ?? null;
  return { deletedFrom: deletedFrom === null ? null : Number(deletedFrom), sourceExists: row?.source_exists ?? false };
}
