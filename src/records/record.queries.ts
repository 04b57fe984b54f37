import type { EntityManager } from '@mikro-orm/postgresql';
import { query, sql } from '../database/sql.ts';
import { NotFoundError } from '../errors/api-error.ts';
import type { Page } from '../graphql/pagination.ts';
import { findSourceOrFail } from '../sources/source.queries.ts';
import { FeedbackRecord } from './record.entity.ts';
import type { RecordDraft } from './record.rules.ts';

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

export async function findExistingPeopleIds(em: EntityManager, organizationId: number, ids: number[]): Promise<Set<number>> {
  if (ids.length === 0) return new Set();
  const rows = await query(em, sql<{ id: string }>`select "id" from "person" where "organization_id" = ${organizationId} and "id" = any(${ids}::bigint[])`);
  return new Set(rows.map((row) => Number(row.id)));
}

/** Ids are taken before the INSERT so each inserted row is matched to its input without relying on RETURNING order. */
export async function allocateRecordIds(em: EntityManager, count: number): Promise<number[]> {
  if (count === 0) return [];
  const rows = await query(em, sql<{ id: string }>`select nextval(pg_get_serial_sequence('feedback_record', 'id')) as "id" from generate_series(1, ${count}::int)`);
  return rows.map((row) => Number(row.id));
}

/**
 * One statement for the whole batch. A row whose external_id already exists in the source is
 * skipped (ON CONFLICT DO NOTHING) and simply missing from the result.
 */
export async function insertRecords(em: EntityManager, organizationId: number, sourceId: number, rows: (RecordDraft & { id: number })[]): Promise<FeedbackRecord[]> {
  if (rows.length === 0) return [];
  const column = <T>(pick: (row: RecordDraft & { id: number }) => T) => rows.map(pick);
  const inserted = await query(
    em,
    sql<Record<string, unknown>>`insert into "feedback_record" ("id", "organization_id", "source_id", "person_id", "external_id", "display_ts", "fields", "created_at")
      select u."id", ${organizationId}, ${sourceId}, u."person_id", u."external_id", u."display_ts", u."fields", now()
      from unnest(${column((row) => row.id)}::bigint[], ${column((row) => row.personId)}::bigint[], ${column((row) => row.externalId)}::text[],
        ${column((row) => row.displayTs.toISOString())}::timestamptz[], ${column((row) => JSON.stringify(row.fields))}::jsonb[])
        as u("id", "person_id", "external_id", "display_ts", "fields")
      on conflict ("organization_id", "source_id", "external_id") do nothing
      returning *`,
  );
  return inserted.map((row) => em.map(FeedbackRecord, row));
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
